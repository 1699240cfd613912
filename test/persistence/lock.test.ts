/**
 * The store lock (src/persistence/flatfile/lock.ts, docs/flatfile.md "One engine per folder"):
 * racing processes (lock-race.ts; longer runs in lock.soak.test.ts), the lock files a dead or
 * older owner leaves, the owner's pid reused, and real pid namespaces (unshare): a restarted
 * container's PID 1 gets its store back, a live owner in another namespace keeps it.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LOCK_HELD, LOCK_UNAVAILABLE } from '../../src/native/binding.js';
import { binding } from '../../src/native/index.js';
import { encodeIdentity, ownIdentity, type OwnerIdentity } from '../../src/persistence/flatfile/lock-owner.js';
import { open, tempDirs } from './helpers.js';
import { freshStoreRounds, killedOwnerRounds, modeNote, nativeProject, Racer, RACERS, useRacers } from './lock-race.js';

useRacers();
const { fresh, clean } = tempDirs('cep-lock-');
afterAll(clean);

const lockFiles = (dir: string): string[] =>
  fs
    .readdirSync(dir)
    .filter((n) => n.startsWith('LOCK'))
    .sort();
/** An identity of a process that is gone: this process's pid namespace and boot, a pid with another start time. */
const deadIdentity = (pid = process.pid): OwnerIdentity => ({ ...ownIdentity('fallback'), pid, start: '1' });

describe(`store lock: ${RACERS} racing processes (${modeNote})`, () => {
  it('20 rounds on a store whose owner was SIGKILLed mid-hold: exactly one owner each round (150 in the soak)', async () => {
    const { notOne, doubles, left } = await killedOwnerRounds(20);
    expect(doubles).toEqual([]);
    expect(notOne).toEqual([]);
    // what killed opens leave is swept by the next owner: at most the last killed owner's files
    expect(left.filter((n) => !/^LOCK(\.owner|\.id\.\w+|\.live\.\w+)?$/.test(n))).toEqual([]);
    expect(left.filter((n) => n.startsWith('LOCK.id.')).length).toBeLessThanOrEqual(1);
  }, 60_000);

  it('100 rounds on fresh stores: exactly one owner each round', async () => {
    const { notOne, doubles } = await freshStoreRounds(100);
    expect(doubles).toEqual([]);
    expect(notOne).toEqual([]);
  }, 60_000);
});

