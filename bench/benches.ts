/**
 * The registry of benches, in the order `npm run bench` runs them; a new bench module adds itself here.
 * @module
 */
import type { BenchModule } from './benchModule.ts';
import { dbCommitBench } from './dbCommit.ts';
import { deviceWearBench } from './deviceWear.ts';
import { dbRealisticBench } from './dbRealistic.ts';
import { keyStoreWearBench } from './keyStoreWear.ts';
import { throughputBench } from './throughput.ts';
import { updateDistributionBench } from './updateDistribution.ts';

/** Every bench. */
export const BENCHES: readonly BenchModule[] = [
  keyStoreWearBench,
  deviceWearBench,
  dbCommitBench,
  dbRealisticBench,
  updateDistributionBench,
  throughputBench,
];
