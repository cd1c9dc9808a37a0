/**
 * The progress line of `sekey simulate` on a terminal: a bar of the days simulated, the operations
 * per second so far, and the time left at that pace (the days left times the mean time of a day so
 * far: days differ, so it is an estimate). Short enough for an 80-column terminal.
 * @module
 */
import { formatElapsed } from './progressView.ts';

/** Cells of the bar. */
const BAR = 16;

/** `█` for each sixteenth done, `░` for the rest. */
export function progressBar(done: number, total: number): string {
  const filled = total <= 0 ? BAR : Math.min(BAR, Math.max(0, Math.floor((done / total) * BAR)));
  return `${'█'.repeat(filled)}${'░'.repeat(BAR - filled)}`;
}

/**
 * The line after `day` of `days` with `operations` run, `elapsedMs` after the start; `during` says
 * what the next day is doing when the line comes from within it.
 */
export function simulationProgressText(
  progress: { readonly day: number; readonly days: number; readonly operations: number; readonly during?: string },
  elapsedMs: number,
): string {
  const { day, days, operations, during } = progress;
  const seconds = elapsedMs / 1000;
  const rate = seconds > 0 ? Math.round(operations / seconds) : 0;
  const left = day > 0 ? `${formatElapsed((elapsedMs / day) * (days - day))} left` : 'time left unknown';
  return (
    `simulating ${progressBar(day, days)} day ${day.toLocaleString('en-US')}/${days.toLocaleString('en-US')}` +
    ` · ${rate.toLocaleString('en-US')} ops/s · ${left}` +
    (during === undefined ? '' : ` · day ${(day + 1).toLocaleString('en-US')}: ${during}`)
  );
}
