/**
 * The machine half of `docs/spec.md`: for each machine its purpose, a Mermaid diagram, the
 * transition table, and beside them every guard, action and parameter defined in words (from the
 * machine's `…_DESCRIPTION`), plus each machine's definition as JSON for XState tools
 * (`docs/machines/NAME.json`).
 * @module
 */
import type { AnyStateMachine } from 'xstate';
import {
  KEY_EVENT_TYPES,
  KEY_LIFECYCLE_DESCRIPTION,
  KEY_STATES,
  KEY_TRANSITIONS,
  KEY_USAGE,
  keyLifecycleMachine,
} from './keyLifecycle.ts';
import type { KeyEventType, KeyState } from './keyLifecycle.ts';
import type { MachineDescription } from './machineDescription.ts';
import { mermaidDiagram, transitionTable } from './machineTables.ts';
import type { SpecEdge } from './machineTables.ts';
import { inlineCode, markdownTable } from './markdown.ts';
import { PIN_SESSION_DESCRIPTION, pinSessionMachine } from './pinSession.ts';
import { PUBLICATION_DESCRIPTION, publicationMachine } from './publication.ts';
import { UPDATE_PROCESSING_DESCRIPTION, updateProcessingMachine } from './updateProcessing.ts';

/** One machine of the specification. */
export interface MachineSpec {
  /** The machine's ID, also the name of its JSON export. */
  readonly name: string;
  readonly title: string;
  readonly source: string;
  readonly machine: AnyStateMachine;
  readonly description: MachineDescription;
  readonly intro: string;
  readonly after?: string;
  readonly extra?: { title: string; cell: (edge: SpecEdge) => string };
}

function usageTable(): string {
  const yes = (b: boolean) => (b ? 'yes' : '—');
  return markdownTable(
    ['State', 'Protect (encrypt)', 'Process (decrypt)', 'Reprotect in the HSM', 'Rescue (stale view, marked)'],
    KEY_STATES.map((s) => {
      const u = KEY_USAGE[s];
      return [inlineCode(s), yes(u.protect), yes(u.process), yes(u.reprotect), yes(u.rescue)];
    }),
  );
}

function refusedPairs(): string {
  return markdownTable(
    ['State', 'Refused events (state and context unchanged)'],
    KEY_STATES.map((s) => {
      const allowed = Object.keys(KEY_TRANSITIONS[s]);
      const events = KEY_EVENT_TYPES.filter((t) => !allowed.includes(t));
      return [inlineCode(s), events.map(inlineCode).join(', ') || '—'];
    }),
  );
}

