/**
 * How the shared checkers' invariants (`invariantError.ts`, ten names, the property suite's) are reported
 * under the simulation's six (`SIMULATION_INVARIANTS`):
 * - `forward-secrecy` and `backward-secrecy` are need-to-know over time (a message read by someone
 *   who was not in its group when it was sent), so they count as `need-to-know`;
 * - `model-agreement` (the admin's database and HSM hold what the model says) and `durability` (a
 *   power cut loses nothing committed) count as `integrity`: nothing the system committed was lost or
 *   altered.
 * @module
 */
import type { InvariantName } from './invariantError.ts';
import type { SimulationInvariant } from './simulationReport.ts';

const AS_SIMULATION: Readonly<Record<InvariantName, SimulationInvariant>> = {
  'key-secrecy': 'key-secrecy',
  'need-to-know': 'need-to-know',
  'forward-secrecy': 'need-to-know',
  'backward-secrecy': 'need-to-know',
  readability: 'readability',
  'smallest-group': 'smallest-group',
  integrity: 'integrity',
  'model-agreement': 'integrity',
  durability: 'integrity',
  convergence: 'convergence',
};

/** The simulation's name for a checker's invariant. */
export function simulationInvariantOf(name: InvariantName): SimulationInvariant {
  return AS_SIMULATION[name];
}
