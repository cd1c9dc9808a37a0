/**
 * Typed values from command-line strings; each refusal is a usage error naming the argument.
 * @module
 */
import { PIN_MAX_BYTES, PIN_MIN_BYTES } from '../../device/pinHash.ts';
import { checkId, idForm } from '../../model/kms.ts';
import { parseDuration, parseTimeSpec } from './durations.ts';
import type { TimeSpec } from '../host/sessionClock.ts';
import { UsageError } from './args.ts';
import { utf8 } from '../../device/binaryCodec.ts';

/**
 * For a duration refused that is a bare number (`7`, or `+7` with `sign`): which units there are,
 * rather than a guess at one; '' for anything else.
 */
function unitHint(text: string, sign = ''): string {
  const n = text.trim();
  return /^\d+$/.test(n) ? ` (a unit is needed: ${sign}${n}d for days, ${sign}${n}ms for milliseconds)` : '';
}

/** A duration (`30d`, `12h`, `15m`, `90s`, `250ms`) in milliseconds. */
export function durationValue(text: string, what: string): number {
  const ms = parseDuration(text);
  if (ms === null) {
    const bare = unitHint(text);
    throw new UsageError(
      `${what} must be a positive duration like 30d, 12h, 15m, 90s or 500ms, of at most 100 years (36525d), ` +
        `got '${text}'${bare}`,
    );
  }
  return ms;
}

/** A positive integer. */
export function positiveInteger(text: string, what: string): number {
  const n = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < 1) throw new UsageError(`${what} must be a positive integer, got '${text}'`);
  return n;
}

/** A whole number of seconds, 0 to one day (`--wait`). */
export function secondsValue(text: string, what: string): number {
  const n = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(n) || n > 86_400)
    throw new UsageError(`${what} must be a whole number of seconds up to 86400, got '${text}'`);
  return n;
}

/** `--at`: ISO 8601, milliseconds since the epoch, or `+DURATION`. */
export function timeValue(text: string): TimeSpec {
  const spec = parseTimeSpec(text);
  // A relative time said as one: '+0d' and '+200000d' were told to be a date, a number or +7d.
  if (spec === null && text.startsWith('+')) {
    // '+7' is no duration for want of a unit, not of size.
    const bare = unitHint(text.slice(1), '+');
    throw new UsageError(
      `--at +DURATION must be a positive duration like +7d, +12h, +15m or +90s, of at most 100 years ` +
        `(+36525d), got '${text}'${bare}`,
    );
  }
  if (spec === null)
    throw new UsageError(
      `--at must be a real ISO 8601 date or time from 1970 to 9999 (2026-01-05T09:00Z), milliseconds since ` +
        `the epoch, or +DURATION (+7d), got '${text}'`,
    );
  return spec;
}

/**
 * A PIN the HSM can take: 4 to 64 bytes of UTF-8 (`device/pinHash.ts`). Checked here so that the
 * refusal names where the PIN came from (`--user-pin`, `$SEKEY_ADMIN_PIN`, the prompt), which the
 * HSM cannot; its length is not said, the PIN being a secret.
 */
export function pinValue(pin: string, what: string): string {
  const length = utf8(pin).length;
  if (length < PIN_MIN_BYTES || length > PIN_MAX_BYTES)
    throw new UsageError(`${what}: a PIN must be ${PIN_MIN_BYTES} to ${PIN_MAX_BYTES} bytes long (UTF-8)`);
  return pin;
}

/**
 * A list of IDs, separated by commas within an argument and given in one argument or several
 * (`U2,U3` or `U2 U3`), each once. At least one: an empty list (`--to ""`, `find-key ,`) is a mistake in the
 * command line, not a message for the sender alone, and is refused.
 */
export function idList(values: readonly string[]): string[] {
  // Each once, in the order first named: `--to U3,U3` is a message for U3.
  const ids = [...new Set(values.flatMap((v) => v.split(',')).filter((v) => v !== ''))];
  if (ids.length === 0) throw new UsageError(`no user ID in '${values.join(' ')}': name at least one (U2 or U2,U3)`);
  // Said as what it is: looked up as a user, a group ID read "U1 shares no group with G2".
  for (const id of ids) {
    if (checkId('user', id) === null) continue;
    const group =
      checkId('group', id) === null ? `: ${id} is a group, recipients are users (find-key --group ${id}: its key)` : '';
    throw new UsageError(`'${id}' is not a user ID (${idForm('user')})${group}`);
  }
  return ids;
}
