/**
 * The devices of test deployments. Test support only.
 * @module
 */
import { ADMIN_PIN, TEST_MANUFACTURER, USER_PIN } from '../../device/secube.testkit.ts';
import type { KmsOperation } from '../../model/kms.ts';
import { Deployment } from './deployment.ts';
import type { DeviceFactory } from './deployment.ts';
import { DeploymentModel } from './referenceModel.ts';
import { SimulationWorld } from './simulationWorld.ts';

/** The test devices: the test kit's PINs and manufacturer, 10 PBKDF2 iterations to keep runs fast. */
export const TEST_DEVICES: DeviceFactory = {
  userPin: USER_PIN,
  adminPin: ADMIN_PIN,
  manufacturer: TEST_MANUFACTURER,
  pinIterations: 10,
};

/**
 * A world of test devices at `start` with alice (U1) and bob (U2) added, provisioned and published
 * to: where the simulation's tests begin. `archive`: SD images kept for the card attacks.
 */
export async function aliceAndBob(seed: string, start: number, archive: boolean): Promise<SimulationWorld> {
  const d = await Deployment.create({ seed, start, devices: TEST_DEVICES });
  const w = new SimulationWorld(new DeploymentModel(start), d, { archive });
  const ops: KmsOperation[] = [
    { type: 'addUser', userId: 'U1', name: 'alice', now: start },
    { type: 'addUser', userId: 'U2', name: 'bob', now: start },
  ];
  for (const op of ops) await w.admin(op.type, op, 'setup');
  await w.provision('U1', 'provision');
  await w.provision('U2', 'provision');
  await w.publish('setup');
  return w;
}
