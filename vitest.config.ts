import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['{core,gateway,media,workers,sdk,web-client,bin,test}/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // expect.poll's 1 s default is shorter than a browser round trip on a loaded CI machine.
    expect: { poll: { timeout: 10_000 } },
    // .ci/run asks for a JSON report too, to print the pass/fail counts as its closing line.
    reporters: process.env['VITEST_JSON_OUT'] ? ['default', 'json'] : ['default'],
    ...(process.env['VITEST_JSON_OUT'] ? { outputFile: { json: process.env['VITEST_JSON_OUT'] } } : {}),
  },
});
