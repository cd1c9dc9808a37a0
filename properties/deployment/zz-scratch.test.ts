import { test, vi } from 'vitest';
vi.mock('xstate', async (importOriginal) => {
  const x = await importOriginal<typeof import('xstate')>();
  const tap = await import('./xstateTap.testkit.ts');
  return {
    ...x,
    transition: tap.tapTransition(x.transition),
    initialTransition: tap.tapInitialTransition(x.initialTransition),
  };
});
import { runSuite } from './runner.testkit.ts';
test('explore long', async () => {
  const result = await runSuite({ suite: 'explore-long', ciRuns: 30, maxCommands: 150, statistics: false });
  console.log(result.stats.table());
  if (result.failure) throw new Error(result.failure.report);
}, 1_800_000);
