/**
 * Damaged stores (docs/flatfile.md, "Recovery"): every open of a damaged copy of a real
 * multi-branch store gives a state that existed or a coded refusal (the long run:
 * store-corruption.soak.test.ts); damage in the middle of a log is refused untouched and a repair
 * keeps every byte it cuts in the quarantine; a branch folder a crash left half made is rolled
 * back; a cut journal is reported with a valid CEI fact; branch.meta is checksummed.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openFlatfileStore, verifyFlatfileStore } from '../../src/persistence/flatfile/index.js';
import { encodeMeta, parseMeta } from '../../src/persistence/flatfile/branch.js';
import { storeCommand } from '../../src/cli/store.js';
import { open, removeTempDirs, tempDir, topics } from './cps-helpers.js';
import type { PersistentRuntime } from '../../src/runtime/persistent.js';
import { STORE, placeStore, quarantineMatches, stateBeat, stateOf, trials, writeStore, type Written } from './corruption-helpers.js';
import { Source, commitBeat } from './helpers.js';

let written: Written;
beforeAll(async () => {
  written = await writeStore(tempDir('written'), 60);
});
afterAll(() => removeTempDirs());

/** The middle record of a branch's frames.log: its offset (a record header starts there). */
function middleRecord(dir: string, branch: string): number {
  const log = fs.readFileSync(path.join(dir, 'branches', branch, 'frames.log'));
  const starts: number[] = [];
  for (let p = 0; p + 96 <= log.length; p += 96 + log.readUInt32LE(p + 8)) starts.push(p);
  return starts[Math.floor(starts.length / 2)];
}

/** The offset of the record of `beat` in a branch's frames.log or checkpoints.log. */
function recordOf(dir: string, branch: string, beat: number, file = 'frames.log'): number {
  const log = fs.readFileSync(path.join(dir, 'branches', branch, file));
  for (let p = 0; p + 96 <= log.length; p += 96 + log.readUInt32LE(p + 8)) if (Number(log.readBigUInt64LE(p + 16)) === beat) return p;
  throw new Error(`no record of beat ${beat} in ${branch}/${file}`);
}

/** Every file of a store, relative path -> bytes (to see that a refusal changed nothing). */
function filesOf(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const e of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (e.isFile() && e.name !== 'LOCK') out.set(path.relative(dir, path.join(e.parentPath, e.name)), fs.readFileSync(path.join(e.parentPath, e.name)).toString('base64'));
  }
  return out;
}

/** Runs `cep store <args>`: exit code, stdout, stderr. */
async function cep(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await storeCommand(
    args,
    (s) => (out += `${s}\n`),
    (s) => (err += `${s}\n`),
  );
  return { code, out, err };
}

/** The CEI facts in the diagnostics mailbox: topic, note, and the path of the subject (a link to it) or ''. */
function mirror(rt: PersistentRuntime): Array<{ topic: string; note: string; subject: string }> {
  return rt.mailboxes
    .messages('/data/mailbox/diag')
    .map((m) => ({ topic: m.child('topic')?.text ?? '', note: m.child('note')?.text ?? '', subject: m.child('subject')?.target?.path ?? m.child('subject_path')?.text ?? '' }));
}

