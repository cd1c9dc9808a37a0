/**
 * Not a suite of the product: the fixture of the runner's end-to-end test of a stop while a property
 * shrinks (`runBatch.e2e.test.ts`). One property that fails from 1000 up and takes a tenth of a
 * second a run, half a second once it has failed, so that its shrinking (some twenty runs) lasts
 * ten seconds or more: the tests stop it a few runs in, and on a busy machine the runner reads the
 * progress lines late (a shrinking of two seconds was over before the stop came); run only by those
 * tests (`Batch.include`).
 */
import fc from 'fast-check';
import { test } from 'vitest';
import { PropertyProgress } from '../progress.testkit.ts';

const progress = new PropertyProgress('fixture');
let failed = false;

test('fails from 1000 up, slowly', async () => {
  await progress.assert(
    fc.asyncProperty(fc.integer({ min: 0, max: 1_000_000 }), async (n) => {
      await new Promise((resolve) => setTimeout(resolve, failed ? 500 : 100));
      progress.ran(1);
      if (n >= 1000) failed = true;
      return n < 1000;
    }),
    progress.params(100),
  );
});
