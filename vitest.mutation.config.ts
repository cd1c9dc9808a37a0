import { defineConfig } from 'vitest/config';
import base from './vitest.config.ts';

/**
 * The vitest configuration StrykerJS runs (stryker.config.mjs): the repository's, without module
 * isolation between test files. Stryker switches mutants at run time (`__stryker__.activeMutant`), so
 * a module loaded once serves every mutant; static mutants, which would need a reload, are ignored
 * there. Re-importing every test file's modules for each of thousands of mutant runs cost about
 * half of each run's time on this machine. No JSON report: nothing reads it per mutant.
 */
export default defineConfig({
  ...base,
  test: { ...base.test, isolate: false, reporters: ['default'], outputFile: {} },
});
