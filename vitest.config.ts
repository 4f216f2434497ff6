import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'connectors/**/*.test.ts', 'src/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Integration suites share the real PostgreSQL/MariaDB databases: one file at a time.
    fileParallelism: false,
    reporters: ['default', './test/helpers/summary-reporter.ts'],
    // Each file's scratch folders (test/helpers/temp-dir.ts) are removed when it ends; a query sent
    // on a busy PostgreSQL connection fails the test (pg-one-query.setup.ts).
    // The processes tests start run the compiled CLI: dist/ is built from the sources first.
    globalSetup: ['./test/helpers/build-dist.global.ts'],
    setupFiles: ['./test/helpers/cleanup.setup.ts', './test/helpers/pg-one-query.setup.ts'],
  },
});
