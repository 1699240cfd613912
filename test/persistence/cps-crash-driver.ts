/**
 * Kill-and-recover rounds for the crash test and the soak script: a child (cps-crash-child.ts,
 * bundled once) runs durable beats on a store and reports what it saw durable; it is killed
 * with SIGKILL at a random moment; the store is reopened here and must hold every reported beat,
 * accept no corrupt frame, and equal the model at the beat it recovered.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { buildSync } from 'esbuild';
import { createRuntime } from '../../src/runtime/create.js';
import { actualState, expectedState } from './cps-crash-model.js';

// the repository (the soak script runs this module bundled elsewhere and says where it is)
const root = process.env.CEP_REPO_ROOT ?? new URL('../..', import.meta.url).pathname;
const addon = join(root, 'build', 'Release', 'cep.node');

/** Bundle the child into `dir`; returns the entry file. */
export function bundleChild(dir: string): string {
  const out = join(dir, 'cps-crash-child.mjs');
  buildSync({ entryPoints: [join(root, 'test', 'persistence', 'cps-crash-child.ts')], bundle: true, platform: 'node', format: 'esm', outfile: out, logLevel: 'silent' });
  return out;
}

export interface RoundResult {
  /** Highest beat the child reported durable (-1: none). */
  reported: number;
  /** Beat the child started at (-1: killed before it said). */
  started: number;
  /** Beat the store recovered to. */
  recovered: number;
  /** How long the child lived, ms. */
  livedMs: number;
}

/** Deterministic pseudo-random numbers for kill delays (seeded, so a failing run can be repeated). */
export function randomizer(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x100000000;
  };
}

/** One child life: start, wait `delayMs` after its first report (or from spawn when `early`), SIGKILL. */
export function killRound(child: string, dir: string, delayMs: number, early: boolean): Promise<{ reported: number; started: number; livedMs: number }> {
  const native = process.env.CEP_NATIVE !== '0' && existsSync(addon);
  const env = { ...process.env, CPS_DIR: dir, ...(native ? { CEP_NATIVE_PATH: addon } : { CEP_NATIVE: '0' }) };
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [child], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let reported = -1;
    let started = -1;
    let buf = '';
    let err = '';
    let timer: ReturnType<typeof setTimeout> | undefined;
    const kill = (): void => void p.kill('SIGKILL');
    if (early) timer = setTimeout(kill, delayMs);
    const guard = setTimeout(kill, 15_000);
    p.stdout.setEncoding('utf8');
    p.stdout.on('data', (s: string) => {
      buf += s;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        const [tag, n] = line.split(' ');
        if (tag === 'start') started = Number(n);
        if (tag === 'd') {
          reported = Math.max(reported, Number(n));
          if (timer === undefined) timer = setTimeout(kill, delayMs);
        }
      }
    });
    p.stderr.setEncoding('utf8');
    p.stderr.on('data', (s: string) => (err += s));
    p.on('exit', (code, signal) => {
      clearTimeout(timer);
      clearTimeout(guard);
      if (signal !== 'SIGKILL') reject(new Error(`child exited with ${code ?? signal}: ${err.slice(0, 2000)}`));
      else resolve({ reported, started, livedMs: Date.now() - t0 });
    });
  });
}

/** Reopen the store in this process and check it against what the child reported and the model. */
export async function verifyStore(dir: string, reported: number): Promise<number> {
  const rt = createRuntime({ store: { dir }, record: false, journalBeats: 0 });
  try {
    const recovered = rt.persist.engine.recovery.beat;
    if (recovered < reported) throw new Error(`the child saw beat ${reported} durable, the store recovered only to ${recovered}`);
    if (recovered >= 0 && rt.beat !== recovered + 1) throw new Error(`the beat counter resumed at ${rt.beat}, not ${recovered + 1}`);
    const want = expectedState(recovered);
    const got = actualState(rt);
    if (JSON.stringify(sorted(got)) !== JSON.stringify(sorted(want))) {
      throw new Error(`state after beat ${recovered} differs from the model:\n got ${JSON.stringify(sorted(got))}\nwant ${JSON.stringify(sorted(want))}`);
    }
    return recovered;
  } finally {
    await rt.close();
  }
}

function sorted(o: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** `rounds` kill-and-verify rounds on one store; returns every round's result. */
export async function crashRounds(child: string, dir: string, rounds: number, seed: number): Promise<RoundResult[]> {
  const rand = randomizer(seed);
  const results: RoundResult[] = [];
  let last = -1;
  for (let i = 0; i < rounds; i++) {
    const early = rand() < 0.2; // some kills land during startup and recovery
    const delay = early ? rand() * 120 : rand() * 25;
    const r = await killRound(child, dir, delay, early);
    if (r.started >= 0 && last >= 0 && r.started !== last + 1) throw new Error(`round ${i}: the child started at beat ${r.started}, the store held beat ${last}`);
    const recovered = await verifyStore(dir, r.reported);
    last = recovered;
    results.push({ ...r, recovered });
  }
  return results;
}
