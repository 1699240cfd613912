import { defineConfig } from 'vitest/config';

// The soak tests (test/**/*.soak.test.ts): long runs kept out of `npm test`; `npm run test:soak`.
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