describe('damaged stores', () => {
  it('100 damaged copies (bit flips, overwrites, truncations of every file kind): each opens at a state that existed, or is refused with ERR_STORE_CORRUPT', async () => {
    const { failures, counts } = await trials(tempDir('trial'), written, 100, 1);
    expect(failures).toEqual([]);
    expect(counts.opened).toBeGreaterThan(0);
    expect(counts.repaired).toBeGreaterThan(0);
  }, 60_000);

  it('4 bytes overwritten mid-log: the open is refused and changes nothing; a repair cuts every branch at one beat, keeps the rest in quarantine and says so', async () => {
    const dir = tempDir('mid');
    placeStore(dir, written.files);
    const log = path.join(dir, 'branches/b/frames.log');
    const bytes = fs.readFileSync(log);
    const mid = middleRecord(dir, 'b');
    const at = mid + 96 + 20;
    bytes.writeUInt32LE(0xdeadbeef, at);
    fs.writeFileSync(log, bytes);
    let refusal: (Error & { code?: string; report?: { damage: Array<{ file: string }>; cut: unknown[]; beat: number } }) | undefined;
    try {
      open(dir, STORE);
    } catch (e) {
      refusal = e as typeof refusal;
    }
    expect(refusal?.code).toBe('ERR_STORE_CORRUPT');
    expect(refusal!.report!.damage.map((d) => d.file)).toEqual(['branches/b/frames.log']);
    expect(refusal!.report!.beat).toBeLessThan(written.durable);
    expect(fs.readFileSync(log).equals(bytes)).toBe(true);
    // cep store verify says the same and changes nothing
    expect(verifyFlatfileStore(dir).damage!.length).toBe(1);
    expect(fs.readFileSync(log).equals(bytes)).toBe(true);

    const rt = open(dir, { ...STORE, repair: true });
    const rec = rt.recovery;
    expect(rec.quarantine).toBe(path.join(dir, 'quarantine', '1'));
    expect(quarantineMatches(dir, rec.quarantine!, { file: 'branches/b/frames.log', how: 'overwrite', at, bytes }, written.files)).toBe('');
    // the damaged record and everything after it is in the quarantine, byte for byte
    const q = JSON.parse(fs.readFileSync(path.join(rec.quarantine!, 'manifest.json'), 'utf8')) as { pieces: Array<{ file: string; from: number; to: number; copy: string }> };
    const piece = q.pieces.find((p) => p.file === 'branches/b/frames.log')!;
    expect(piece.from).toBe(mid);
    expect(piece.to).toBe(bytes.length);
    expect(fs.readFileSync(path.join(rec.quarantine!, piece.copy)).equals(bytes.subarray(piece.from))).toBe(true);
    expect(stateBeat(rt, written)).toEqual({ beat: rec.beat, why: '' });
    // every branch's cut starts at or after the same beat; the CEI facts say what was cut, with valid subjects
    const cutFrom = Math.min(...rec.cut.filter((c) => c.fromBeat >= 0).map((c) => c.fromBeat));
    expect(cutFrom).toBe(rec.beat + 1);
    rt.step();
    const facts = mirror(rt).filter((f) => f.topic === 'persist.recover' && f.note.includes('quarantine'));
    expect(facts.length).toBe(rec.cut.length);
    expect(facts.some((f) => f.note.includes('branches/b/frames.log') && f.subject === '/data/b')).toBe(true);
    await rt.close();
    // the repaired store opens plainly, at the same state (the beat run above wrote no branch)
    const again = open(dir, STORE);
    expect(again.recovery.cut).toEqual([]);
    expect(stateOf(again)).toEqual(written.states.get(rec.beat));
    await again.close();
  }, 30_000);

  it('a journal cut at open is a persist.recover warning with a valid (store-wide: no) subject, on the first open', async () => {
    const dir = tempDir('journal');
    placeStore(dir, written.files);
    const journal = path.join(dir, 'journal.log');
    const size = fs.statSync(journal).size;
    expect(size).toBeGreaterThan(10);
    fs.truncateSync(journal, size - 7); // a torn tail: a crash artefact, cut silently
    const rt = open(dir, STORE);
    expect(rt.recovery.cut.map((c) => [c.branch, c.file])).toContainEqual(['', 'journal.log']);
    expect(stateBeat(rt, written).why).toBe('');
    rt.step();
    const facts = mirror(rt).filter((f) => f.topic === 'persist.recover' && f.note.startsWith('journal.log: cut'));
    expect(facts.length).toBe(1);
    expect(facts[0].subject).toBe('');
    expect(topics(rt)).toContain('persist.recover');
    await rt.close();
  });

  describe('a branch folder a crash left half made', () => {
    // the steps of creating a branch (store.ts #branchForWrite): folder, branch.meta.tmp written, renamed
    const states: Array<[string, (dir: string) => void]> = [
      ['an empty folder', () => undefined],
      ['a half-written temporary meta', (d) => fs.writeFileSync(path.join(d, 'branch.meta.tmp'), '{"format":2,"bra')],
      ['a whole temporary meta', (d) => fs.writeFileSync(path.join(d, 'branch.meta.tmp'), encodeMeta({ format: 2, branch: 'new', baseBeat: -1, baseRoot: '0'.repeat(64), sealedBeat: -1 }))],
      ['empty logs beside no meta', (d) => ['frames.log', 'frames.idx', 'checkpoints.log'].forEach((f) => fs.writeFileSync(path.join(d, f), ''))],
    ];
    for (const [what, make] of states) {
      it(`${what}: the store opens, the folder is rolled back, and the branch can be created again`, async () => {
        const dir = tempDir('half');
        const src = new Source(['a', 'new']);
        const s = openFlatfileStore(dir);
        await commitBeat(s, src, ['a']);
        await s.close();
        const folder = path.join(dir, 'branches', 'new');
        fs.mkdirSync(folder);
        make(folder);
        const t = openFlatfileStore(dir);
        expect(t.recovery.cut).toEqual([{ branch: 'new', bytes: 0, fromBeat: -1, reason: 'unfinished', file: 'branches/new' }]);
        expect(fs.existsSync(folder)).toBe(false);
        expect(t.branches()).toEqual(['a']);
        src.advance();
        await commitBeat(t, src, ['a', 'new']);
        await t.close();
        const u = openFlatfileStore(dir);
        expect(u.recovery.cut).toEqual([]);
        expect(u.branches()).toEqual(['a', 'new']);
        await u.close();
      });
    }

    it('a folder with frames but no meta is damage: refused', async () => {
      const dir = tempDir('nometa');
      const src = new Source(['a']);
      const s = openFlatfileStore(dir);
      await commitBeat(s, src, ['a']);
      await s.close();
      fs.rmSync(path.join(dir, 'branches/a/branch.meta'));
      expect(() => openFlatfileStore(dir)).toThrow(expect.objectContaining({ code: 'ERR_STORE_CORRUPT' }));
      expect(() => openFlatfileStore(dir, { repair: true })).toThrow(expect.objectContaining({ code: 'ERR_STORE_CORRUPT' }));
      expect(fs.statSync(path.join(dir, 'branches/a/frames.log')).size).toBeGreaterThan(0);
    });
  });

  describe('branch.meta checksum', () => {
    it('every single bit flipped in a branch.meta is refused (never a moved beat)', () => {
      const dir = tempDir('meta');
      placeStore(dir, written.files);
      const file = path.join(dir, 'branches/a/branch.meta');
      const text = fs.readFileSync(file);
      expect(JSON.parse(text.toString()).format).toBe(2);
      let flips = 0;
      for (let i = 0; i < text.length; i++) {
        for (let bit = 0; bit < 8; bit++) {
          const b = Buffer.from(text);
          b[i] ^= 1 << bit;
          expect(() => parseMeta(b.toString('utf8'), 'branch.meta'), `byte ${i} bit ${bit}`).toThrow(expect.objectContaining({ code: 'ERR_STORE_CORRUPT' }));
          flips++;
        }
      }
      expect(flips).toBe(text.length * 8);
      // and through a real open, one flip in sealedBeat
      const b = Buffer.from(text);
      const at = b.indexOf('"sealedBeat":') + '"sealedBeat":'.length;
      b[at] ^= 0x01;
      fs.writeFileSync(file, b);
      expect(() => openFlatfileStore(dir)).toThrow(expect.objectContaining({ code: 'ERR_STORE_CORRUPT' }));
    });

    it('a format-1 meta (no checksum) is accepted and rewritten as format 2 on the next meta write; format 1 with a crc, or 2 without, is not', async () => {
      const dir = tempDir('meta1');
      const src = new Source(['a', 'b']);
      const s = openFlatfileStore(dir);
      await commitBeat(s, src, ['a', 'b']);
      await s.close();
      const file = path.join(dir, 'branches/a/branch.meta');
      const m = parseMeta(fs.readFileSync(file, 'utf8'), 'a');
      const v1 = JSON.stringify({ format: 1, branch: m.branch, baseBeat: m.baseBeat, baseRoot: m.baseRoot, sealedBeat: m.sealedBeat });
      expect(() => parseMeta(JSON.stringify({ ...JSON.parse(v1), crc: 1 }), 'x')).toThrow(expect.objectContaining({ code: 'ERR_STORE_CORRUPT' }));
      expect(() => parseMeta(JSON.stringify({ ...JSON.parse(v1), format: 2 }), 'x')).toThrow(expect.objectContaining({ code: 'ERR_STORE_CORRUPT' }));
      fs.writeFileSync(file, v1);
      const t = openFlatfileStore(dir);
      expect(t.head('a')!.beat).toBe(0);
      expect(JSON.parse(fs.readFileSync(file, 'utf8')).format).toBe(1); // reading does not rewrite
      expect(await t.compactJournal()).toBeGreaterThan(0); // seals a and b: a meta write
      await t.close();
      const after = JSON.parse(fs.readFileSync(file, 'utf8')) as { format: number; crc: number; sealedBeat: number };
      expect(after.format).toBe(2);
      expect(after.sealedBeat).toBe(0);
      expect(parseMeta(fs.readFileSync(file, 'utf8'), 'a').sealedBeat).toBe(0);
    });
  });

  it('cep store verify / repair: one line per cut, no stack trace, exit 1 on damage, 0 once repaired', async () => {
    const dir = tempDir('cli');
    placeStore(dir, written.files);
    // beats of branch c after every branch's compaction checkpoint: damage among them is what a repair can cut
    const rt = open(dir, STORE);
    const beats: number[] = [];
    for (let i = 0; i < 4; i++) {
      rt.enqueue('app/put', '/data', { branch: 'c', key: 'cli', value: `x${i}` });
      beats.push(rt.step());
      await rt.flush();
    }
    await rt.close();
    expect((await cep('verify', dir)).code).toBe(0);
    const log = path.join(dir, 'branches/c/frames.log');
    const bytes = fs.readFileSync(log);
    bytes[recordOf(dir, 'c', beats[1]) + 3] ^= 0x40; // the header of a record with records after it: damage, not a torn tail
    fs.writeFileSync(log, bytes);
    const v = await cep('verify', dir);
    expect(v.code).toBe(1);
    expect(v.out).toMatch(/^damage: branches\/c\/frames.log at byte \d+/m);
    expect(v.out).toContain(`damaged: a repair would keep beats up to ${beats[0]} `);
    const r = await cep('repair', dir);
    expect(r.code).toBe(0);
    expect(r.err).toBe('');
    const cuts = r.out.split('\n').filter((l) => l.startsWith('cut: '));
    expect(cuts.length).toBeGreaterThan(0);
    for (const l of cuts) expect(l).toContain(`kept in ${path.join(dir, 'quarantine', '1')}`);
    expect(r.out).toContain(`repaired: quarantine ${path.join(dir, 'quarantine', '1')}; the store is at beat ${beats[0]}`);
    expect((await cep('verify', dir)).code).toBe(0);
    // a store that cannot be repaired: exit 1, the coded reason, no stack
    fs.writeFileSync(path.join(dir, 'STORE'), 'not json');
    const bad = await cep('repair', dir);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/^cep store repair: ERR_STORE_CORRUPT: /);
    expect(bad.err).not.toMatch(/\n\s+at /);
    expect((await cep('check', dir)).code).toBe(2);
  });

  describe('a compacted branch is rebuilt from its checkpoint (store.retain.compact)', () => {
    it("damage before another branch's compaction base: verify says no repair can fix it, repair refuses (exit 1) and changes nothing", async () => {
      const dir = tempDir('below');
      placeStore(dir, written.files);
      const metaOf = (b: string): { baseBeat: number } => JSON.parse(fs.readFileSync(path.join(dir, 'branches', b, 'branch.meta'), 'utf8')) as { baseBeat: number };
      const log = path.join(dir, 'branches/c/frames.log');
      const bytes = fs.readFileSync(log);
      const at = middleRecord(dir, 'c');
      const beat = Number(bytes.readBigUInt64LE(at + 16));
      // c's middle record is of a beat that branch a's compaction dropped: no state of every branch at the beat before it is left
      expect(beat).toBeLessThanOrEqual(metaOf('a').baseBeat);
      bytes[at + 3] ^= 0x40;
      fs.writeFileSync(log, bytes);
      const before = filesOf(dir);
      const v = await cep('verify', dir);
      expect(v.code).toBe(1);
      expect(v.out).toMatch(/^damage: branches\/c\/frames.log at byte \d+/m);
      expect(v.out).toMatch(/^damaged: no repair can fix it: branch "a" was compacted up to beat \d+ and keeps no checkpoint before beat \d+/m);
      let refusal: (Error & { code?: string; report?: { unrepairable?: string } }) | undefined;
      try {
        open(dir, STORE);
      } catch (e) {
        refusal = e as typeof refusal;
      }
      expect(refusal?.code).toBe('ERR_STORE_CORRUPT');
      expect(refusal!.message).toContain('no repair can fix it');
      expect(refusal!.report!.unrepairable).toMatch(/^branch "a" was compacted/);
      const r = await cep('repair', dir);
      expect(r.code).toBe(1);
      expect(r.out).toBe('');
      expect(r.err).toMatch(/^cep store repair: ERR_STORE_CORRUPT: cannot repair: branch "a" was compacted up to beat \d+ and keeps no checkpoint before beat \d+/);
      expect(r.err).not.toMatch(/\n\s+at /);
      expect(() => open(dir, { ...STORE, repair: true })).toThrow(expect.objectContaining({ code: 'ERR_STORE_CORRUPT' }));
      expect(filesOf(dir)).toEqual(before);
    });

    for (const where of ['at 0', 'inside the header', 'inside the frame', 'one byte short'] as const) {
      it(`its only checkpoint cut short (${where}): never a torn tail, the open and a repair refuse, nothing changes`, () => {
        const dir = tempDir('ckp');
        placeStore(dir, written.files);
        const file = path.join(dir, 'branches/b/checkpoints.log');
        const size = fs.statSync(file).size;
        expect(JSON.parse(fs.readFileSync(path.join(dir, 'branches/b/branch.meta'), 'utf8')).baseBeat).toBeGreaterThanOrEqual(0);
        expect(recordOf(dir, 'b', Number(fs.readFileSync(file).readBigUInt64LE(16)), 'checkpoints.log')).toBe(0);
        fs.truncateSync(file, { 'at 0': 0, 'inside the header': 40, 'inside the frame': Math.floor(size / 2), 'one byte short': size - 1 }[where]);
        const before = filesOf(dir);
        let refusal: (Error & { code?: string; report?: { damage: Array<{ file: string }>; unrepairable?: string } }) | undefined;
        try {
          open(dir, STORE);
        } catch (e) {
          refusal = e as typeof refusal;
        }
        expect(refusal?.code).toBe('ERR_STORE_CORRUPT');
        expect(refusal!.report!.damage.map((d) => d.file)).toEqual(['branches/b/checkpoints.log']);
        expect(refusal!.report!.unrepairable).toMatch(/^branch "b" was compacted up to beat \d+ and keeps no checkpoint to rebuild it from$/);
        expect(verifyFlatfileStore(dir).unrepairable).toBe(refusal!.report!.unrepairable);
        expect(() => open(dir, { ...STORE, repair: true })).toThrow(expect.objectContaining({ code: 'ERR_STORE_CORRUPT' }));
        expect(filesOf(dir)).toEqual(before);
      });
    }

    it('a newer checkpoint cut short beside the one the compaction kept is a torn tail: cut silently, the store opens at its durable beat', async () => {
      const dir = tempDir('ckp2');
      placeStore(dir, written.files);
      const rt = open(dir, STORE);
      rt.enqueue('app/put', '/data', { branch: 'c', key: 'ckp', value: 'x' });
      const beat = rt.step();
      await rt.verbs.checkpoint('c'); // a checkpoint without compaction: c keeps the older one too
      const state = stateOf(rt);
      await rt.close();
      const file = path.join(dir, 'branches/c/checkpoints.log');
      const at = recordOf(dir, 'c', beat, 'checkpoints.log');
      expect(at).toBeGreaterThan(0);
      fs.truncateSync(file, at + 100);
      const again = open(dir, STORE);
      expect(again.recovery.cut).toEqual([expect.objectContaining({ branch: 'c', file: 'branches/c/checkpoints.log', reason: 'torn' })]);
      expect(again.recovery.damage).toBeUndefined();
      expect(stateOf(again)).toEqual(state);
      await again.close();
    });
  });
});
