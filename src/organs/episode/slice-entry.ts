/**
 * The module a slice ring's workers load for one slice module: `?module=<url>` names the
 * module whose functions are the slices, `&addon=<path>` the native addon whose per-thread CPU
 * clock times them (without it, the wall clock, as the fallback does on the runtime thread).
 */
import { createRequire } from 'node:module';
import { runSlice as run } from './slice-codec.js';

const query = new URL(import.meta.url).searchParams;
const mod = (await import(query.get('module')!)) as Record<string, unknown>;
const addon = query.get('addon');
const cpuMs: () => number =
  addon === null
    ? () => performance.now()
    : (
        (a: { threadCpuMs(): number }) => () =>
          a.threadCpuMs()
      )(createRequire(addon)(addon) as { threadCpuMs(): number });

/** Run one slice; the input is copied out of the shared ring first (the slice may keep what it reads). */
export function runSlice(input: Uint8Array): Uint8Array {
  return run(mod, input.slice(), cpuMs);
}
