/**
 * Where a worker thread's module is. Worker modules are real TypeScript files, compiled by tsc
 * beside the rest; a worker loads the compiled JavaScript. Code running from the TypeScript
 * sources (the test runner) has no `.js` beside it, so its workers load the same module from
 * `dist/` (`npm test` builds it first).
 */
import { fileURLToPath, pathToFileURL } from 'node:url';
import { sep } from 'node:path';

/** The URL of the compiled module `relative` (e.g. `./ring-worker.js`) next to the module at `base`. */
export function compiledModuleUrl(relative: string, base: string): URL {
  const url = new URL(relative, base);
  if (!base.endsWith('.ts')) return url;
  const file = fileURLToPath(url);
  const at = file.lastIndexOf(`${sep}src${sep}`);
  return pathToFileURL(`${file.slice(0, at)}${sep}dist${sep}${file.slice(at + 5)}`);
}
