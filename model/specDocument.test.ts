import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { createMachine, setup } from 'xstate';
import { keyLifecycleMachine } from './keyLifecycle.ts';
import { pinSessionMachine } from './pinSession.ts';
import {
  declaredTransitions,
  headingAnchors,
  mermaidDiagram,
  renderSpec,
  renderSpecFiles,
  transitionTable,
} from './specDocument.ts';

describe('docs/spec.md and docs/machines/', () => {
  test('are current (run `npm run spec` after changing a machine, a rule, an example or a description)', () => {
    for (const [path, text] of Object.entries(renderSpecFiles())) {
      const committed = readFileSync(new URL(`../docs/${path}`, import.meta.url), 'utf8');
      expect(committed === text, `docs/${path} is stale: run \`npm run spec\` and commit it`).toBe(true);
    }
  });

  test('every link inside the document leads to one of its headings, the contents included', () => {
    const spec = renderSpec();
    const anchors = new Set(headingAnchors(spec).map((h) => h.anchor));
    const links = [...spec.matchAll(/\]\(#([^)]+)\)/g)].map((m) => m[1] as string);
    expect(links.length).toBeGreaterThan(50);
    expect(links.filter((l) => !anchors.has(l))).toEqual([]);
    // Repeated headings get GitHub's numbered anchors; headings inside code fences are not headings.
    expect(anchors).toContain('guards-1');
    expect(headingAnchors('```\n# not a heading\n```\n## Real')).toEqual([{ level: 2, text: 'Real', anchor: 'real' }]);
  });

  test('the lifecycle diagram has every declared edge with its guard, and the final state', () => {
    const diagram = mermaidDiagram(keyLifecycleMachine);
    expect(diagram).toMatch(/^```mermaid\nstateDiagram-v2\n {2}\[\*\] --> preActivation/);
    expect(diagram).toContain('active --> deactivated : EXPIRE if cryptoperiodEnded');
    expect(diagram).toContain('suspended --> active : RESUME if cryptoperiodRunning');
    expect(diagram).toContain('destroyedCompromised --> [*]');
    expect(diagram.split('\n').filter((l) => l.includes(' : '))).toHaveLength(15);
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

  test('the number of PIN tries and the refusal limit are stated, read from the code', () => {
    const spec = renderSpec();
    expect(spec).toContain('| `maxRetries` | 3 (`DEFAULT_PIN_RETRIES`)');
    expect(spec).toContain('| `maxRefusals` | 5 (`DEFAULT_MAX_REFUSALS`');
    expect(spec).toContain('| `staleAfterMs` | 7 days (`DEFAULT_STALE_AFTER_MS`)');
    expect(spec).toContain('| `freshness window` | 3 days (`defaultFreshnessWindow`');
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
