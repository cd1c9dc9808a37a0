/**
 * PLACEHOLDER — REPLACED BY THE ENGINE BRANCH (h-sim) AT MERGE. Take the engine's file whole.
 *
 * Only the interface of the simulation engine of issue 13, so that `sekey simulate` and the report
 * renderer typecheck on the report branch (h-simreport) while the engine is built on its own
 * branch. It simulates nothing: {@link runSimulation} throws.
 * @module
 */
import type { SimulationConfig, SimulationReport } from './simulationReport.ts';

/** How far a run is, after each simulated day. */
export interface SimulationProgress {
  readonly day: number;
  readonly days: number;
  readonly operations: number;
}

/** Hooks and labels of one run. */
export interface SimulationOptions {
  readonly onDay?: (progress: SimulationProgress) => void;
  readonly version?: string;
}

/** The configuration `sekey simulate` runs without options. */
export const DEFAULT_SIMULATION_CONFIG: SimulationConfig = {
  users: 12,
  groups: 4,
  days: 90,
  seed: 1,
  profile: 'default',
  start: '2026-01-01T00:00:00.000Z',
};

/** PLACEHOLDER: the engine branch implements it; here it refuses to pretend. */
export function runSimulation(_config: SimulationConfig, _options?: SimulationOptions): Promise<SimulationReport> {
  return Promise.reject(new Error('engine not merged'));
}
