import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { createMachine, setup } from 'xstate';
import { keyLifecycleMachine } from './keyLifecycle.ts';
import { pinSessionMachine } from './pinSession.ts';
import { declaredTransitions, mermaidDiagram, renderSpec, transitionTable } from './specDocument.ts';

describe('docs/spec.md', () => {
  test('is current (run `npm run spec` after changing a machine)', () => {
    const committed = readFileSync(new URL('../docs/spec.md', import.meta.url), 'utf8');
    expect(committed === renderSpec(), 'docs/spec.md is stale: run `npm run spec` and commit it').toBe(true);
  });

  test('the lifecycle diagram has every declared edge with its guard, and the final state', () => {
    const diagram = mermaidDiagram(keyLifecycleMachine);
    expect(diagram).toMatch(/^```mermaid\nstateDiagram-v2\n {2}\[\*\] --> preActivation/);
    expect(diagram).toContain('active --> deactivated : EXPIRE if cryptoperiodEnded');
    expect(diagram).toContain('suspended --> active : RESUME if cryptoperiodRunning');
    expect(diagram).toContain('destroyedCompromised --> [*]');
    expect(diagram.split('\n').filter((l) => l.includes(' : '))).toHaveLength(17);
  });

  test('eventless transitions and named actions appear in the tables', () => {
    expect(declaredTransitions(pinSessionMachine)).toContainEqual({
      source: 'loggedOut',
      event: '',
      target: 'locked',
      guard: 'adminLevelExhausted',
      actions: [],
    });
    const table = transitionTable(pinSessionMachine);
    expect(table).toContain('| `locked` | `FACTORY_RESET` |  | `loggedOut` | `eraseAllKeys`, `restoreAllTries` |');
    expect(table).toContain('*(eventless)*');
    expect(renderSpec()).toContain('| `compromised` | — | — | yes |');
  });

  test('inline guards and actions are refused: the specification names everything', () => {
    const inlineGuard = createMachine({
      initial: 'a',
      states: { a: { on: { GO: { target: 'b', guard: () => true } } }, b: {} },
    });
    expect(() => declaredTransitions(inlineGuard)).toThrow(/inline guard or action/);
    const inlineAction = setup({}).createMachine({
      initial: 'a',
      states: { a: { on: { GO: { target: 'b', actions: () => {} } } }, b: {} },
    });
    expect(() => declaredTransitions(inlineAction)).toThrow(/inline guard or action/);
  });
});
