/**
 * The shape of `sekey simulate`'s `report.json`: what a simulated deployment did, day by day, what it
 * cost the devices, and what the invariant checkers found. `report.html` is rendered from this alone,
 * so everything a chart shows is here.
 *
 * Determinism: apart from {@link SimulationReport.host}, a report is a pure function of its
 * {@link SimulationConfig} (the same seed gives the same bytes).
 *
 * @module
 */
import type { KeyState } from '../../model/keyLifecycle.ts';

/** Version of this schema; bump on any incompatible change. */
export const SIMULATION_REPORT_SCHEMA = 4;

/** The workload profiles. */
export const SIMULATION_PROFILES = ['default', 'rotation-heavy', 'churn', 'hostile'] as const;
/** A workload profile's name. */
export type SimulationProfile = (typeof SIMULATION_PROFILES)[number];

/** The invariants checked at every simulated day (the deployment property suite's checkers). */
export const SIMULATION_INVARIANTS = [
  'key-secrecy',
  'need-to-know',
  'readability',
  'smallest-group',
  'integrity',
  'convergence',
] as const;
/** An invariant checked by the simulation. */
export type SimulationInvariant = (typeof SIMULATION_INVARIANTS)[number];

/** What the run was asked to do. */
export interface SimulationConfig {
  readonly users: number;
  readonly groups: number;
  readonly days: number;
  readonly seed: number;
  readonly profile: SimulationProfile;
  /** Simulated start, ISO 8601 (UTC). */
  readonly start: string;
}

/** Update traffic (published by the admin, applied by users' HSMs). */
export interface UpdateTraffic {
  readonly filesPublished: number;
  readonly bytesPublished: number;
  readonly filesApplied: number;
  readonly bytesApplied: number;
}

/** One simulated day. Counts are for that day unless named as a state at its end. */
export interface SimulationDay {
  /** 1-based day number. */
  readonly day: number;
  /** Simulated date, ISO 8601 `YYYY-MM-DD`. */
  readonly date: string;
  /** Keys by NIST SP 800-57 state at the end of the day (admin's database). */
  readonly keysByState: Readonly<Record<KeyState, number>>;
  /** Operations run that day, by kind (e.g. `add-key`, `encrypt`, `sync`, `attack:replay`). */
  readonly operations: Readonly<Record<string, number>>;
  readonly updates: UpdateTraffic;
  /** Refused operations that day, by error code (e.g. `UsageNotAllowed`, `KeyUnavailable`). */
  readonly refusals: Readonly<Record<string, number>>;
  /** Users whose replica is stale at the end of the day. */
  readonly staleUsers: number;
  /** Modelled HSM cycles spent that day, by operation kind (all devices). */
  readonly hsmCycles: Readonly<Record<string, number>>;
  /**
   * Flash sector erases that day, by device name, one number per sector (index = sector); a device
   * that erased nothing that day is left out (since schema 2).
   */
  readonly flashErases: Readonly<Record<string, readonly number[]>>;
  /** Invariant violations found that day. */
  readonly violations: number;
}

/** A device's flash wear at the end of the run. */
export interface DeviceWear {
  /** `admin`, or the user ID (`U3`), with a suffix when a user's device was replaced (`U3#2`). */
  readonly device: string;
  readonly role: 'admin' | 'user';
  /** Lifetime erase count per sector, index = sector (STM32F429: 24 sectors). */
  readonly sectorErases: readonly number[];
  /**
   * Sectors of 512 bytes written to its SD cards during the run (a replaced card's included), as its
   * cycle meter counted them: what a card's write endurance has to take. Added in schema 2.
   */
  readonly sdSectorsWritten: number;
}

/** One invariant violation; the run goes on after it. */
export interface ViolationDetail {
  readonly day: number;
  readonly date: string;
  /** The operation after which the check failed (as `describe` prints it). */
  readonly operation: string;
  readonly invariant: SimulationInvariant;
  readonly detail: string;
}

/**
 * How the smallest-group checks judged the encryptions and re-protections they ran (since schema 3),
 * so that a reader can tell how much of that invariant was judged exactly. A sender's position is
 * taken as it acts: `synced`, a sender whose replica is the model's projection and whose HSM holds
 * its keys, judged by the model's state now; `behind`, a sender behind the model, judged by the same
 * rules over what was published to it up to the update it applied last (within the freshness window
 * for an encryption); `heartbeatOnly`, a sender behind the model judged by the heartbeat rule alone
 * (an encryption past its window, or an update the model has no record of). A check that found a
 * violation is counted under the invariant only, so these add up to
 * `invariants['smallest-group'].checks` less at most its violations.
 */
export interface ProtectionsJudged {
  readonly synced: number;
  readonly behind: number;
  readonly heartbeatOnly: number;
}

/** The whole report. */
export interface SimulationReport {
  readonly schema: typeof SIMULATION_REPORT_SCHEMA;
  readonly tool: 'sekey simulate';
  readonly version: string;
  readonly config: SimulationConfig;
  /** The only part that varies between runs of the same config. */
  readonly host: { readonly startedAt: string; readonly wallSeconds: number };
  readonly totals: {
    readonly operations: number;
    readonly operationsByKind: Readonly<Record<string, number>>;
    readonly updates: UpdateTraffic;
    readonly refusals: Readonly<Record<string, number>>;
    readonly hsmCycles: Readonly<Record<string, number>>;
    /** Sum of `hsmCycles` / `clockHz`. */
    readonly hsmSeconds: number;
    readonly clockHz: number;
    /** Highest lifetime erase count of any sector of any device. */
    readonly maxSectorErases: number;
    /** Keys by state at the end of the run. */
    readonly keysByState: Readonly<Record<KeyState, number>>;
  };
  readonly days: readonly SimulationDay[];
  readonly flashWear: readonly DeviceWear[];
  /** Checks run and violations found, per invariant. */
  readonly invariants: Readonly<Record<SimulationInvariant, { readonly checks: number; readonly violations: number }>>;
  /** How the smallest-group checks judged each protection (since schema 3). */
  readonly protectionsJudged: ProtectionsJudged;
  readonly violations: number;
  readonly violationDetails: readonly ViolationDetail[];
  /**
   * Null when every configured day was simulated. Otherwise the run was asked to stop (`sekey
   * simulate` on Ctrl-C or SIGTERM, since schema 4) and ended after day `afterDay` of `config.days`:
   * `days` and every figure cover days 1 to `afterDay` only, without the closing convergence of
   * every device that follows the last day. Being deterministic, they are the first `afterDay` days
   * of the whole run's report.
   */
  readonly stoppedEarly: StoppedEarly | null;
}

/** Why and where a run ended before its last configured day. */
export interface StoppedEarly {
  /** What asked it to stop: the signal's name (`SIGINT`, `SIGTERM`). */
  readonly by: string;
  /** The last day simulated, from 1 to `config.days - 1`. */
  readonly afterDay: number;
}
