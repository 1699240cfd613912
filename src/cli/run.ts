/**
 * `cep run <example>`: an example application on a runtime backed by a store, driven by the
 * heartbeat, with a live status line; SIGINT / SIGTERM shut it down through `op/shdn` with a
 * flush, and the next run resumes from the store.
 *
 * An example is a module (a file, or a folder with `index.mjs`; a bare name is looked up in the
 * package's `examples/`) exporting `install(rt, options)`, which returns `{ tick(count),
 * status(), check() }` (see examples/ledger/index.mjs).
 */
import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createRuntime } from '../runtime/create.js';
import { recoveryNotes, type PersistentRuntime } from '../runtime/persistent.js';

interface ExampleApp {
  fresh?: boolean;
  tick(count: number): void;
  status(): Record<string, number>;
  check(): { ok: boolean; total: number; expected: number; accounts?: number; fingerprint?: string };
}

interface RunOptions {
  example: string;
  dir: string;
  rate: number;
  intervalMs: number;
  statusMs: number;
  ticks: number;
}

export const runUsage = `usage: cep run <example> [--dir <path>] [--rate <per second>] [--interval <ms>] [--status <ms>] [--ticks <n>]

  <example>        a name in the package's examples/ (ledger), a module file, or a folder with index.mjs
  --dir <path>     store directory (default ./cep-data); created when missing, resumed when present
  --rate <n>       work items per second the example is asked for (default 2000)
  --interval <ms>  how often a tick is queued (default 20)
  --status <ms>    status line refresh (default 250)
  --ticks <n>      stop by itself after n ticks (default: run until SIGINT / SIGTERM)`;

/** Numeric options: the field each sets and its least value. */
const NUMERIC: Record<string, [keyof RunOptions, number]> = {
  '--rate': ['rate', 0],
  '--interval': ['intervalMs', 1],
  '--status': ['statusMs', 10],
  '--ticks': ['ticks', 0],
};

function parse(args: string[]): RunOptions | string {
  const o: RunOptions = { example: '', dir: './cep-data', rate: 2000, intervalMs: 20, statusMs: 250, ticks: 0 };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const v = args[i + 1];
    if (a === '--dir') {
      if (v === undefined) return '--dir needs a path';
      o.dir = v;
      i++;
    } else if (a in NUMERIC) {
      const [field, min] = NUMERIC[a];
      const n = Number(v);
      if (v === undefined || !Number.isFinite(n) || n < min) return `${a} needs a number >= ${min}`;
      (o[field] as number) = field === 'ticks' ? Math.floor(n) : n;
      i++;
    } else if (a.startsWith('--')) return `unknown option ${a}`;
    else if (o.example !== '') return `unexpected argument ${a}`;
    else o.example = a;
  }
  if (o.example === '') return 'which example? (e.g. cep run ledger)';
  return o;
}

/** The module file of an example: a path, or a name under the package's examples/. */
function exampleFile(spec: string): string | undefined {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = spec.includes('/') || spec.includes('.') ? [resolve(spec)] : [join(here, '..', '..', 'examples', spec)];
  for (const c of candidates) {
    if (existsSync(c) && statSync(c).isDirectory()) {
      const index = join(c, 'index.mjs');
      if (existsSync(index)) return index;
    } else if (existsSync(c)) return c;
  }
  return undefined;
}

function megabytes(n: number): string {
  return `${(n / 1e6).toFixed(2)} MB`;
}

type ExampleModule = { install: (rt: unknown, options?: object) => ExampleApp };

/** Ends the run: why, and the exit code unless shutting down fails. */
type Stop = (why: string, code: number) => Promise<void>;

export async function runCommand(args: string[], out: (s: string) => void, err: (s: string) => void): Promise<number> {
  const o = parse(args);
  if (typeof o === 'string') {
    err(`cep run: ${o}\n\n${runUsage}`);
    return 2;
  }
  const mod = await loadExample(o.example, err);
  if (typeof mod === 'number') return mod;
  const rt = openStore(o.dir, err);
  if (typeof rt === 'number') return rt;
  const app = mod.install(rt);
  const resumedAt = rt.beat;
  const first = app.check();
  out(
    `${app.fresh === true ? 'new store' : 'resumed'} dir=${o.dir} beat=${resumedAt} durable=${rt.durableBeat} total=${first.total} expected=${first.expected} ok=${first.ok} fingerprint=${first.fingerprint ?? '-'}`,
  );
  return runUntilStopped(rt, app, o, out, err);
}

/** Imports the example's module; one that is missing or exports no install(rt) is an exit code 2. */
async function loadExample(spec: string, err: (s: string) => void): Promise<ExampleModule | number> {
  const file = exampleFile(spec);
  if (file === undefined) {
    err(`cep run: no example '${spec}'`);
    return 2;
  }
  const mod = (await import(pathToFileURL(file).href)) as Partial<ExampleModule>;
  if (typeof mod.install !== 'function') {
    err(`cep run: ${file} does not export install(rt)`);
    return 2;
  }
  return mod as ExampleModule;
}

