/**
 * Engine-level crash test (run by engine-crash.test.ts, and longer by engine-crash.soak.test.ts):
 * a real child process commits beats (crash-child.ts) and reports each
 * one once its commit resolved; the parent kills it with SIGKILL at random moments, reopens the
 * store and checks that every reported beat is there, that the beats form an unbroken sequence
 * with exactly the model's branches, and that every frame read back holds the model's value.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { buildSync } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFrame } from '../../src/index.js';
import { availableBackends } from '../../src/async/select.js';
import { branchesOf, valueAtBeat } from './crash-model.js';
import { open, rmDir, tempDir } from './helpers.js';

const root = new URL('../..', import.meta.url).pathname;
const addon = path.join(root, 'build', 'Release', 'cep.node');
let work: string;
let bundle: string;

/** A small deterministic PRNG (the kill moments themselves still depend on timing). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Runs the child until it reported `minBeats` commits, then kills it after `delayMs`; returns the beats it reported. */
function runAndKill(dir: string, backend: string, minBeats: number, delayMs: number): Promise<{ reported: number[]; opened: number }> {
  const native = process.env.CEP_NATIVE !== '0' && fs.existsSync(addon);
  const child = spawn(process.execPath, [bundle], {
    env: { ...process.env, ...(native ? { CEP_NATIVE_PATH: addon } : { CEP_NATIVE: '0' }), CRASH_DIR: dir, CRASH_BACKEND: backend },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const reported: number[] = [];
  let opened = -2;
  let buf = '';
  let stderr = '';
  let timer: NodeJS.Timeout | undefined;
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      const [what, n] = line.split(' ');
      if (what === 'ok') reported.push(Number(n));
      if (what === 'open') opened = Number(n);
    }
    if (timer === undefined && reported.length >= minBeats) timer = setTimeout(() => child.kill('SIGKILL'), delayMs);
  });
  return new Promise((resolve, reject) => {
    child.on('exit', (code, signal) => {
      if (signal !== 'SIGKILL') reject(new Error(`the child exited on its own (${code}): ${stderr}`));
      else resolve({ reported, opened });
    });
  });
}

const modes = ['none', ...availableBackends()];

/** The crash test with `KILLS` kills (taking turns over the I/O modes), from the PRNG seeded with `seed`. */
export function engineCrashSuite(KILLS: number, seed = 0xc3f): void {
  beforeAll(() => {
    work = tempDir('cep-crash-');
    bundle = path.join(work, 'crash-child.mjs');
    buildSync({ entryPoints: [path.join(root, 'test/persistence/crash-child.ts')], bundle: true, platform: 'node', format: 'esm', outfile: bundle, logLevel: 'silent', external: ['esbuild'] });
  });
  afterAll(() => rmDir(work));

  describe('flatfile engine: SIGKILL at random moments', () => {
    it(
      `keeps every reported beat and never a corrupt or partial one (${KILLS} kills over ${modes.join(', ')})`,
      async () => {
        const dir = path.join(work, 'store');
        const rand = rng(seed);
        let checked = -1; // beats up to here were fully checked in an earlier round
        let allReported = -1;
        let cuts = 0;
        for (let kill = 0; kill < KILLS; kill++) {
          const backend = modes[kill % modes.length];
          const { reported, opened } = await runAndKill(dir, backend, 1 + Math.floor(rand() * 4), Math.floor(rand() * 60));
          expect(opened).toBeGreaterThanOrEqual(allReported); // the child resumed after everything reported before
          if (reported.length > 0) allReported = reported[reported.length - 1];

          const store = open(dir);
          cuts += store.recovery.cut.length;
          const last = store.recovery.beat;
          expect(last).toBeGreaterThanOrEqual(allReported);
          expect(last).toBeGreaterThanOrEqual(checked); // nothing recovered before is ever lost
          // exactly the model's branches at every beat, an unbroken sequence, each frame holding the model's value
          const seen = new Map<number, string[]>();
          for (const b of store.branches()) {
            for (const f of store.frames(b, { from: checked + 1 })) {
              seen.set(f.beat, [...(seen.get(f.beat) ?? []), b]);
              const frame = readFrame(f.bytes);
              const want = Buffer.from(valueAtBeat(b, f.beat));
              expect(frame.cells.some((c) => c.payload?.bytes !== undefined && want.equals(c.payload.bytes))).toBe(true);
            }
          }
          for (let beat = checked + 1; beat <= last; beat++) expect((seen.get(beat) ?? []).sort()).toEqual(branchesOf(beat));
          expect([...seen.keys()].every((b) => b <= last)).toBe(true);
          checked = last;
          await store.close();
        }
        expect(allReported).toBeGreaterThan(KILLS); // the children did real work between kills
        // how many kills landed mid-write is up to timing; report it for the log
        console.log(`crash test: ${KILLS} kills, ${checked + 1} beats kept, ${cuts} torn or uncommitted tails cut`);
      },
      60_000 + KILLS * 10_000,
    );
  });
}