/** The four machines, in the order of the specification. */
export const MACHINE_SPECS: readonly MachineSpec[] = [
  {
    name: 'keyLifecycle',
    title: 'Key life cycle',
    source: 'model/keyLifecycle.ts',
    machine: keyLifecycleMachine,
    description: KEY_LIFECYCLE_DESCRIPTION,
    intro:
      'NIST SP 800-57 Part 1 §7 (transitions T2–T15) with KMIP 2.1 §4.57 `Destroyed Compromised`. Every event ' +
      'carries `now`; the end of the cryptoperiod is the explicit `EXPIRE` event, never a timer. SEkey keys are ' +
      'symmetric data-encryption keys, so the transitions §7 gives other kinds of key are not here: an `active` or ' +
      '`suspended` key is not destroyed directly (T5, T9: private signature and authentication, RBG, master, ' +
      'authorization and ephemeral keys) but deactivated first (T8, T12), since it may still decrypt during its ' +
      'recipient-usage period; KMIP refuses Destroy of an Active object too. The original destroys them directly. ' +
      'The clause numbers T2–T5 and T8–T12 are those of the text of §7.1–§7.3; T6 and T7 (active → compromised, ' +
      '→ suspended), T13 and T14 (deactivated → destroyed, → compromised) and T15 (compromised → destroyed) are ' +
      "inferred from the order those sections keep (a state's destroyed target first, then its compromised one), " +
      'not quoted.',
    extra: {
      title: 'Clause',
      cell: (e) => KEY_TRANSITIONS[e.source as KeyState][e.event as KeyEventType]?.clause ?? '',
    },
    after:
      `### Refused pairs\n\n${refusedPairs()}\n\nA guarded pair is refused too while its guard is false: \`RESUME\` ` +
      'at or after `expiresAt`, `EXPIRE` before it.\n\n' +
      `### Usage\n\n${usageTable()}\n\nAn \`active\` key whose ` +
      `cryptoperiod has ended no longer protects even before the \`EXPIRE\` sweep (which opens every KMS operation: ` +
      '*Expiry first*, below) reaches it (`keyUsageAt`): ' +
      'protection needs `activatedAt <= now < expiresAt`. `Protect`, and `Reprotect` from a key that is not a ' +
      '`Rescue`, also need a view within its freshness window (`stalenessAt`, update processing; the device ' +
      'refuses them `NotFresh` otherwise): a withheld ' +
      'update could have retired the key a stale view would choose, and a removed member still holds it. A ' +
      'rescue asks for none: the data is readable already by whoever learnt the key, and the result is marked ' +
      '(below).\n\n' +
      'What the table does not bound. NIST SP 800-57 Part 1 §5.3.5 lets a key that left `active` process ' +
      'only data protected before, during its recipient-usage period. SEkey data carries no time of ' +
      'protection, so `Process` is unconditional: a `suspended` or `deactivated` key decrypts until it is ' +
      "destroyed (the administrator's retention decides when). And the SEcube HSM checks no usage rule " +
      '(`device/secubeCrypto.ts`): the host software does. A member removed from a group whose host kept ' +
      'the retired key (it withheld the update and its erase order) can therefore still make data under ' +
      'that key, which the remaining members decrypt and re-protect under the new one. Removal keeps new ' +
      "data from the leaver, not the leaver's data out: a key says who could have written, and " +
      'data whose writer matters needs a signature, which is outside SEkey. Likewise, re-protecting from a ' +
      "`compromised` key would give the new key's word to whatever someone who learnt the old one wrote: " +
      'the result is marked with that key (an `SKM2` message, `impl/protocol/message.ts`), and ' +
      '`sekey user decrypt` warns its reader.',
  },
  {
    name: 'pinSession',
    title: 'PIN session',
    source: 'model/pinSession.ts',
    machine: pinSessionMachine,
    description: PIN_SESSION_DESCRIPTION,
    intro:
      'A login spends one try of its level (`spendTry`, persisted to flash) before the PIN is compared in ' +
      '`checking`; a power cut there keeps the try spent. A level with no tries refuses logins; an admin level with ' +
      'no tries locks the device until a factory reset, which erases every key. A locked user level comes back ' +
      "with an admin session on the device, or, logged out, with a PIN reset order of the KMS administrator's HSM " +
      '(`RESET_ORDER_ACCEPTED`: the device first checks that the order is authentic, names it and is newer than ' +
      'the last it accepted, `device/pinResetOrder.ts`). A factory reset needs no PIN (no session, or an admin ' +
      "session), but the device's own manufacturer, who certifies its new identity (`device/secubeFactory.ts`): " +
      'it erases every key and the identity, so it reveals nothing.',
  },
  {
    name: 'updateProcessing',
    title: 'Update processing, user side',
    source: 'model/updateProcessing.ts',
    machine: updateProcessingMachine,
    description: UPDATE_PROCESSING_DESCRIPTION,
    intro:
      'Refusal reasons, checked in this order by `refusalFor`: `forged` (seal fails), `wrongRecipient`, `replayed` ' +
      '(sequence = last applied), `rolledBack` (sequence < last), `gap` (incremental file with sequence > last + 1), ' +
      '`forged` (previous-file hash does not match); `truncated` and `corrupt` come from parsing. A resync skips the ' +
      '`gap` and previous-hash checks (it replaces the replica) but never the sequence checks. Only refusals of ' +
      'authentic files that claim news count towards a block. `OPEN` carries the hash of the file; a file refused ' +
      'since the last applied one is not opened again, so each file is judged and counted once; `openingRefusal` ' +
      'says why a file is not opened. A refusal that does not count need not be kept: the implementation ' +
      'commits only counted ones (`impl/kms/userSync.ts`, a database commit per junk file would wear the HSM), so it ' +
      'judges junk and replayed files again at each sync. `opening` takes no `POWER_LOSS`: opening is parsing bytes ' +
      'in host memory, with no device call before `OPENED`, so a cut then is learnt in `verifying`. `blocked` takes ' +
      'none either: the block is kept in the persisted refusal count, and a device restored with it boots blocked.',
  },
  {
    name: 'publication',
    title: 'Publication, admin side per user',
    source: 'model/publication.ts',
    machine: publicationMachine,
    description: PUBLICATION_DESCRIPTION,
    intro:
      '`upToDate` until the first publication; `pending` while files are unacknowledged; `acknowledged` once the ' +
      'latest is; `stale` once the oldest file still unacknowledged was published `staleAfterMs` ago.',
  },
];

function definitions(title: string, entries: Readonly<Record<string, string>>): string {
  return `### ${title}\n\n${markdownTable(
    ['Name', 'Definition'],
    Object.entries(entries).map(([name, text]) => [inlineCode(name), text]),
  )}`;
}

/** The section of one machine: purpose, diagram, transitions, guards, actions, parameters. */
export function renderMachineSection(spec: MachineSpec): string {
  const d = spec.description;
  const parts = [
    `## ${spec.title}`,
    `Source: \`${spec.source}\`; as JSON: [\`machines/${spec.name}.json\`](machines/${spec.name}.json).`,
    spec.intro,
    mermaidDiagram(spec.machine),
    transitionTable(spec.machine, spec.extra),
    definitions('Guards', d.guards),
    definitions('Actions', d.actions),
    `### Parameters\n\n${markdownTable(
      ['Parameter', 'Value', 'Meaning'],
      d.parameters.map((p) => [inlineCode(p.name), p.value, p.meaning]),
    )}`,
  ];
  if (spec.after) parts.push(spec.after);
  return parts.join('\n\n');
}

/**
 * A machine's definition as JSON: its configuration as XState v5's `createMachine` takes it, guards
 * and actions by name. The `context` factory is code and is left out; `setup({ guards, actions })
 * .createMachine(json)` with the machine's implementations gives the same machine back.
 */
export function machineJson(machine: AnyStateMachine): string {
  return `${JSON.stringify(machine.config, null, 2)}\n`;
}

/** The section that lists the JSON exports. */
export function renderMachineExports(): string {
  const rows = MACHINE_SPECS.map((s) => [
    `[\`machines/${s.name}.json\`](machines/${s.name}.json)`,
    s.title,
    String(Object.keys(s.machine.root.states).length),
  ]);
  return [
    '## Machine exports',
    'Each machine as a JSON machine configuration (XState v5): states, transitions, and guards and actions by ' +
      'name, as in the diagrams. `createMachine(json)` loads it in any XState v5 tool; `setup({ guards, actions })' +
      '.createMachine(json)` with the implementations of `model/` gives the machine back (the `context` factory is ' +
      'code and is left out). `sekey spec` writes them with this document and `sekey spec --check` fails when one ' +
      'is stale.',
    markdownTable(['File', 'Machine', 'States'], rows),
  ].join('\n\n');
}
