/** Maintenance: CAS blobs, compaction, export/import bundles (round trip, tampering), failed commits. */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createReactor } from '../../src/async/reactor.js';
import { availableBackends } from '../../src/async/select.js';
import { blake3, readFrame } from '../../src/index.js';
import type { FlatfileEngine } from '../../src/persistence/flatfile/index.js';
import { commitBeat, hex, open, Source, tempDirs } from './helpers.js';

const { fresh, clean } = tempDirs();
afterEach(clean);

function view(store: FlatfileEngine, branch: string): string[] {
  return [...store.frames(branch)].map((f) => `${f.mode[0]}${f.beat}:${hex(f.root).slice(0, 12)}`);
}

/** A store with `beats` beats of branches a and b, a checkpoint of 'a' at beat `cp`. */
async function filled(beats: number, cp: number): Promise<{ dir: string; store: FlatfileEngine; src: Source }> {
  const dir = fresh();
  const store = open(dir);
  const src = new Source(['a', 'b']);
  for (let b = 0; b < beats; b++) {
    if (b > 0) src.advance();
    await commitBeat(store, src, b % 2 === 0 ? ['a', 'b'] : ['a']);
    if (b === cp) await store.checkpoint('a', src.snapshot('a'));
  }
  return { dir, store, src };
}