describe('binding.lockFile: the kernel lock (native), absent in the fallback', () => {
  it(nativeProject ? 'flock on a separate open file description conflicts; closing releases' : 'the fallback has no flock and says so', () => {
    const file = path.join(fresh(), 'LOCK');
    const fd = binding.lockFile(file);
    if (!nativeProject) {
      expect(fd).toBe(LOCK_UNAVAILABLE);
      return;
    }
    expect(fd).toBeGreaterThanOrEqual(0);
    expect(binding.lockFile(file)).toBe(LOCK_HELD);
    fs.closeSync(fd);
    const again = binding.lockFile(file);
    expect(again).toBeGreaterThanOrEqual(0);
    fs.closeSync(again);
    expect(() => binding.lockFile(path.join(file, 'no', 'such'))).toThrow(expect.objectContaining({ code: 'ERR_STORE_IO' }));
    expect(() => binding.lockFile(42 as unknown as string)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
  });
});

describe('store lock: in this process', () => {
  it('a second open is ERR_STORE_LOCKED; close releases and leaves only LOCK, emptied', async () => {
    const dir = fresh();
    const store = open(dir);
    expect(lockFiles(dir)).toEqual(expect.arrayContaining(['LOCK', 'LOCK.owner']));
    expect(fs.readFileSync(path.join(dir, 'LOCK'), 'utf8')).toMatch(new RegExp(`^${process.pid}\\n\\{`));
    expect(() => open(dir)).toThrow(expect.objectContaining({ code: 'ERR_STORE_LOCKED', message: expect.stringContaining('(this one)') as string }));
    await store.close();
    expect(lockFiles(dir)).toEqual(['LOCK']);
    expect(fs.readFileSync(path.join(dir, 'LOCK'), 'utf8')).toBe('');
    await open(dir).close();
  });

  it("a claim naming this process's pid with another start time is a reused pid's: stale, taken over", async () => {
    const dir = fresh();
    await open(dir).close();
    const dead = deadIdentity();
    fs.writeFileSync(path.join(dir, 'LOCK.owner'), encodeIdentity(dead));
    fs.writeFileSync(path.join(dir, `LOCK.id.${dead.nonce}`), encodeIdentity(dead));
    const store = open(dir);
    expect(lockFiles(dir)).not.toContain(`LOCK.id.${dead.nonce}`); // the dead open's card is swept
    await store.close();
    // the same pid and start time, another open: this very process, alive
    fs.writeFileSync(path.join(dir, 'LOCK.owner'), encodeIdentity(ownIdentity('fallback')));
    expect(() => open(dir)).toThrow(expect.objectContaining({ code: 'ERR_STORE_LOCKED' }));
  });

  it('a reaper that died mid-way does not block (the next generation takes over), a live one does; dead opens are swept', async () => {
    const dir = fresh();
    await open(dir).close();
    const dead = deadIdentity();
    fs.writeFileSync(path.join(dir, 'LOCK.owner'), encodeIdentity(dead));
    fs.writeFileSync(path.join(dir, `LOCK.reap.${dead.nonce}.0`), encodeIdentity(deadIdentity(2147483646)));
    fs.writeFileSync(path.join(dir, `LOCK.reap.${dead.nonce}.1`), encodeIdentity(deadIdentity()));
    // and a liveness socket whose open was killed before it wrote its card
    const orphan = path.join(dir, 'LOCK.live.0123abcd');
    spawnSync(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(orphan)}, () => process.kill(process.pid, 'SIGKILL'))`]);
    expect(fs.existsSync(orphan)).toBe(true);
    await open(dir).close();
    expect(lockFiles(dir)).toEqual(['LOCK']);
    // a live process (this one, as another open) is removing the dead claim: not ours to take
    fs.writeFileSync(path.join(dir, 'LOCK.owner'), encodeIdentity(dead));
    fs.writeFileSync(path.join(dir, `LOCK.reap.${dead.nonce}.0`), encodeIdentity(ownIdentity('fallback')));
    expect(() => open(dir)).toThrow(expect.objectContaining({ code: 'ERR_STORE_LOCKED', message: expect.stringContaining('being taken over') as string }));
    fs.rmSync(path.join(dir, `LOCK.reap.${dead.nonce}.0`));
    await open(dir).close();
  });

  it('LOCK of an older version (a pid alone): stale when that pid is gone or ours, held while it lives', async () => {
    const dir = fresh();
    await open(dir).close();
    for (const stale of ['2147483646\n', `${process.pid}\n`]) {
      fs.writeFileSync(path.join(dir, 'LOCK'), stale);
      await open(dir).close();
    }
    fs.writeFileSync(path.join(dir, 'LOCK'), '1\n'); // pid 1 is alive
    expect(() => open(dir)).toThrow(expect.objectContaining({ code: 'ERR_STORE_LOCKED', message: expect.stringContaining('older version') as string }));
    expect(lockFiles(dir)).toEqual(['LOCK']); // the refused open left nothing behind
  });

  it('a LOCK.owner that names no owner is refused with the way to clear it', async () => {
    const dir = fresh();
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'LOCK.owner'), 'garbage');
    expect(() => open(dir)).toThrow(expect.objectContaining({ code: 'ERR_STORE_LOCKED', message: expect.stringContaining('delete it') as string }));
    fs.rmSync(path.join(dir, 'LOCK.owner'));
    await open(dir).close();
  });
});

const unshare = ['unshare', '--pid', '--fork', '--mount-proc', '--kill-child'];
const probe = spawnSync(unshare[0]!, [...unshare.slice(1), 'true'], { encoding: 'utf8' });
const unshareDenied = probe.status === 0 ? '' : ` (skipped: unshare is not permitted here: ${(probe.stderr || String(probe.error)).trim()})`;
const projectMode = nativeProject ? 'native' : 'fallback';

describe(`store lock: pid namespaces${unshareDenied}`, () => {
  it.skipIf(unshareDenied !== '')(
    `a restarted container: PID 1 SIGKILLed, a new PID 1 in a new namespace opens the store (${projectMode})`,
    async () => {
      const dir = fresh();
      for (let life = 0; life < 3; life++) {
        const init = new Racer(projectMode, unshare);
        expect(await init.ready).toBe('ready 1');
        expect(await init.ask(`open ${dir} ${life}`)).toBe('won');
        await init.kill();
      }
      expect(fs.readFileSync(`${dir}.owners`, 'utf8')).toBe('0 1\n1 1\n2 1\n');
    },
    30_000,
  );

  it.skipIf(unshareDenied !== '')(
    'a live owner in another pid namespace keeps the store (fallback owner: its liveness socket answers)',
    async () => {
      const dir = fresh();
      const init = new Racer('fallback', unshare);
      try {
        expect(await init.ready).toBe('ready 1');
        expect(await init.ask(`open ${dir} 0`)).toBe('won');
        expect(() => open(dir)).toThrow(expect.objectContaining({ code: 'ERR_STORE_LOCKED' }));
      } finally {
        await init.kill();
      }
      await open(dir).close(); // and once it is killed, the store is free
    },
    30_000,
  );
});
