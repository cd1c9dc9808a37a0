/**
 * The workloads of `sekey simulate`: how a simulated organisation uses SEkey, per profile. Rates are
 * means; the engine draws each day's counts from the seeded PRNG (a rate of 2.3 gives 2 or 3). See
 * `docs/simulation.md` for the day's timetable.
 *
 * Per profile (cryptoperiod / retention; messages per user a day; membership changes a day; turnover
 * per 30 days; compromises a year; lost devices per user a year; late / stale users; attacks a day;
 * power cuts armed a day, see {@link Workload.powerCutsPerDay}):
 * - `default`:        30 d / 30 d; 1.5; 0.3; 5 %;  4; 0.5; 20 % / 10 %; 0; 0
 * - `rotation-heavy`:  7 d /  7 d; 1.5; 0.3; 5 %; 12; 0.5; 20 % / 10 %; 0; 0
 * - `churn`:          30 d / 30 d; 1.5; 2;   30 %; 4; 2;   20 % / 10 %; 0; 0
 * - `hostile`:        30 d / 30 d; 1.5; 0.3; 5 %; 12; 0.5; 20 % / 10 %; 2; 0.5
 *
 * The cryptoperiod of 30 days is within NIST SP 800-57 Part 1 Rev. 5 §5.3.6's recommendation for a
 * symmetric data-encryption key's originator-usage period ("up to two years"; shorter for high
 * volume); `rotation-heavy` takes a week, as an organisation with a high volume of traffic would.
 * The rest are the simulation's own assumptions (no published survey gives them): an office where
 * most people sync daily, a fifth every few days, a tenth rarely (they go stale: seven days without
 * acknowledging, `Publisher`'s default), and staff turnover of about 5 % a month.
 * @module
 */
import type { SimulationProfile } from './simulationReport.ts';

/** What one profile does, in rates (see the module's table). */
export interface Workload {
  /** Default (and maximum) cryptoperiod of every group's keys, in days. */
  readonly cryptoperiodDays: number;
  /**
   * How long a deactivated or compromised key is kept (its data still readable) before the admin
   * destroys it, in days, from its deactivation or compromise.
   */
  readonly retentionDays: number;
  /** Messages each user sends per day (mean). */
  readonly messagesPerUserDay: number;
  /** Members joining or leaving a team, per day, organisation-wide (mean). */
  readonly membershipChangesPerDay: number;
  /** Share of the staff that leaves (and is replaced by a new hire) every 30 days. */
  readonly turnoverPer30Days: number;
  /** Keys reported compromised per year, organisation-wide (mean). */
  readonly compromisesPerYear: number;
  /** Devices lost (and replaced) per user per year (mean). */
  readonly deviceLossesPerUserYear: number;
  /** Share of users who sync every 2–4 days. */
  readonly lateSyncers: number;
  /** Share of users who sync every 9–12 days (they go stale in between). */
  readonly staleSyncers: number;
  /** Attacks on the share or on SD cards per day (the property suite's attack kinds). */
  readonly attacksPerDay: number;
  /**
   * Power cuts armed per day, half on users' syncs and half on the admin's publication, each at a
   * random write (the 1st to the 6th) of the HSM's flash or its card. One happens only when the
   * operation writes that far (a sync with nothing to apply may write nothing), so fewer happen:
   * the report counts those that did (`power-cut:sync`, `power-cut:publish`).
   */
  readonly powerCutsPerDay: number;
}

const OFFICE: Workload = {
  cryptoperiodDays: 30,
  retentionDays: 30,
  messagesPerUserDay: 1.5,
  membershipChangesPerDay: 0.3,
  turnoverPer30Days: 0.05,
  compromisesPerYear: 4,
  deviceLossesPerUserYear: 0.5,
  lateSyncers: 0.2,
  staleSyncers: 0.1,
  attacksPerDay: 0,
  powerCutsPerDay: 0,
};

/** The workload of each profile. */
export const WORKLOADS: Readonly<Record<SimulationProfile, Workload>> = {
  default: OFFICE,
  'rotation-heavy': { ...OFFICE, cryptoperiodDays: 7, retentionDays: 7, compromisesPerYear: 12 },
  churn: { ...OFFICE, membershipChangesPerDay: 2, turnoverPer30Days: 0.3, deviceLossesPerUserYear: 2 },
  hostile: { ...OFFICE, compromisesPerYear: 12, attacksPerDay: 2, powerCutsPerDay: 0.5 },
};
