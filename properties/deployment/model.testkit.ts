/**
 * The deployment suite's model: `impl/simulation/referenceModel.ts` run outside the xstate tap (its
 * steps are not the implementation's edges) and, for the secrecy mutants, under the broken rekey
 * rule of `brokenRekey.testkit.ts`. Test support only.
 * @module
 */
import type { UserId } from '../../model/kms.ts';
import { DeploymentModel } from '../../impl/simulation/referenceModel.ts';
import { applyWithoutRekey } from './brokenRekey.testkit.ts';
import type { Mutant } from './deployment.testkit.ts';
import { untapped } from './xstateTap.testkit.ts';

/**
 * The model of a suite run starting at `start`, against the broken variant `mutant` if any, its user
 * hosts' clocks off the admin's by `skews`.
 */
export function testModel(
  start: number,
  mutant?: Mutant,
  skews: Readonly<Record<UserId, number>> = {},
): DeploymentModel {
  const broken = { leave: mutant === 'noRekeyOnLeave', join: mutant === 'noRekeyOnJoin' };
  return new DeploymentModel(start, {
    pure: untapped,
    skews,
    ...(broken.leave || broken.join ? { applyOperation: (state, op) => applyWithoutRekey(state, op, broken) } : {}),
  });
}
