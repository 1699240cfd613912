import { defineConfig } from 'vitest/config';

// The soak tests (test/**/*.soak.test.ts): long versions of tests the normal suite runs short.
// Both halves, like vitest.config.ts.
export default defineConfig({
  test: {
    projects: [
      {
        test: { name: 'native', include: ['test/**/*.soak.test.ts'], env: { CEP_NATIVE: '1' } },
      },
      {
        test: { name: 'fallback', include: ['test/**/*.soak.test.ts'], env: { CEP_NATIVE: '0' } },
      },
    ],
  },
});