/** Opens (or creates) the store; a damaged one is an exit code 1, with its message. */
function openStore(dir: string, err: (s: string) => void): PersistentRuntime | number {
  let rt: PersistentRuntime;
  try {
    rt = createRuntime({ store: { dir }, record: false, journalBeats: 8 });
  } catch (e) {
    if ((e as { code?: string }).code !== 'ERR_STORE_CORRUPT') throw e;
    err(`cep run: ${(e as Error).message}`);
    return 1;
  }
  // what recovery cut (a torn tail after a crash): said once, on stderr
  const notes = recoveryNotes(rt.recovery);
  if (notes.length > 0) err(`cep run: warning: recovery cut ${notes.map((n) => n.text).join('; ')}`);
  return rt;
}

/** Runs the app on the heartbeat until SIGINT / SIGTERM, `--ticks` or a heartbeat error; resolves to the exit code. */
function runUntilStopped(rt: PersistentRuntime, app: ExampleApp, o: RunOptions, out: (s: string) => void, err: (s: string) => void): Promise<number> {
  const tty = process.stdout.isTTY === true;
  const statusLine = statusReporter(rt, app);
  return new Promise<number>((done) => {
    let stopping = false;
    const stop: Stop = async (why, code) => {
      if (stopping) return;
      stopping = true;
      clearInterval(ticker);
      clearInterval(status);
      if (tty) out('');
      const exit = await shutDown(rt, app, why, code, out, err);
      process.off('SIGINT', onSigint);
      process.off('SIGTERM', onSigterm);
      done(exit);
    };
    const onSigint = (): void => void stop('SIGINT', 0);
    const onSigterm = (): void => void stop('SIGTERM', 0);
    process.on('SIGINT', onSigint);
    process.on('SIGTERM', onSigterm);
    const ticker = startTicking(rt, app, o, stop);
    const status = setInterval(() => {
      const line = statusLine();
      if (tty) process.stdout.write(`\r${line}   `);
      else out(line);
    }, o.statusMs);
    rt.heartbeat.start({ intervalMs: 0 });
    watchHeartbeat(rt, err, stop, () => stopping);
  });
}

/** The status line: the beat, impulses per second since the last line, the durable lag, the store's size. */
function statusReporter(rt: PersistentRuntime, app: ExampleApp): () => string {
  let lastCount = sum(app.status());
  let lastAt = process.hrtime.bigint();
  return () => {
    const now = process.hrtime.bigint();
    const count = sum(app.status());
    const secs = Number(now - lastAt) / 1e9;
    const rate = secs > 0 ? (count - lastCount) / secs : 0;
    lastCount = count;
    lastAt = now;
    const lag = Math.max(0, rt.beat - 1 - rt.durableBeat);
    return `beat ${rt.beat - 1} | ${Math.round(rate)} impulses/s | durable lag ${lag} | store ${megabytes(rt.persist.engine.stats().bytes)}`;
  };
}

/** Queues a tick of work every `--interval`; after `--ticks` ticks, flushes and stops. */
function startTicking(rt: PersistentRuntime, app: ExampleApp, o: RunOptions, stop: Stop): ReturnType<typeof setInterval> {
  const perTick = Math.max(0, Math.round((o.rate * o.intervalMs) / 1000));
  let ticks = 0;
  return setInterval(() => {
    if (o.ticks > 0 && ticks >= o.ticks) {
      void rt.flush().then(
        () => stop('ticks', 0),
        () => stop('ticks', 1),
      );
      return;
    }
    app.tick(perTick);
    ticks++;
  }, o.intervalMs);
}

/** A heartbeat error (a failed beat) stops the run cleanly. */
function watchHeartbeat(rt: PersistentRuntime, err: (s: string) => void, stop: Stop, stopping: () => boolean): void {
  const watch = setInterval(() => {
    if (rt.heartbeat.lastError !== undefined) {
      err(`cep run: the heartbeat stopped: ${(rt.heartbeat.lastError as Error)?.message ?? String(rt.heartbeat.lastError)}`);
      clearInterval(watch);
      void stop('error', 1);
    }
    if (stopping()) clearInterval(watch);
  }, 100);
}

/**
 * Stops the heartbeat, runs the work already queued (so nothing is lost), closes the store and
 * says the final state; the exit code is 1 when the store did not close cleanly or the check fails.
 */
async function shutDown(rt: PersistentRuntime, app: ExampleApp, why: string, code: number, out: (s: string) => void, err: (s: string) => void): Promise<number> {
  let exit = code;
  try {
    rt.heartbeat.stop();
    await drain(rt);
    await rt.close();
  } catch (e) {
    err(`cep run: the store did not close cleanly: ${(e as Error)?.message ?? String(e)}`);
    exit = 1;
  }
  const c = app.check();
  out(
    `stopped (${why}) beat=${rt.beat - 1} durable=${rt.durableBeat} total=${c.total} expected=${c.expected} ok=${c.ok} fingerprint=${c.fingerprint ?? '-'} ${Object.entries(app.status())
      .map(([k, v]) => `${k}=${v}`)
      .join(' ')}`,
  );
  if (!c.ok) exit = 1;
  return exit;
}

/** Run beats until nothing is queued, waiting for the writer when it asks for it. */
async function drain(rt: PersistentRuntime): Promise<void> {
  for (;;) {
    try {
      rt.run();
      return;
    } catch (e) {
      if ((e as { code?: string })?.code !== 'ERR_BEAT_NOT_READY') throw e;
      await rt.flush();
    }
  }
}

function sum(s: Record<string, number>): number {
  let n = 0;
  for (const v of Object.values(s)) n += v;
  return n;
}
