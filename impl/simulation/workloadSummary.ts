/**
 * Each profile in one line, made from its rates in `workload.ts` so that `sekey simulate --help`
 * and the README (whose profile lines a test compares with these) cannot drift from what the engine
 * runs: what the profile is for, then its rates (all of them for `default`, the ones that differ
 * from `default` for the others).
 * @module
 */
import type { SimulationProfile } from './simulationReport.ts';
import { WORKLOADS } from './workload.ts';
import type { Workload } from './workload.ts';

/** What each profile is for, before its rates. */
const PURPOSE: Readonly<Record<SimulationProfile, string>> = {
  default: 'an office at work',
  'rotation-heavy': 'keys created, activated, retired and destroyed more often',
  churn: 'people join and leave teams and the organisation, devices are lost and replaced',
  hostile: 'an adversary on the share and the SD cards (each attack must be refused), power cuts',
};

const percent = (share: number): string => `${Math.round(share * 100)} %`;

/** Each rate in words, in `Workload`'s order. */
const RATES: ReadonlyArray<(w: Workload) => string> = [
  (w) => `${w.cryptoperiodDays}-day cryptoperiods`,
  (w) => `deactivated keys kept ${w.retentionDays} days`,
  (w) => `${w.messagesPerUserDay} messages a user a day`,
  (w) => `${w.membershipChangesPerDay} membership changes a day`,
  (w) => `${percent(w.turnoverPer30Days)} staff turnover a month`,
  (w) => `${w.compromisesPerYear} keys compromised a year`,
  (w) => `${w.deviceLossesPerUserYear} lost devices a user a year`,
  (w) => `${percent(w.lateSyncers)} of users sync every 2–4 days`,
  (w) => `${percent(w.staleSyncers)} every 9–12 days`,
  (w) => `${w.attacksPerDay} attacks a day`,
  (w) => `${w.powerCutsPerDay} power cuts armed a day`,
];

/** `profile` in one line: its purpose and its rates (means; `docs/simulation.md` has the table). */
export function workloadSummary(profile: SimulationProfile): string {
  const base = WORKLOADS.default;
  const mine = WORKLOADS[profile];
  const rates = RATES.map((say) => [say(mine), say(base)] as const);
  if (profile === 'default') {
    // Rates of zero (no attacks, no power cuts) go without saying in an office.
    const said = rates.map(([s]) => s).filter((s) => !/^0 /.test(s));
    return `${PURPOSE[profile]}; ${said.join(', ')}`;
  }
  const changed = rates.filter(([s, d]) => s !== d).map(([s]) => s);
  return `${PURPOSE[profile]}; as default, with ${changed.join(', ')}`;
}
