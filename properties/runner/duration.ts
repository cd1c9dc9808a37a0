/**
 * Durations for `--time`: a whole number followed by a unit, `90s`, `30m`, `2h` (or a sum such as
 * `1h30m`), the way people write budgets in CI configurations (printed back by `formatElapsed`,
 * `impl/cli/progressView.ts`).
 * @module
 */

const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000 } as const;

/** Milliseconds in `text` (`90s`, `30m`, `2h`, `1h30m`); null when it is not such a duration or is zero. */
export function parseDuration(text: string): number | null {
  const trimmed = text.trim();
  if (!/^(\d+[smh])+$/.test(trimmed)) return null;
  let ms = 0;
  for (const [, amount, unit] of trimmed.matchAll(/(\d+)([smh])/g)) {
    ms += Number(amount) * UNIT_MS[unit as keyof typeof UNIT_MS];
  }
  return ms > 0 && Number.isSafeInteger(ms) ? ms : null;
}
