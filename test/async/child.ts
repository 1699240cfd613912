/**
 * Runs a TypeScript entry in a child process: its types stripped by esbuild, its `@src/` imports
 * pointed at the compiled dist/ (where worker threads find their modules), the addon loaded by path.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSync } from 'esbuild';

const root = new URL('../..', import.meta.url).pathname;
const addon = join(root, 'build', 'Release', 'cep.node');

export interface ChildResult {
  status: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Compiles `source` (TS importing from `@src/...js`) into `dir` and runs it with `env`. */
export function runChild(dir: string, source: string, env: Record<string, string>, timeoutMs = 20_000): ChildResult {
  const entry = join(dir, 'entry.ts');
  writeFileSync(
    entry,
    source.replace(/@src\/([\w/.-]+?)\.[jt]s(?=['"])/g, (_, file: string) => join(root, 'dist', `${file}.js`)),
  );
  const out = join(dir, 'entry.mjs');
  buildSync({ entryPoints: [entry], bundle: false, platform: 'node', format: 'esm', outfile: out, logLevel: 'silent' });
  const started = process.hrtime.bigint();
  const native = process.env.CEP_NATIVE !== '0' && existsSync(addon);
  const r = spawnSync(process.execPath, [out], {
    env: { ...process.env, ...(native ? { CEP_NATIVE_PATH: addon } : { CEP_NATIVE: '0' }), ...env },
    encoding: 'utf8',
    timeout: timeoutMs,
  });
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr, ms: Number(process.hrtime.bigint() - started) / 1e6 };
}
