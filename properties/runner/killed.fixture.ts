/**
 * Not a suite of the product: the fixture of the runner's tests of a test worker killed by a signal
 * (`signalSafeForks.test.ts`). Its one test ends its own worker by SIGKILL, as the kernel's
 * out-of-memory killer would; run only by those tests (`Batch.include`). They also run it with a
 * preload that kills the worker as it starts, before this file is loaded.
 */
import { test } from 'vitest';

test('is killed as it runs', () => {
  process.kill(process.pid, 'SIGKILL');
});
