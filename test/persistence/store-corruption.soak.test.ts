/**
 * The long run of the corruption trials (corruption-helpers.ts): 480 damaged copies of one real
 * multi-branch store, 60 per file kind (frames.log, frames.idx, checkpoints.log, journal.log,
 * branch.meta, STORE, the CAS manifest, CAS blobs), each a bit flip, 4 bytes overwritten or a
 * truncation. No open may give a state that never existed.
 */
import { afterAll, expect, it } from 'vitest';
import { removeTempDirs, tempDir } from './cps-helpers.js';
import { trials, writeStore } from './corruption-helpers.js';

afterAll(() => removeTempDirs());

it('480 damaged copies: 0 invented states, every refusal coded, every repair quarantined byte for byte', async () => {
  const written = await writeStore(tempDir('soak-written'), 60);
  const { failures, counts } = await trials(tempDir('soak'), written, 480, 1001);
  console.log(`corruption soak: ${JSON.stringify(counts)}`);
  expect(failures).toEqual([]);
}, 600_000);
