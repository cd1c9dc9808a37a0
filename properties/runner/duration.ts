/**
 * Durations for `--time`: a whole number followed by a unit, `90s`, `30m`, `2h` (or a sum such as
 * `1h30m`), the way people write budgets in CI configurations.
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

/** `ms` for people: `45s`, `2m05s`, `1h02m`. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
