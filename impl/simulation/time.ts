/**
 * Simulated time: the deployment runs on a manual clock (`impl/kms/clock.ts`) moved in whole
 * milliseconds since the Unix epoch (UTC), as every `now` of the model.
 * @module
 */

/** One hour in milliseconds. */
export const HOUR_MS = 3_600_000;
/** One day in milliseconds (UTC days have no leap seconds in ECMAScript time, ECMA-262 §21.4.1.1). */
export const DAY_MS = 24 * HOUR_MS;

/** The `YYYY-MM-DD` date of a time (UTC). */
export function isoDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}
