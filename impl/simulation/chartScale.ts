/**
 * Axes of the report's charts: round tick values and numbers written for people, with their units
 * (bytes in IEC binary multiples, IEC 80000-13; seconds in SI submultiples).
 * @module
 */

/**
 * Round ticks from 0 to at least `max`: about `count` steps of 1, 2 or 5 times a power of ten (the
 * steps of Heckbert, "Nice numbers for graph labels", Graphics Gems, 1990), of at least `minStep`
 * (1 for counts: no tick at half a key). A zero or negative `max` still gives an axis, 0 to 1.
 */
export function niceTicks(max: number, count = 5, minStep = 0): number[] {
  const top = Number.isFinite(max) && max > 0 ? max : 1;
  const rough = Math.max(top / count, minStep);
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = ([1, 2, 5, 10].find((m) => m * power >= rough) ?? 10) * power;
  const ticks: number[] = [];
  for (let i = 0; ticks.length === 0 || (ticks.at(-1) as number) < top - 1e-9 * step; i++) ticks.push(i * step);
  return ticks.map((t) => Number(t.toPrecision(12)));
}

/** Integer ticks over days `1..days` (at most about `count`), always including day 1. */
export function dayTicks(days: number, count = 8): number[] {
  if (days <= 1) return [1];
  const step = niceTicks(days - 1, count)[1] ?? 1;
  const whole = Math.max(1, Math.round(step));
  const ticks = [1];
  for (let d = whole; d <= days; d += whole) if (d > 1) ticks.push(d);
  return ticks;
}

/** `n` with thousands separators and at most `decimals` decimals: `12,345`, `0.25`. */
export function formatNumber(n: number, decimals = 2): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: decimals });
}

/**
 * `n` and its noun, singular for exactly one: `1 day`, `12,345 users`; `plural` for a noun an s does
 * not make plural (`count(2, 'batch', 'batches')`). The one way the project writes a count in words.
 */
export function count(n: number, noun: string, plural = `${noun}s`): string {
  return `${formatNumber(n)} ${n === 1 ? noun : plural}`;
}

/** A tick label: `950`, `12k`, `3.5M`. */
export function formatTick(n: number): string {
  const abs = Math.abs(n);
  if (abs >= 1e9) return `${formatNumber(n / 1e9, 1)}G`;
  if (abs >= 1e6) return `${formatNumber(n / 1e6, 1)}M`;
  if (abs >= 1e4) return `${formatNumber(n / 1e3, 1)}k`;
  return formatNumber(n, 2);
}

/** A unit and the divisor that expresses values in it. */
export interface Unit {
  readonly name: string;
  readonly divisor: number;
}

/** The binary byte unit in which `max` bytes reads best (B, KiB, MiB, GiB). */
export function byteUnit(max: number): Unit {
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let i = 0;
  while (i < units.length - 1 && max >= 1024 ** (i + 1)) i++;
  return { name: units[i] as string, divisor: 1024 ** i };
}

/** `bytes` in its best binary unit: `812 B`, `1.4 MiB`. */
export function formatBytes(bytes: number): string {
  const unit = byteUnit(bytes);
  return `${formatNumber(bytes / unit.divisor, unit.divisor === 1 ? 0 : 1)} ${unit.name}`;
}

/** The unit in which `max` seconds reads best (s, ms, µs). */
export function secondUnit(max: number): Unit {
  if (max >= 1) return { name: 's', divisor: 1 };
  if (max >= 1e-3) return { name: 'ms', divisor: 1e-3 };
  return { name: 'µs', divisor: 1e-6 };
}

/** `seconds` in its best unit, three significant digits: `2.35 s`, `41.2 ms`. */
export function formatSeconds(seconds: number): string {
  const unit = secondUnit(seconds);
  const value = seconds / unit.divisor;
  return `${formatNumber(Number(value.toPrecision(3)), 3)} ${unit.name}`;
}
