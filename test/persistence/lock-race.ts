/**
 * The lock tests' race harness (lock.test.ts, lock.soak.test.ts): long-lived child processes
 * (lock-racer.ts) race to open one store, round after round; each winner records itself while
 * it holds the store. In the native project the racers mix native and fallback processes; in
 * the fallback project all are fallback.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { buildSync } from 'esbuild';
import { afterAll, beforeAll, expect } from 'vitest';
import { rmDir, tempDir } from './helpers.js';

export const RACERS = 8;
const root = new URL('../..', import.meta.url).pathname;
const addon = path.join(root, 'build', 'Release', 'cep.node');
export const nativeProject = process.env.CEP_NATIVE !== '0' && fs.existsSync(addon);
export type Mode = 'native' | 'fallback';
let work: string;
let bundle: string;
const racers: Racer[] = [];

/** Builds the racer child once per test file (call at the top level of the file). */
export function useRacers(): void {
  beforeAll(() => {
    work = tempDir('cep-lock-');
    bundle = path.join(work, 'lock-racer.mjs');
    buildSync({ entryPoints: [path.join(root, 'test/persistence/lock-racer.ts')], bundle: true, platform: 'node', format: 'esm', outfile: bundle, logLevel: 'silent' });
  });
  afterAll(async () => {
    await Promise.all(racers.splice(0).map((r) => r.kill()));
    rmDir(work);
  });
}

/** A racer child: `ask` sends one command and resolves with its answer. */
export class Racer {
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

export async function startRacers(modes: Mode[]): Promise<void> {
  for (const mode of modes) racers.push(new Racer(mode));
  expect((await Promise.all(racers.map((r) => r.ready))).every((l) => l.startsWith('ready'))).toBe(true);
}

export async function stopRacers(): Promise<void> {
  await Promise.all(racers.splice(0).map((r) => r.kill()));
}

/** One round: every racer opens `dir` at once; returns the winners' indexes (the losers must say ERR_STORE_LOCKED). */
async function race(dir: string, round: number): Promise<number[]> {
  const answers = await Promise.all(racers.map((r) => r.ask(`open ${dir} ${round}`)));
  const odd = answers.filter((a) => a !== 'won' && !a.startsWith('lost ERR_STORE_LOCKED '));
  expect(odd).toEqual([]);
  return answers.flatMap((a, i) => (a === 'won' ? [i] : []));
}

/** The rounds with more than one owner at once, from the owners' own records. */
function doubleOwners(owners: string, rounds: number): number[] {
  const perRound = new Array<number>(rounds).fill(0);
  if (!fs.existsSync(owners)) return [];
  for (const line of fs.readFileSync(owners, 'utf8').trim().split('\n')) perRound[Number(line.split(' ')[0])]!++;
  return perRound.flatMap((n, r) => (n > 1 ? [r] : []));
}

export const raceModes: Mode[] = Array.from({ length: RACERS }, (_, i) => (nativeProject && i % 2 === 0 ? 'native' : 'fallback'));
export const modeNote = nativeProject ? 'native and fallback processes mixed' : 'fallback processes';

/**
 * `rounds` rounds on one store: all racers open it at once, then every winner is SIGKILLed
 * while it holds the store and a spare racer of the same mode (started during the round)
 * takes its place. Returns the rounds that had no single owner, and the lock files left.
 */
export async function killedOwnerRounds(rounds: number): Promise<{ notOne: number[]; doubles: number[]; left: string[] }> {
  await startRacers(raceModes);
  const spares = new Map<Mode, Racer[]>(raceModes.map((m) => [m, []]));
  const spare = (mode: Mode): Racer => {
    const pool = spares.get(mode)!;
    if (pool.length === 0) pool.push(new Racer(mode));
    return pool.shift()!;
  };
  const dir = tempDir('cep-lock-race-');
  try {
    const notOne: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const winners = await race(dir, r);
      if (winners.length !== 1) notOne.push(r);
      for (const w of winners) {
        const dead = racers[w]!;
        racers[w] = spare(dead.mode);
        await dead.kill();
        spares.get(dead.mode)!.push(new Racer(dead.mode)); // starts while the next round runs
      }
      await Promise.all(racers.map((x) => x.ready));
    }
    const left = fs.readdirSync(dir).filter((n) => n.startsWith('LOCK'));
    return { notOne, doubles: doubleOwners(`${dir}.owners`, rounds), left };
  } finally {
    for (const pool of spares.values()) racers.push(...pool);
    await stopRacers();
    rmDir(dir);
    fs.rmSync(`${dir}.owners`, { force: true });
  }
}

/** `rounds` rounds, each on a fresh store: all racers open it at once; the winner closes it. */
export async function freshStoreRounds(rounds: number): Promise<{ notOne: number[]; doubles: number[] }> {
  await startRacers(raceModes);
  const base = tempDir('cep-lock-fresh-');
  const owners = path.join(base, 'all');
  try {
    const notOne: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const dir = path.join(base, `s${r}`);
      const winners = await race(dir, r);
      if (fs.existsSync(`${dir}.owners`)) fs.appendFileSync(owners, fs.readFileSync(`${dir}.owners`, 'utf8'));
      if (winners.length !== 1) notOne.push(r);
      for (const w of winners) expect(await racers[w]!.ask('close')).toBe('closed');
    }
    return { notOne, doubles: doubleOwners(owners, rounds) };
  } finally {
    await stopRacers();
    rmDir(base);
  }
}
