/**
 * Not a suite of the product: the fixture of the runner's test of a test worker killed by a signal
 * (`signalSafeForks.test.ts`). Its one test ends its own worker by SIGKILL, as the kernel's
 * out-of-memory killer would; run only by that test (`Batch.include`).
 */
import { test } from 'vitest';

test('is killed as it runs', () => {
  process.kill(process.pid, 'SIGKILL');
});
