import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (pkg: string) => fileURLToPath(new URL(`./packages/${pkg}/src/index.ts`, import.meta.url));

export default defineConfig({
  resolve: {
    alias: {
      '@sparsenet/kernels-wgsl': src('kernels-wgsl'),
      // Before '@sparsenet/tensor', which would otherwise match it as a prefix.
      '@sparsenet/tensor/conformance': fileURLToPath(new URL('./packages/tensor/src/conformance.ts', import.meta.url)),
      '@sparsenet/tensor': src('tensor'),
      '@sparsenet/sparsenet': src('sparsenet'),
      '@sparsenet/viz': src('viz'),
    },
  },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'web/test/**/*.test.ts', 'bench/test/**/*.test.ts'],
    // One CPU Vulkan driver on two cores: files run one at a time, each in its own process with one device.
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Runs in tests keep a tuning cache of their own, empty at the start of each `vitest run`, apart from the
    // user's (~/.cache/sparsenet), so that no earlier run decides what a test measures.
    env: { SPARSENET_CHECK: '1', SPARSENET_CACHE_DIR: process.env.SPARSENET_CACHE_DIR ?? mkdtempSync(join(tmpdir(), 'sparsenet-test-cache-')) },
  },
});
