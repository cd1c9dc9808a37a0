/**
 * Not a suite of the product: the fixture of the runner's end-to-end test of a stop while a property
 * shrinks (`runBatch.e2e.test.ts`). One property that fails from 1000 up and takes a tenth of a
 * second a run, so that its shrinking lasts seconds; run only by that test (`Batch.include`).
 */
import fc from 'fast-check';
import { test } from 'vitest';
import { PropertyProgress } from '../progress.testkit.ts';

const progress = new PropertyProgress('fixture');

test('fails from 1000 up, slowly', async () => {
  await progress.assert(
    fc.asyncProperty(fc.integer({ min: 0, max: 1_000_000 }), async (n) => {
      await new Promise((resolve) => setTimeout(resolve, 100));
      progress.ran(1);
      return n < 1000;
    }),
    progress.params(100),
  );
});
