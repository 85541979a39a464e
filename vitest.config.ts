import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // Says once when the OGC schemas some tests need are missing (those tests are then skipped).
    globalSetup: ['test/helpers/ogc-notice.ts'],
  },
});
