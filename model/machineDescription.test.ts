import { describe, expect, test } from 'vitest';
import { setup } from 'xstate';
import type { AnyStateMachine } from 'xstate';
import { formatDuration } from './machineDescription.ts';
import { declaredTransitions } from './machineTables.ts';
import { MACHINE_SPECS, machineJson } from './specMachines.ts';

const names = (record: object | undefined): string[] => Object.keys(record ?? {}).sort();

describe('every machine is described in words', () => {
  for (const spec of MACHINE_SPECS) {
    test(`${spec.name}: every guard and action has a definition, and every definition names one`, () => {
      const impl = spec.machine.implementations;
      expect(names(spec.description.guards)).toEqual(names(impl.guards));
      expect(names(spec.description.actions)).toEqual(names(impl.actions));
      // What the diagram shows is what is defined.
      for (const edge of declaredTransitions(spec.machine)) {
        if (edge.guard) expect(spec.description.guards).toHaveProperty(edge.guard);
        for (const action of edge.actions) expect(spec.description.actions).toHaveProperty(action);
      }
      expect(spec.description.parameters.length).toBeGreaterThan(0);
    });

    test(`${spec.name}: the JSON export loads back into the same machine`, () => {
      const json = JSON.parse(machineJson(spec.machine));
      const impl = spec.machine.implementations;
      const loaded = setup({
        guards: impl.guards as Record<string, () => boolean>,
        actions: impl.actions as Record<string, () => void>,
      }).createMachine(json) as unknown as AnyStateMachine;
      expect(declaredTransitions(loaded)).toEqual(declaredTransitions(spec.machine));
      expect(json.id).toBe(spec.name);
    });
  }

  test('durations read in the largest exact unit', () => {
    expect(formatDuration(86_400_000)).toBe('1 day');
    expect(formatDuration(3 * 86_400_000)).toBe('3 days');
    expect(formatDuration(7_200_000)).toBe('2 hours');
    expect(formatDuration(60_000)).toBe('1 minute');
    expect(formatDuration(5000)).toBe('5 seconds');
    expect(formatDuration(1500)).toBe('1500 ms');
    expect(formatDuration(0)).toBe('0 ms');
  });
});
