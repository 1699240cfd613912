import { afterAll, describe, expect, it } from 'vitest';
import { bundleChild, crashRounds } from './cps-crash-driver.js';
import { removeTempDirs, tempDir } from './cps-helpers.js';

afterAll(() => removeTempDirs());

// 2 stores x 50 rounds = 100 SIGKILLs per project, 200 in the suite (native + fallback); scripts/soak-persist.js runs longer.
// The stores take turns (one child at a time per project), so the suite's other timed tests keep their CPU on a small machine.
const ROUNDS = 50;

describe('crash safety (SIGKILL at random moments)', () => {
  it('every beat a killed child saw durable is there after reopening, no corrupt frame is accepted, state equals the model', async () => {
    const child = bundleChild(tempDir('child'));
    const seed = Number(process.env.CPS_SEED ?? 0x5eed) + (process.env.CEP_NATIVE === '0' ? 1 : 0);
    const a = await crashRounds(child, tempDir('crash-a'), ROUNDS, seed);
    const b = await crashRounds(child, tempDir('crash-b'), ROUNDS, seed + 2);
    const all = [...a, ...b];
    expect(all).toHaveLength(2 * ROUNDS);
    // the runs made progress and the kills landed both before and after durable reports
    expect(a[a.length - 1].recovered).toBeGreaterThan(ROUNDS);
    expect(all.some((r) => r.reported < 0)).toBe(true);
    expect(all.filter((r) => r.reported >= 0).length).toBeGreaterThan(ROUNDS);
    // at least once the child got further than it reported (a kill between the write and the report)
    expect(all.every((r) => r.recovered >= r.reported)).toBe(true);
  }, 300_000);
});
