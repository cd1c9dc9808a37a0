/**
 * Time in an installation. The KMS relies on monotonic time (life-cycle transitions are stamped and
 * compared), so a session refuses to run at a time before the last recorded one (`ClockWentBack`):
 * neither `installation.json`'s `lastTime` nor what a device's sealed database last recorded.
 * `--at` sets the time of one session; in `manual` clock mode time stands still between sessions
 * until moved; in `system` mode it follows the host's clock, never going back within a session.
 * @module
 */
import type { Clock } from '../kms/clock.ts';
import { INSTALLATION_FILE } from './installationConfig.ts';
import type { InstallationConfig } from './installationConfig.ts';
import { InstallationError } from './installationError.ts';

/** The latest time an installation takes: the end of the year 9999, the last one ISO 8601 writes in four digits. */
export const LATEST_TIME_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/**
 * `spec` resolved against `base` (the last recorded time, or the host's time at init).
 * @throws InstallationError `TimeOutOfRange` past {@link LATEST_TIME_MS} (only a relative time can be).
 */
export function resolveTime(spec: TimeSpec, base: number): number {
  const t = spec.kind === 'absolute' ? spec.ms : base + spec.ms;
  if (t > LATEST_TIME_MS)
    throw new InstallationError(
      'TimeOutOfRange',
      `--at names ${new Date(base).toISOString()} + ${+(spec.ms / 86_400_000).toFixed(3)} days, after the end ` +
        'of the year 9999',
    );
  return t;
}

/** A time given on the command line: absolute, or relative to the last recorded time. */
export type TimeSpec =
  | { readonly kind: 'absolute'; readonly ms: number }
  | { readonly kind: 'relative'; readonly ms: number };

/** A clock that never goes back and remembers the latest time it gave. */
export interface SessionClock extends Clock {
  readonly latest: number;
}

/**
 * The session's time against the latest time a device's sealed database records (`what`): the
 * admin's last audited operation, a user's last applied update. `installation.json`'s `lastTime` is
 * a file anyone can edit or restore from an old backup, and a session before what the database
 * holds would stamp key events and audit entries back in time, or (a user) take the latest
 * heartbeat for one dated ahead of its clock.
 * @throws InstallationError `ClockWentBack`.
 */
export function requireTimeAfter(recorded: number, now: number, what: string): void {
  if (now >= recorded) return;
  throw new InstallationError(
    'ClockWentBack',
    `this session's time ${new Date(now).toISOString()} is before ${what}, ` +
      `${new Date(recorded).toISOString()}: time only moves forward; if ${INSTALLATION_FILE} was restored or ` +
      'edited, its lastTime is behind: fix the clock, or on a manual clock give --at after that time',
  );
}

/** A clock starting at `start`: fixed, or following `host` without ever going back. */
export function sessionClock(start: number, host: Clock | null): SessionClock {
  let latest = start;
  return {
    now: () => {
      if (host !== null) latest = Math.max(latest, host.now());
      return latest;
    },
    get latest() {
      return latest;
    },
  };
}

/**
 * The clock of one session (`installation.json` as the session found it): `at` (`--at`) resolved
 * against the last recorded time; in `manual` mode the last recorded time; else `host`.
 * @throws InstallationError `ClockWentBack` when that time is before the last recorded one;
 *   `TimeOutOfRange` past {@link LATEST_TIME_MS}.
 */
export function startSessionClock(config: InstallationConfig, at: TimeSpec | undefined, host: Clock): SessionClock {
  if (at !== undefined) {
    const t = resolveTime(at, config.lastTime);
    if (t < config.lastTime) {
      throw new InstallationError(
        'ClockWentBack',
        `--at ${new Date(t).toISOString()} is before the last recorded time ` +
          `${new Date(config.lastTime).toISOString()}: time only moves forward`,
      );
    }
    return sessionClock(t, null);
  }
  if (config.clock === 'manual') return sessionClock(config.lastTime, null);
  const now = host.now();
  if (now < config.lastTime) {
    throw new InstallationError(
      'ClockWentBack',
      `the system clock (${new Date(now).toISOString()}) is behind the last recorded time ` +
        `${new Date(config.lastTime).toISOString()}: fix the clock, or wait`,
    );
  }
  return sessionClock(now, host);
}
