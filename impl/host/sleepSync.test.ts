import { expect, test } from 'vitest';
import { sleepSync } from './sleepSync.ts';

test('sleepSync blocks the thread for the time asked: a timer due meanwhile runs only after it', async () => {
  const order: string[] = [];
  const timer = new Promise<void>((resolve) =>
    setTimeout(() => {
      order.push('timer');
      resolve();
    }, 0),
  );
  const start = performance.now();
  sleepSync(20);
  order.push('slept');
  // A lower bound only (a busy machine may sleep longer); the timer could not run in between.
  expect(performance.now() - start).toBeGreaterThanOrEqual(19);
  await timer;
  expect(order).toEqual(['slept', 'timer']);
});
