import { defineConfig } from 'vitest/config';

// The soak tests (`test/**/*.soak.test.ts`: the long versions of some tests), native and
// fallback as in vitest.config.ts: `npm run test:soak`.
export default defineConfig({
  test: {
    testTimeout: 600_000,
    projects: [
      {
        test: { name: 'native', include: ['test/**/*.soak.test.ts'], env: { CEP_NATIVE: '1' }, testTimeout: 600_000 },
      },
      {
        test: { name: 'fallback', include: ['test/**/*.soak.test.ts'], env: { CEP_NATIVE: '0' }, testTimeout: 600_000 },
      },
    ],
  },
});
