import { defineConfig } from 'vitest/config';

/** Runs the reproductions the deployment suite writes to reports/ (`*.repro.test.ts`). */
export default defineConfig({
  test: {
    include: ['reports/**/*.repro.test.ts'],
    testTimeout: 900_000,
  },
});
