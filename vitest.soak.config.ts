import { defineConfig } from 'vitest/config';

// Long soak tests only (`npm run test:soak`): each measures something over minutes of beats.
export default defineConfig({
  test: {
    include: ['test/**/*.soak.test.ts'],
    testTimeout: 30 * 60 * 1000,
  },
});
