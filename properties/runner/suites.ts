/**
 * The property suites the runner knows, by short stable name, with what one operation is in each:
 * the unit of "operations" and "operations per CPU-second" in the runner's table. In a model-based
 * suite (`fc.commands`) it is a command executed; in the others it is one step of the system under
 * test that the property drives and then checks, named per suite below.
 * @module
 */
import { editDistance } from '../../impl/cli/didYouMean.ts';

/** One property suite: its test file and the unit it counts. */
export interface Suite {
  readonly name: string;
  readonly file: string;
  /** What one operation is in this suite. */
  readonly operation: string;
  /** Where the suite writes its statistics, if it does. */
  readonly statistics: string | null;
  /**
   * The entries it writes there (default: one, named after the suite): a campaign adds up each of
   * them from every batch (`statistics.ts`).
   */
  readonly statisticsEntries?: readonly string[];
  /**
   * Tests a campaign leaves out: checks of what a whole CI-size pass exercised, which a batch cut
   * short by the campaign's budget would fail without any property failing (CI still runs them).
   */
  readonly notInCampaigns?: readonly string[];
}

/** Every suite, in the order the runner reports them. */
export const SUITES: readonly Suite[] = [
  {
    name: 'kms',
    file: 'properties/kms.properties.test.ts',
    operation: 'a KMS operation applied to the model (or one key selection checked against the oracle)',
    statistics: null,
  },
  {
    name: 'kmsImpl',
    file: 'properties/kmsImpl.properties.test.ts',
    operation: 'a KMS operation applied to both the model and the implementation',
    // Operations, CPU time and the reach of the selections checked, of each random property.
    statistics: 'reports/properties.json',
    statisticsEntries: ['kmsImpl', 'kmsImplLive'],
    notInCampaigns: ['the live runs checked selections that the smallest-group rule and the key number decide'],
  },
  {
    name: 'updateAttacks',
    file: 'properties/updateAttacks.properties.test.ts',
    operation: 'a sync of a tampered or authentic update file, or a call of a compromised host to its HSM',
    statistics: null,
  },
  {
    name: 'restoredAdmin',
    file: 'properties/restoredAdmin.properties.test.ts',
    operation: 'a step of the admin, a user or the clock around an admin HSM restored from a backup',
    statistics: null,
  },
  {
    name: 'encryptedDatabase',
    file: 'properties/encryptedDatabase.properties.test.ts',
    operation: 'a transaction step, or a reopen of a damaged, power-cut or full card',
    statistics: null,
  },
  {
    name: 'keyStorePowerCut',
    file: 'properties/keyStorePowerCut.test.ts',
    operation: 'a cut point: a power cut at a flash operation, then mount and recovery',
    statistics: null,
  },
  {
    name: 'deployment',
    file: 'properties/deployment/deployment.properties.test.ts',
    operation: 'a command executed (fc.commands), bootstrap and convergence included',
    statistics: 'reports/properties.json',
    notInCampaigns: [
      'the runs exercised every declared edge of every machine and every attack kind',
      'the smallest-group checks reached choices decided by group size and by key number',
    ],
  },
];

/** The suite called `name`, or undefined. */
export function suiteNamed(name: string): Suite | undefined {
  return SUITES.find((s) => s.name === name);
}

/**
 * The closest name among `names` to a misspelt `name` (within a few edits, case aside, or a prefix),
 * or null. The edit distance is the `sekey` command's, so both tools suggest alike.
 */
export function closest(name: string, names: readonly string[]): string | null {
  // Every name starts with the empty one: no guess for it.
  if (name.trim() === '') return null;
  let best: string | null = null;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of names) {
    const d = candidate.toLowerCase().startsWith(name.toLowerCase())
      ? 0.5
      : editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return bestDistance <= Math.max(2, Math.floor(name.length / 3)) ? best : null;
}
