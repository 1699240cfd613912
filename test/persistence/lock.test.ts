/**
 * The store lock (src/persistence/flatfile/lock.ts) against real processes: many long-lived
 * child processes (lock-racer.ts) race to open one store, the store of a SIGKILLed owner or a
 * fresh one, round after round, and never more than one of them may win; the owner's pid
 * reused (our own pid with another start time) and a restarted container's PID 1 (a real pid
 * namespace, by unshare) are not locked out; a live owner in another pid namespace is. In the
 * native project the racers mix native and fallback processes; in the fallback project all
 * are fallback.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { buildSync } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ownIdentity, encodeIdentity } from '../../src/persistence/flatfile/lock-owner.js';
import { open, rmDir, tempDir } from './helpers.js';

const RACERS = 8;
const ROUNDS = 100;
const root = new URL('../..', import.meta.url).pathname;
const addon = path.join(root, 'build', 'Release', 'cep.node');
const nativeProject = process.env.CEP_NATIVE !== '0' && fs.existsSync(addon);
type Mode = 'native' | 'fallback';
let work: string;
let bundle: string;
const racers: Racer[] = [];

beforeAll(() => {
  work = tempDir('cep-lock-');
  bundle = path.join(work, 'lock-racer.mjs');
  buildSync({ entryPoints: [path.join(root, 'test/persistence/lock-racer.ts')], bundle: true, platform: 'node', format: 'esm', outfile: bundle, logLevel: 'silent' });
});
afterAll(async () => {
  await Promise.all(racers.splice(0).map((r) => r.kill()));
  rmDir(work);
});

/** A racer child: `ask` sends one command and resolves with its answer. */
class Racer {
  readonly child: ChildProcessWithoutNullStreams;
  readonly ready: Promise<string>;
  #waiting: Array<(line: string) => void> = [];
  #closed: Promise<void>;

  constructor(
    readonly mode: Mode,
    wrap: string[] = [],
  ) {
    const env = { ...process.env, ...(mode === 'native' ? { CEP_NATIVE: '1', CEP_NATIVE_PATH: addon } : { CEP_NATIVE: '0' }) };
    const argv = [...wrap, process.execPath, bundle];
    this.child = spawn(argv[0]!, argv.slice(1), { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let buf = '';
    let stderr = '';
    this.child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    this.child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        this.#waiting.shift()?.(line);
      }
    });
    this.#closed = new Promise((resolve) => this.child.on('close', () => resolve()));
    this.ready = this.#next();
    void this.#closed.then(() => {
      for (const w of this.#waiting.splice(0)) w(`exited: ${stderr}`);
    });
  }

  #next(): Promise<string> {
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  ask(command: string): Promise<string> {
    const answer = this.#next();
    this.child.stdin.write(`${command}\n`);
    return answer;
  }

  /** SIGKILL; resolves once the process (and, under unshare, its namespace's init) is gone. */
  async kill(): Promise<void> {
    this.child.kill('SIGKILL');
    await this.#closed;
  }
}

async function startRacers(modes: Mode[]): Promise<void> {
  for (const mode of modes) racers.push(new Racer(mode));
  expect((await Promise.all(racers.map((r) => r.ready))).every((l) => l.startsWith('ready'))).toBe(true);
}

async function stopRacers(): Promise<void> {
  await Promise.all(racers.splice(0).map((r) => r.kill()));
}

/** One round: every racer opens `dir` at once; returns the winners' indexes (the losers must say ERR_STORE_LOCKED). */
async function race(dir: string, round: number): Promise<number[]> {
  const answers = await Promise.all(racers.map((r) => r.ask(`open ${dir} ${round}`)));
  const odd = answers.filter((a) => a !== 'won' && a !== 'lost ERR_STORE_LOCKED');
  expect(odd).toEqual([]);
  return answers.flatMap((a, i) => (a === 'won' ? [i] : []));
}

/** The rounds with more than one owner at once, from the owners' own records. */
function doubleOwners(owners: string, rounds: number): number[] {
  const perRound = new Array<number>(rounds).fill(0);
  for (const line of fs.readFileSync(owners, 'utf8').trim().split('\n')) perRound[Number(line.split(' ')[0])]!++;
  return perRound.flatMap((n, r) => (n > 1 ? [r] : []));
}

const raceModes: Mode[] = Array.from({ length: RACERS }, (_, i) => (nativeProject && i % 2 === 0 ? 'native' : 'fallback'));
const modeNote = nativeProject ? 'native and fallback processes mixed' : 'fallback processes';

describe(`store lock: ${RACERS} racing processes (${modeNote})`, () => {
  it(`${ROUNDS} rounds on a store whose owner was SIGKILLed: one owner each round`, async () => {
    await startRacers(raceModes);
    const dir = tempDir('cep-lock-race-');
    try {
      const winnersPerRound: number[] = [];
      for (let r = 0; r < ROUNDS; r++) {
        const winners = await race(dir, r);
        winnersPerRound.push(winners.length);
        // kill every owner mid-hold; a fresh racer of the same mode takes its place
        for (const w of winners) {
          await racers[w]!.kill();
          racers[w] = new Racer(racers[w]!.mode);
        }
        await Promise.all(racers.map((x) => x.ready));
      }
      expect(doubleOwners(`${dir}.owners`, ROUNDS)).toEqual([]);
      expect(winnersPerRound.filter((n) => n !== 1)).toEqual([]);
      // killed opens leave no files behind once a live owner has swept them
      const left = fs.readdirSync(dir).filter((n) => n.startsWith('LOCK'));
      expect(left.filter((n) => !/^LOCK(\.owner|\.id\.\w+|\.live\.\w+)?$/.test(n))).toEqual([]);
    } finally {
      await stopRacers();
      rmDir(dir);
      fs.rmSync(`${dir}.owners`, { force: true });
    }
  }, 120_000);

  it(`${ROUNDS} rounds on fresh stores: one owner each round`, async () => {
    await startRacers(raceModes);
    const base = tempDir('cep-lock-fresh-');
    const owners = path.join(base, 'all');
    try {
      for (let r = 0; r < ROUNDS; r++) {
        const dir = path.join(base, `s${r}`);
        const winners = await race(dir, r);
        fs.appendFileSync(owners, fs.readFileSync(`${dir}.owners`, 'utf8'));
        expect(winners.length).toBe(1);
        expect(await racers[winners[0]!]!.ask('close')).toBe('closed');
      }
      expect(doubleOwners(owners, ROUNDS)).toEqual([]);
    } finally {
      await stopRacers();
      rmDir(base);
    }
  }, 120_000);
});
