import { availableParallelism } from 'node:os';
import { configDefaults, defineConfig, type TestProjectInlineConfiguration } from 'vitest/config';

// The whole suite runs twice: once on the native addon, once on the pure-TS fallback
// (CEP_NATIVE=0). Tests that compare the two halves byte for byte load both explicitly.
// An explicit CEP_NATIVE in the environment runs only that half: `CEP_NATIVE=0 npm test` is the
// fallback alone, like `npm run test:fallback` (`npm run test:native`: the addon alone).
// Long soaks (`*.soak.test.ts`) are left out: `npm run test:soak` runs them (vitest.soak.config.ts).
export const SOAK = 'test/**/*.soak.test.ts';

/** One project per half, or only the half an explicit CEP_NATIVE names. */
export function modeProjects(test: { include: string[]; exclude?: string[]; testTimeout: number; hookTimeout: number }): TestProjectInlineConfiguration[] {
  const asked = process.env.CEP_NATIVE;
  const modes = [
    { name: 'native', native: '1' },
    { name: 'fallback', native: '0' },
  ].filter((m) => asked === undefined || asked === '' || m.native === (asked === '0' ? '0' : '1'));
  return modes.map((m) => ({ test: { name: m.name, ...test, env: { CEP_NATIVE: m.native } } }));
}

export default defineConfig({
  test: {
    // worker modules and the CLI run from dist/: build it first when stale
    globalSetup: ['test/setup/build.ts'],
    // Many tests wait on child processes, worker threads and the disk: two files at a time keep
    // both cores of a small machine busy (vitest's default there is one).
    maxWorkers: Math.max(2, availableParallelism() - 1),
    // Timeouts only catch hangs (no test asserts on time): a loaded machine is slow, not broken.
    projects: modeProjects({ include: ['test/**/*.test.ts'], exclude: [...configDefaults.exclude, SOAK], testTimeout: 60_000, hookTimeout: 60_000 }),
  },
});
