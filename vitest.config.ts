import { defineConfig } from 'vitest/config';

// The whole suite runs twice: once on the native addon, once on the pure-TS fallback
// (CEP_NATIVE=0). Tests that compare the two halves byte for byte load both explicitly. Soak
// tests (`*.soak.test.ts`, long versions) run only with `npm run test:soak` (vitest.soak.config.ts).
export default defineConfig({
  test: {
    projects: [
      {
        test: { name: 'native', include: ['test/**/*.test.ts'], exclude: ['test/**/*.soak.test.ts'], env: { CEP_NATIVE: '1' } },
      },
      {
        test: { name: 'fallback', include: ['test/**/*.test.ts'], exclude: ['test/**/*.soak.test.ts'], env: { CEP_NATIVE: '0' } },
      },
    ],
  },
});
