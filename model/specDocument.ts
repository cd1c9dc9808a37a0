/**
 * Renders `docs/spec.md` from the machine definitions: for each machine a Mermaid state diagram and
 * a transition table (named guards and actions, as declared in `setup()`), plus the key usage table.
 * The document is generated, never written by hand, so it cannot drift from the code; a test fails
 * when the committed copy is stale.
 * @module
 */
import type { AnyStateMachine } from 'xstate';
import { getStateNodes, toDirectedGraph } from 'xstate/graph';
import { KEY_EVENT_TYPES, KEY_STATES, KEY_TRANSITIONS, KEY_USAGE, keyLifecycleMachine } from './keyLifecycle.ts';
import type { KeyEventType, KeyState } from './keyLifecycle.ts';
import { pinSessionMachine } from './pinSession.ts';
import { publicationMachine } from './publication.ts';
import { updateProcessingMachine } from './updateProcessing.ts';

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

const code = (s: string): string => (s === '' ? '' : `\`${s}\``);

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
  return [head, head.map(() => '---'), ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');
}

function usageTable(): string {
  const yes = (b: boolean) => (b ? 'yes' : '—');
  const rows = KEY_STATES.map((s) => {
    const u = KEY_USAGE[s];
    return `| \`${s}\` | ${yes(u.protect)} | ${yes(u.process)} | ${yes(u.reprotect)} |`;
  });
  return [
    '| State | Protect (encrypt) | Process (decrypt) | Reprotect in the HSM |',
    '|---|---|---|---|',
    ...rows,
  ].join('\n');
}

function refusedPairs(): string {
  const refused = KEY_STATES.map((s) => {
    const allowed = Object.keys(KEY_TRANSITIONS[s]);
    const events = KEY_EVENT_TYPES.filter((t) => !allowed.includes(t));
    return `| \`${s}\` | ${events.map(code).join(', ') || '—'} |`;
  });
  return ['| State | Refused events (state and context unchanged) |', '|---|---|', ...refused].join('\n');
}

interface MachineSection {
  readonly title: string;
  readonly machine: AnyStateMachine;
  readonly intro: string;
  readonly after?: string;
  readonly extra?: { title: string; cell: (edge: SpecEdge) => string };
}

const SECTIONS: readonly MachineSection[] = [
  {
    title: 'Key life cycle (`model/keyLifecycle.ts`)',
    machine: keyLifecycleMachine,
    intro:
      'NIST SP 800-57 Part 1 §7 (transitions T2–T15) with KMIP 2.1 §4.57 `Destroyed Compromised`. Every event ' +
      'carries `now`; ' +
      'the end of the cryptoperiod is the explicit `EXPIRE` event, never a timer. `cryptoperiodEnded` is `now >= ' +
      'expiresAt`, ' +
      '`cryptoperiodRunning` is `now < expiresAt`; the first activation sets `expiresAt = now + cryptoperiodMs`, ' +
      'which nothing moves afterwards.',
    extra: {
      title: 'Clause',
      cell: (e) => KEY_TRANSITIONS[e.source as KeyState][e.event as KeyEventType]?.clause ?? '',
    },
    after:
      `### Refused pairs\n\n${refusedPairs()}\n\n### Usage\n\n${usageTable()}\n\nAn \`active\` key whose ` +
      `cryptoperiod has ended no longer protects even before the \`EXPIRE\` sweep reaches it (\`keyUsageAt\`).`,
  },
  {
    title: 'PIN session (`model/pinSession.ts`)',
    machine: pinSessionMachine,
    intro:
      'A login spends one try of its level (`spendTry`, persisted to flash) before the PIN is compared in ' +
      '`checking`; a power cut there keeps the try spent. ' +
      'A level with no tries refuses logins; an admin level with no tries locks the device until a factory reset, ' +
      'which erases every key. ' +
      'A factory reset needs only physical possession (no session, or an admin session): it erases every key and ' +
      'the identity, so it reveals nothing.',
  },
  {
    title: 'Update processing, user side (`model/updateProcessing.ts`)',
    machine: updateProcessingMachine,
    intro:
      'Refusal reasons, checked in this order by `refusalFor`: `forged` (seal fails), `wrongRecipient`, `replayed` ' +
      '(sequence = last applied), ' +
      '`rolledBack` (sequence < last), `gap` (incremental file with sequence > last + 1), `forged` (previous-file ' +
      'hash does not match); `truncated` and ' +
      '`corrupt` come from parsing. A resync skips the `gap` and previous-hash checks (it replaces the replica) but ' +
      'never the sequence checks. ' +
      'After `maxRefusals` consecutive refusals (default 5) the user is `blocked`: it opens only files named as a ' +
      'resync (`namedResync`) until one applies. ' +
      '`OPEN` carries the hash of the file; a file refused since the last applied one is not opened again ' +
      '(`notRefusedBefore`, `namedResync`), so each file is ' +
      'judged and counted once. `openingRefusal` says why a file is not opened: `gap` for a blocked user and a file ' +
      'not named as a resync, otherwise the reason ' +
      'the file was refused for. `recordApplied` records the verified sequence and the opened hash; the snapshot it ' +
      'leaves is committed with the file.',
  },
  {
    title: 'Publication, admin side per user (`model/publication.ts`)',
    machine: publicationMachine,
    intro:
      '`upToDate` until the first publication; `pending` while files are unacknowledged; `acknowledged` once the ' +
      'latest is; `stale` after ' +
      '`staleAfterMs` without an acknowledgement of progress.',
  },
];

/** The whole of `docs/spec.md`. */
export function renderSpec(): string {
  const parts = [
    '# SEkey-TS specification',
    '',
    '<!-- Generated by `npm run spec` from the machine definitions in model/. Do not edit by hand. -->',
    '',
    'Each machine below is the executable definition in `model/`; diagrams and tables are generated from it. ' +
      'A (state, event) pair that is not listed is refused and leaves the snapshot unchanged. The whole-KMS rules ' +
      '(group key policy, need-to-know, smallest-group selection) are in `model/kms.ts` and `model/selectKey.ts`.',
    '',
  ];
  for (const s of SECTIONS) {
    parts.push(
      `## ${s.title}`,
      '',
      s.intro,
      '',
      mermaidDiagram(s.machine),
      '',
      transitionTable(s.machine, s.extra),
      '',
    );
    if (s.after) parts.push(s.after, '');
  }
  return parts.join('\n');
}
