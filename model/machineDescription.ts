/**
 * The prose half of a machine's specification: what each named guard tests and each named action
 * does, and the parameters the machine runs with (defaults read from the constants the code uses).
 * Each machine file exports one next to its `setup()`; `docs/spec.md` prints it beside the diagram,
 * and `machineDescription.test.ts` fails when a guard or action of a machine has no description,
 * or a description names nothing.
 * @module
 */

/** A parameter of a machine: its name, its value or default, and what it means. */
export interface MachineParameter {
  readonly name: string;
  readonly value: string;
  readonly meaning: string;
}

/** The prose of one machine. */
export interface MachineDescription {
  /** Guard name → what it tests, as a definition a reimplementation can follow. */
  readonly guards: Readonly<Record<string, string>>;
  /** Action name → what it changes. */
  readonly actions: Readonly<Record<string, string>>;
  readonly parameters: readonly MachineParameter[];
}

const UNITS: ReadonlyArray<readonly [number, string]> = [
  [86_400_000, 'day'],
  [3_600_000, 'hour'],
  [60_000, 'minute'],
  [1000, 'second'],
];

/** A duration in the largest unit that divides it exactly: `7 days`, `1 hour`, `1500 ms`. */
export function formatDuration(ms: number): string {
  for (const [size, unit] of UNITS) {
    if (ms > 0 && ms % size === 0) {
      const n = ms / size;
      return `${n} ${unit}${n === 1 ? '' : 's'}`;
    }
  }
  return `${ms} ms`;
}
