/**
 * Vitest global setup: compile src/ into dist/ when dist/ is missing a file or older than its
 * source. Worker threads load their modules from dist/ (src/native/module-url.ts), and the CLI
 * and docs tests run dist/ in child processes, so a stale dist/ would test old code.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Whether some src/**.ts has no dist/**.js, or one newer than it. */
function stale(): boolean {
  const src = join(root, 'src');
  const files = fs.readdirSync(src, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'));
  return files.some((f) => {
    const out = join(root, 'dist', relative(src, join(src, f)).replace(/\.ts$/, '.js'));
    return !fs.existsSync(out) || fs.statSync(out).mtimeMs < fs.statSync(join(src, f)).mtimeMs;
  });
}

export default function setup(): void {
  if (!stale()) return;
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { cwd: root, stdio: 'inherit' });
}
