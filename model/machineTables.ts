/**
 * The tables a machine's specification is made of, read from the machine itself: every declared
 * transition with its named guard and actions, as a Mermaid state diagram and as a Markdown table.
 * Inline guards and actions are refused, so every one has a name the specification can define.
 * @module
 */
import type { AnyStateMachine } from 'xstate';
import { getStateNodes, toDirectedGraph } from 'xstate/graph';
import { inlineCode as code, markdownTable } from './markdown.ts';

/** One transition of a flat machine, as declared. */
export interface SpecEdge {
  readonly source: string;
  /** Event type; `''` for an eventless (`always`) transition. */
  readonly event: string;
  readonly target: string;
  readonly guard: string | null;
  readonly actions: readonly string[];
}

interface DirectedNode {
  readonly edges: ReadonlyArray<{
    source: { key: string };
    target: { key: string };
    label: { text: string };
    transition: { guard?: unknown; actions: readonly unknown[] };
  }>;
  readonly children: readonly DirectedNode[];
}

/**
 * The name of a guard or action. Inline functions have none, and a diagram of them would say
 * nothing: the specification uses named implementations in `setup()` only, and this enforces it.
 */
function nameOf(item: unknown): string {
  const type = typeof item === 'string' ? item : (item as { type?: unknown }).type;
  if (typeof type !== 'string' || type === '' || type.startsWith('xstate.')) {
    throw new TypeError('inline guard or action found: name it in setup() so the specification can show it');
  }
  return type;
}

/** Every transition declared by a flat machine, in declaration order, eventless ones included. */
export function declaredTransitions(machine: AnyStateMachine): SpecEdge[] {
  const edges: SpecEdge[] = [];
  const walk = (node: DirectedNode): void => {
    for (const edge of node.edges) {
      const guard = edge.transition.guard;
      edges.push({
        source: edge.source.key,
        event: edge.label.text,
        target: edge.target.key,
        guard: guard === undefined ? null : nameOf(guard),
        actions: edge.transition.actions.map(nameOf),
      });
    }
    node.children.forEach(walk);
  };
  walk(toDirectedGraph(machine) as unknown as DirectedNode);
  // toDirectedGraph leaves eventless transitions out; they are part of the specification too.
  for (const node of getStateNodes(machine.root)) {
    for (const t of node.always ?? []) {
      for (const target of t.target ?? []) {
        edges.push({
          source: node.key,
          event: '',
          target: target.key,
          guard: t.guard === undefined ? null : nameOf(t.guard),
          actions: t.actions.map(nameOf),
        });
      }
    }
  }
  return edges;
}

/** A Mermaid `stateDiagram-v2` of a flat machine. */
export function mermaidDiagram(machine: AnyStateMachine): string {
  const nodes = getStateNodes(machine.root);
  const lines = ['```mermaid', 'stateDiagram-v2', `  [*] --> ${String(machine.root.initial?.target[0]?.key)}`];
  for (const e of declaredTransitions(machine)) {
    const label = (e.event === '' ? 'always' : e.event) + (e.guard ? ` if ${e.guard}` : '');
    lines.push(`  ${e.source} --> ${e.target} : ${label}`);
  }
  for (const node of nodes) if (node.type === 'final') lines.push(`  ${node.key} --> [*]`);
  lines.push('```');
  return lines.join('\n');
}

/** A Markdown table of a flat machine's transitions; `extra` adds a column per row. */
export function transitionTable(
  machine: AnyStateMachine,
  extra?: { title: string; cell: (edge: SpecEdge) => string },
): string {
  const head = ['From', 'Event', 'Guard', 'To', 'Actions', ...(extra ? [extra.title] : [])];
  const rows = declaredTransitions(machine).map((e) => [
    code(e.source),
    e.event === '' ? '*(eventless)*' : code(e.event),
    e.guard ? code(e.guard) : '',
    code(e.target),
    e.actions.map(code).join(', '),
    ...(extra ? [extra.cell(e)] : []),
  ]);
  return markdownTable(head, rows);
}
