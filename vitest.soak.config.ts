import { defineConfig } from 'vitest/config';
import { modeProjects, SOAK } from './vitest.config.js';

// `npm run test:soak`: the long versions (`test/**/*.soak.test.ts`) of tests the normal suite runs
// small, on both halves (or the one an explicit CEP_NATIVE names), one file at a time.
export default defineConfig({
  test: {
    // worker modules and the CLI run from dist/: build it first when stale
    globalSetup: ['test/setup/build.ts'],
    maxWorkers: 1,
    projects: modeProjects({ include: [SOAK], testTimeout: 3_600_000, hookTimeout: 600_000 }),
  },
});