describe('flatfile engine: CAS blobs', () => {
  it('stores a blob once under its BLAKE3, reads it back verified, and survives reopen', async () => {
    const dir = fresh();
    const store = open(dir);
    const blob = new Uint8Array(100_000).map((_, i) => (i * 7) & 0xff);
    const key = await store.putBlob(blob);
    expect(key).toBe(hex(blake3(blob)));
    expect(fs.existsSync(path.join(dir, 'cas', key.slice(0, 2), key))).toBe(true);
    expect(await store.putBlob(blob.slice())).toBe(key);
    const s = store.stats();
    expect([s.casBlobs, s.casHits, s.casMisses]).toEqual([1, 1, 1]);
    expect(Buffer.from(store.getBlob(key)!).equals(Buffer.from(blob))).toBe(true);
    expect(store.getBlob('0'.repeat(64))).toBeUndefined();
    expect(() => store.getBlob('xyz')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    await expect(store.putBlob('no' as unknown as Uint8Array)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
    await store.close();
    const again = open(dir);
    expect(again.stats().casBlobs).toBe(1);
    expect(again.getBlob(key)!.length).toBe(blob.length);
    // a blob changed on disk is refused on read
    const file = path.join(dir, 'cas', key.slice(0, 2), key);
    const bytes = fs.readFileSync(file);
    bytes[5] ^= 1;
    fs.writeFileSync(file, bytes);
    expect(() => again.getBlob(key)).toThrow(expect.objectContaining({ code: 'ERR_STORE_CORRUPT' }));
    await again.close();
  });
});

describe('flatfile engine: compaction', () => {
  it('drops what precedes the newest checkpoint; replay from it still reaches every later beat', async () => {
    const { dir, store, src } = await filled(10, 6);
    const asOf9 = [...store.frames('a', { fromCheckpoint: true })].map((f) => `${f.mode[0]}${f.beat}:${hex(f.root)}`);
    const headBefore = hex(store.head('a')!.root);
    const { bytesBefore, bytesAfter } = await store.compact('a');
    expect(bytesAfter).toBeLessThan(bytesBefore);
    expect([...store.frames('a')].map((f) => f.beat)).toEqual([7, 8, 9]);
    expect([...store.frames('a', { fromCheckpoint: true })].map((f) => `${f.mode[0]}${f.beat}:${hex(f.root)}`)).toEqual(asOf9);
    expect(hex(store.head('a')!.root)).toBe(headBefore);
    expect(store.head('a')!.checkpointBeat).toBe(6);
    expect(store.frameAt('a', 3)).toBeUndefined();
    expect(await store.compact('b')).toEqual({ bytesBefore: store.stats('b').bytes, bytesAfter: store.stats('b').bytes }); // no checkpoint: nothing to drop
    // the chain goes on after compaction, and a reopen accepts it (journal records of dropped beats included)
    src.advance();
    await commitBeat(store, src, ['a', 'b']);
    await store.close();
    const again = open(dir);
    expect(again.recovery.cut).toEqual([]);
    expect([...again.frames('a')].map((f) => f.beat)).toEqual([7, 8, 9, 10]);
    expect([...again.frames('b')].map((f) => f.beat)).toEqual([0, 2, 4, 6, 8, 10]);
    expect(again.stats('a').checkpoints).toBe(1);
    await again.close();
    expect(fs.readdirSync(path.join(dir, 'branches')).sort()).toEqual(['a', 'b']);
  });

  it('a swap interrupted between its renames is settled at open', async () => {
    const { dir, store } = await filled(4, 1);
    const before = view(store, 'a');
    await store.close();
    // the old folder moved aside, the new one never arrived: the old one comes back
    fs.renameSync(path.join(dir, 'branches/a'), path.join(dir, 'branches/a.old'));
    fs.mkdirSync(path.join(dir, 'branches/b.compact'));
    const s = open(dir);
    expect(view(s, 'a')).toEqual(before);
    expect(fs.readdirSync(path.join(dir, 'branches')).sort()).toEqual(['a', 'b']);
    await s.close();
  });
});

describe('flatfile engine: bundles', () => {
  it('exports a verified bundle and imports it into another store, as the same or another branch', async () => {
    const { store, src } = await filled(6, 3);
    const key = await store.putBlob(payloadOf(3)); // a payload of branch a's frames: referenced
    const unused = await store.putBlob(new Uint8Array([1, 2, 3])); // in no frame: stays home
    const out = path.join(fresh(), 'bundle');
    const m = await store.exportBundle('a', out);
    expect(m.branch).toBe('a');
    expect(m.beat).toBe(5);
    expect(hex(m.root)).toBe(hex(store.head('a')!.root));
    expect(m.files.map((f) => f.path).sort()).toEqual(['branch.meta', `cas/${key.slice(0, 2)}/${key}`, 'checkpoints.log', 'frames.idx', 'frames.log']);
    expect(JSON.parse(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8')).blobs).toEqual([key]);
    for (const f of m.files) expect(hex(blake3(fs.readFileSync(path.join(out, f.path))))).toBe(f.blake3);
    await expect(store.exportBundle('a', out)).rejects.toMatchObject({ code: 'ERR_BUNDLE_INVALID' }); // not empty
    await expect(store.exportBundle('zz', path.join(fresh(), 'x'))).rejects.toMatchObject({ code: 'ERR_STORE_FRAME' });

    const dir2 = fresh();
    const other = open(dir2);
    const got = await other.importBundle(out);
    expect(got.beat).toBe(5);
    expect(view(other, 'a')).toEqual(view(store, 'a'));
    expect(other.head('a')!.checkpointBeat).toBe(3);
    expect(other.getBlob(key)).toEqual(payloadOf(3));
    expect(other.getBlob(unused)).toBeUndefined();
    expect(other.lastBeat).toBe(5);
    await other.importBundle(out, 'copy/of/a');
    expect(other.branches()).toEqual(['a', 'copy/of/a']);
    expect(view(other, 'copy/of/a')).toEqual(view(store, 'a'));
    // the imported branch goes on from its head
    src.advance();
    other.beginBeat(src.beat);
    other.putFrame('a', src.frame('a'));
    await other.commitBeat();
    await other.close();
    const reopened = open(dir2);
    expect(reopened.recovery.cut).toEqual([]);
    expect(reopened.branches()).toEqual(['a', 'copy/of/a']);
    expect([...reopened.frames('a')].map((f) => f.beat)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    await reopened.close();
    await store.close();
  });

  it('refuses a bundle missing a blob its frames reference, or carrying one they do not, and changes nothing', async () => {
    const { store } = await filled(5, 2);
    const key = await store.putBlob(payloadOf(1));
    const stray = await store.putBlob(new Uint8Array([9, 9, 9]));
    const out = path.join(fresh(), 'bundle');
    await store.exportBundle('a', out);
    const targetDir = fresh();
    const target = open(targetDir);
    const src = new Source(['a']);
    await commitBeat(target, src, ['a']);
    const before = view(target, 'a');
    const rel = `cas/${key.slice(0, 2)}/${key}`;
    const cases: Array<[string, (dir: string) => void, RegExp]> = [
      // the blob and its file entry gone: the manifest still names it among the referenced blobs
      ['a missing referenced blob', (d) => (fs.rmSync(path.join(d, rel)), editManifest(d, (m) => (m.files = m.files.filter((f) => f.path !== rel)))), /reference CAS blob .* which it does not carry/],
      ['a blob the manifest does not name', (d) => editManifest(d, (m) => ((m as { blobs?: string[] }).blobs = [])), /carries 1 CAS blobs, its manifest names 0/],
      [
        'an unreferenced blob',
        (d) => {
          const extra = `cas/${stray.slice(0, 2)}/${stray}`;
          fs.mkdirSync(path.join(d, 'cas', stray.slice(0, 2)), { recursive: true });
          fs.writeFileSync(path.join(d, extra), new Uint8Array([9, 9, 9]));
          editManifest(d, (m) => {
            m.files.push({ path: extra, size: 3, blake3: stray });
            (m as { blobs?: string[] }).blobs!.push(stray);
          });
        },
        /which none of its frames references/,
      ],
    ];
    for (const [what, edit, message] of cases) {
      const copy = path.join(fresh(), 'bundle');
      fs.cpSync(out, copy, { recursive: true });
      edit(copy);
      await expect(target.importBundle(copy), what).rejects.toMatchObject({ code: 'ERR_BUNDLE_INVALID', message: expect.stringMatching(message) });
      expect(view(target, 'a'), what).toEqual(before);
      expect(target.getBlob(key), what).toBeUndefined();
      const imports = path.join(target.dir, 'imports'); // refused before staging, or staged and removed
      expect(fs.existsSync(imports) ? fs.readdirSync(imports) : [], what).toEqual([]);
    }
    // the bundle as exported imports, with its blob
    await target.importBundle(out);
    expect(target.getBlob(key)).toEqual(payloadOf(1));
    expect(target.getBlob(stray)).toBeUndefined();
    await target.close();
    await store.close();
  });

  it('refuses a tampered bundle and leaves the branch it would replace untouched', async () => {
    const { store } = await filled(5, 2);
    const out = path.join(fresh(), 'bundle');
    await store.exportBundle('a', out);
    const target = open(fresh());
    const src = new Source(['a']);
    await commitBeat(target, src, ['a']);
    const before = view(target, 'a');
    const tamper: Array<[string, (dir: string) => void]> = [
      ['a flipped frame byte', (d) => flip(path.join(d, 'frames.log'), 200)],
      ['a truncated log', (d) => fs.truncateSync(path.join(d, 'frames.log'), 150)],
      ['a missing file', (d) => fs.rmSync(path.join(d, 'checkpoints.log'))],
      ['an extra path', (d) => editManifest(d, (m) => m.files.push({ path: '../escape', size: 0, blake3: '0'.repeat(64) }))],
      ['a wrong head', (d) => editManifest(d, (m) => (m.beat = 3))],
      ['manifest garbage', (d) => fs.writeFileSync(path.join(d, 'manifest.json'), '{nope')],
      ['no manifest', (d) => fs.rmSync(path.join(d, 'manifest.json'))],
      // re-hashed after tampering: the manifest matches, the frames do not
      [
        'a re-hashed flipped frame',
        (d) => {
          flip(path.join(d, 'frames.log'), 300);
          editManifest(d, (m) => {
            const f = m.files.find((x) => x.path === 'frames.log')!;
            f.blake3 = hex(blake3(fs.readFileSync(path.join(d, 'frames.log'))));
          });
        },
      ],
    ];
    for (const [what, edit] of tamper) {
      const copy = path.join(fresh(), 'bundle');
      fs.cpSync(out, copy, { recursive: true });
      edit(copy);
      await expect(target.importBundle(copy), what).rejects.toMatchObject({ code: 'ERR_BUNDLE_INVALID' });
      expect(view(target, 'a'), what).toEqual(before);
      expect(fs.readdirSync(path.join(target.dir, 'imports')), what).toEqual([]);
    }
    await target.close();
    await store.close();
  });
});

for (const backend of availableBackends()) {
  describe(`flatfile engine: a failed commit (reactor ${backend})`, () => {
    it('rejects with ERR_STORE_IO and leaves nothing of the beat, in memory or after reopen', async () => {
      const dir = fresh();
      const reactor = createReactor({ backend });
      const store = open(dir, { reactor, preallocate: false }); // no background writes to take the injected fault
      const src = new Source(['a', 'b']);
      await commitBeat(store, src, ['a', 'b']);
      const before = { a: view(store, 'a'), b: view(store, 'b') };
      for (const step of ['write', 'fsync'] as const) {
        src.advance();
        const frames = [src.frame('a'), src.frame('b')];
        reactor.injectFault(step, 'EIO', 1);
        store.beginBeat(src.beat);
        store.putFrame('a', frames[0]);
        store.putFrame('b', frames[1]);
        await expect(store.commitBeat()).rejects.toMatchObject({ code: 'ERR_STORE_IO' });
        expect({ a: view(store, 'a'), b: view(store, 'b') }).toEqual(before);
        // the same beat commits once the fault is gone
        store.beginBeat(src.beat);
        store.putFrame('a', frames[0]);
        store.putFrame('b', frames[1]);
        await store.commitBeat();
        before.a = view(store, 'a');
        before.b = view(store, 'b');
      }
      await store.close();
      await reactor.close();
      const again = open(dir);
      expect(again.recovery.cut).toEqual([]);
      expect({ a: view(again, 'a'), b: view(again, 'b') }).toEqual(before);
      expect(readFrame(again.frameAt('b', 2)!.bytes).beat).toBe(2);
      await again.close();
    });
  });
}

/** The 16-byte payload `Source.advance()` gives the cells it adds at `beat`. */
function payloadOf(beat: number): Uint8Array {
  return new Uint8Array(16).map((_, i) => (beat * 31 + i) & 0xff);
}

function flip(file: string, at: number): void {
  const b = fs.readFileSync(file);
  b[at] ^= 0x40;
  fs.writeFileSync(file, b);
}

function editManifest(dir: string, fn: (m: { beat: number; files: Array<{ path: string; size: number; blake3: string }> }) => void): void {
  const file = path.join(dir, 'manifest.json');
  const m = JSON.parse(fs.readFileSync(file, 'utf8'));
  fn(m);
  fs.writeFileSync(file, JSON.stringify(m));
}
