/**
 * Durations for `--time`: a whole number followed by a unit, `90s`, `30m`, `2h` (or a sum such as
 * `1h30m`, units largest first, each part below the next unit up), the way people write budgets in CI
 * configurations (printed back by `formatElapsed`, `impl/cli/progressView.ts`). The runner's own: the
 * `sekey` command's durations (`impl/cli/durations.ts`) are one part each, in days down to milliseconds.
 * @module
 */

const UNIT_MS = { h: 3_600_000, m: 60_000, s: 1_000 } as const;
type Unit = keyof typeof UNIT_MS;
/** Units largest first: the order a sum is written in. */
const UNITS = Object.keys(UNIT_MS) as Unit[];
/** What a part after a larger unit must stay below (the unit above it), in ms and in words. */
const BELOW: Readonly<Record<Unit, { readonly ms: number; readonly words: string }>> = {
  h: { ms: Number.POSITIVE_INFINITY, words: '' },
  m: { ms: UNIT_MS.h, words: 'an hour' },
  s: { ms: UNIT_MS.m, words: 'a minute' },
};

/** The parts of `text` (`1h30m` → 1 h, 30 m); null when it is not digits and units throughout. */
function partsOf(text: string): Part[] | null {
  const trimmed = text.trim();
  if (!/^(\d+[smh])+$/.test(trimmed)) return null;
  return [...trimmed.matchAll(/(\d+)([smh])/g)].map(([part, amount, unit]) => ({
    amount: Number(amount),
    unit: unit as Unit,
    text: part as string,
  }));
}

type Part = { readonly amount: number; readonly unit: Unit; readonly text: string };

/** Milliseconds the parts add up to. */
function msOf(parts: readonly Part[]): number {
  return parts.reduce((a, p) => a + p.amount * UNIT_MS[p.unit], 0);
}

/** `ms` written as `--time` takes it, units largest first, no part of zero: 9,000,000 → `2h30m`. */
export function writeDuration(ms: number): string {
  let left = ms;
  let out = '';
  for (const unit of UNITS) {
    const amount = Math.floor(left / UNIT_MS[unit]);
    left -= amount * UNIT_MS[unit];
    if (amount > 0) out += `${amount}${unit}`;
  }
  return out;
}

/**
 * Why `text`, a sum of parts, is not written as a duration is (`1h90m`: 90m is an hour or more; `30m1h`:
 * units out of order), with how to write it; null when it is not such a sum, or is written well. A part
 * alone may be as large as it likes (`90m`, `90s`): that is how budgets are often given.
 */
export function durationAdvice(text: string): string | null {
  const parts = partsOf(text);
  if (parts === null || parts.length < 2) return null;
  const ms = msOf(parts);
  if (!Number.isSafeInteger(ms) || ms === 0) return null;
  const written = writeDuration(ms);
  const order = parts.map((p) => UNITS.indexOf(p.unit));
  if (order.some((u, i) => i > 0 && u <= (order[i - 1] as number)))
    return `'${text.trim()}' has its units out of order or twice: write ${written} (largest first, once each)`;
  // After the first part, each is below the unit above it (60m is an hour, 60s a minute).
  const over = parts.slice(1).find((p) => p.amount * UNIT_MS[p.unit] >= BELOW[p.unit].ms);
  return over === undefined ? null : `${over.text} is ${BELOW[over.unit].words} or more: write ${written}`;
}

/**
 * Milliseconds in `text` (`90s`, `30m`, `2h`, `1h30m`); null when it is not such a duration, is zero, or
 * is a sum not written as one ({@link durationAdvice} says why).
 */
export function parseDuration(text: string): number | null {
  const parts = partsOf(text);
  if (parts === null || durationAdvice(text) !== null) return null;
  const ms = msOf(parts);
  return ms > 0 && Number.isSafeInteger(ms) ? ms : null;
}
