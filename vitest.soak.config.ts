import { defineConfig } from 'vitest/config';

// The soak tests (test/**/*.soak.test.ts): long versions of tests the normal suite runs short.
// Both halves, like vitest.config.ts; a soak test may take many minutes.
const SOAK_TIMEOUT = 30 * 60 * 1000;
export default defineConfig({
  test: {
    globalSetup: ['test/setup/build.ts'],
    projects: [
      {
        test: { name: 'native', include: ['test/**/*.soak.test.ts'], testTimeout: SOAK_TIMEOUT, env: { CEP_NATIVE: '1' } },
      },
      {
        test: { name: 'fallback', include: ['test/**/*.soak.test.ts'], testTimeout: SOAK_TIMEOUT, env: { CEP_NATIVE: '0' } },
      },
    ],
  },
});
