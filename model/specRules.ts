/**
 * The KMS half of `docs/spec.md`, rendered from the data the model runs on or is pinned to: the
 * operations (`kmsOperations.ts`), the group key policy (`groupKeyPolicy.ts`, read by `kms.ts`),
 * the key preference of selection (`selectKey.ts`, read by `compareKeyPreference`), need-to-know
 * (`projection.ts`), the worked examples (`specExamples.ts`) and the differences from the
 * original (`originalDifferences.ts`).
 * @module
 */
import { GROUP_KEY_POLICY, HOLDER_CHANGES, KEY_FATES, REPLACEMENTS } from './groupKeyPolicy.ts';
import type { KeyFate } from './groupKeyPolicy.ts';
import { KEY_STATES } from './keyLifecycle.ts';
import type { KeySelection } from './kms.ts';
import { EXPIRY_FIRST, GENERAL_REFUSALS, OPERATION_RULES, TIME_GOES_FORWARD } from './kmsOperations.ts';
import type { OperationRule } from './kmsOperations.ts';
import { CROSS_CUTTING_RULES, policyRuleId } from './kmsRules.ts';
import { formatDuration } from './machineDescription.ts';
import { inlineCode, markdownTable } from './markdown.ts';
import { ORIGINAL_DIFFERENCES } from './originalDifferences.ts';
import { NEED_TO_KNOW } from './projection.ts';
import { KEY_PREFERENCE } from './selectKey.ts';
import { DAY, EXAMPLE_POLICY, EXAMPLE_START, SPEC_EXAMPLES } from './specExamples.ts';
import type { ExampleOperation, ExampleOutcome, ExampleStep, SpecExample } from './specExamples.ts';

/** The anchor of a worked example's heading (`### Example ID`). */
export function exampleAnchor(id: string): string {
  return `example-${id}`;
}

function examplesOf(ruleId: string): string {
  const links = SPEC_EXAMPLES.filter((e) => e.rules.includes(ruleId)).map((e) => `[${e.id}](#${exampleAnchor(e.id)})`);
  return `Examples: ${links.join(', ')}.`;
}

function renderOperation(o: OperationRule): string {
  const refusals =
    o.refusals.length === 0
      ? 'Never refused (beyond the general refusals).'
      : markdownTable(
          ['Refused with', 'When'],
          o.refusals.map((r) => [inlineCode(r.code), r.when]),
        );
  return [
    `#### ${o.operation}`,
    `${o.summary} Original: ${o.original.split(', ').map(inlineCode).join(', ')}.`,
    refusals,
    o.effects.map((e) => `- ${e}`).join('\n'),
    examplesOf(o.operation),
  ].join('\n\n');
}

const FATE_CELL: Readonly<Record<KeyFate, string>> = {
  keep: '·',
  give: 'give',
  retire: 'retire',
  retireIfHeld: 'retire if held, else give',
};

function renderGroupKeyPolicy(): string {
  const head = ['Rule', 'When', 'shareHistory', ...KEY_STATES.map(inlineCode), 'Holders dropped', 'New key'];
  const rows = GROUP_KEY_POLICY.map((r) => [
    inlineCode(policyRuleId(r)),
    r.description,
    r.shareHistory === 'any' ? 'any' : String(r.shareHistory),
    ...KEY_STATES.map((s) => FATE_CELL[r.keys[s]]),
    HOLDER_CHANGES[r.holders],
    REPLACEMENTS[r.replacement],
  ]);
  const legend = (Object.keys(KEY_FATES) as KeyFate[]).map((f) => `- **${FATE_CELL[f]}**: ${KEY_FATES[f]}.`);
  return [
    '### Group key policy',
    "What every event does to each key of the group, by the key's state before the event (`model/groupKeyPolicy.ts`, " +
      'the table `model/kms.ts` reads to carry the rules out). A fresh key is held by every member after the ' +
      'event; compromised and destroyed keys are never given. "Holders dropped" is what the rule itself drops: a ' +
      'key destroyed on the way (a pre-active key retired, or a `DESTROY` event) loses every holder as well ' +
      '(key life cycle: `recordDestruction`).',
    markdownTable(head, rows),
    legend.join('\n'),
    GROUP_KEY_POLICY.map((r) => `\`${policyRuleId(r)}\`: ${examplesOf(policyRuleId(r))}`).join('\n'),
  ].join('\n\n');
}

function renderSelection(): string {
  const select = OPERATION_RULES.find((o) => o.operation === 'selectKey') as OperationRule;
  return [
    '### Key selection',
    'The rule of `selectKey` (see the operation above for its refusals):',
    select.effects.map((e, i) => `${i + 1}. ${e}`).join('\n'),
    'Key preference (`KEY_PREFERENCE`, read by `compareKeyPreference`), the first criterion that tells two keys ' +
      'apart decides:',
    markdownTable(
      ['Order', 'Compare', 'Preferred', 'Why'],
      KEY_PREFERENCE.map((c, i) => [String(i + 1), inlineCode(c.by), c.prefer, c.why]),
    ),
    examplesOf('keyPreference'),
  ].join('\n\n');
}

function renderNeedToKnow(): string {
  return [
    '### Need-to-know',
    "What a user's device holds (`projectUser`); every user's device converges to its projection after syncing.",
    markdownTable(
      ['A device holds', 'Which'],
      NEED_TO_KNOW.map((n) => [n.holds, n.rule]),
    ),
    examplesOf('needToKnow'),
  ].join('\n\n');
}

/** The KMS rules: expiry first, every operation, the group key policy, selection, need-to-know. */
export function renderKmsRules(): string {
  const generalRefusals = GENERAL_REFUSALS.map((r) => `\`${r.code}\` when ${r.when}`).join('; ');
  const overview = markdownTable(
    ['Operation', 'Summary', 'Refused with'],
    OPERATION_RULES.map((o) => [
      `[${o.operation}](#${o.operation.toLowerCase()})`,
      o.summary,
      o.refusals.map((r) => inlineCode(r.code)).join(', ') || '—',
    ]),
  );
  return [
    '## KMS rules',
    'The whole-KMS model (`model/kms.ts`) is a pure function from a state and an operation to a new state or a ' +
      'typed error; a refused operation changes nothing. The implementation (`impl/kms/rules/`) re-implements ' +
      'these rules over SQL, and every worked example below runs on both. Three words the rules use: every key is ' +
      'owned by one group, and its *holders* are the users whose devices must hold it (the group key policy says ' +
      "who); a user's *projection* is everything that user's device holds (need-to-know, below). To *retire* a " +
      'key is to destroy it if pre-active and deactivate it if active or suspended (group key policy).',
    `Rules: ${OPERATION_RULES.length} operations, ${GROUP_KEY_POLICY.length} rows of the group key policy and ` +
      `${CROSS_CUTTING_RULES.length} cross-cutting rules (${CROSS_CUTTING_RULES.map(inlineCode).join(', ')}).`,
    '### Time goes forward',
    TIME_GOES_FORWARD,
    '### Expiry first',
    EXPIRY_FIRST,
    examplesOf('expiryFirst'),
    '### Operations',
    `Every operation but \`selectKey\` is refused with ${generalRefusals}, ` +
      "before anything else. `selectKey` is a read on the sender's device, at that device's own clock: it checks no " +
      'time, and at one no cryptoperiod covers (a time that is not a finite number included) it finds no usable key. ' +
      'Refusals are listed in the order the checks run: the first that applies is returned.',
    overview,
    ...OPERATION_RULES.map(renderOperation),
    renderGroupKeyPolicy(),
    renderSelection(),
    renderNeedToKnow(),
  ].join('\n\n');
}

function value(key: string, v: unknown): string {
  if (key === 'name') {
    const name = String(v);
    return name.length > 24 ? `"${name.slice(0, 3)}…" (${name.length} characters)` : JSON.stringify(name);
  }
  if (key === 'cryptoperiodMs') return `cryptoperiod ${formatDuration(Number(v))}`;
  if (key === 'shareHistory') return v ? 'shareHistory' : '';
  if (key === 'policy') {
    const p = v as typeof EXAMPLE_POLICY;
    return `policy (maxKeys ${p.maxKeys}, ${p.algorithm}, ${formatDuration(p.defaultCryptoperiodMs)})`;
  }
  return String(v);
}

/** One operation of an example, as a reader would type it: `addMember G1 U3`. */
export function formatExampleOperation(op: ExampleOperation): string {
  const args = Object.entries(op)
    .filter(([k]) => k !== 'type')
    .map(([k, v]) => value(k, v))
    .filter((s) => s !== '');
  return [op.type, ...args].join(' ');
}

function formatStep(step: ExampleStep): [string, string, string] {
  const day = String(step.day);
  if ('select' in step) {
    const to = step.select.recipients.length === 0 ? 'nobody else' : step.select.recipients.join(', ');
    const chosen = step.chooses as KeySelection;
    const expected = step.refused ? `refused: \`${step.refused}\`` : `\`${chosen.keyId}\` of \`${chosen.groupId}\``;
    return [day, `${step.select.sender}'s device selects a key for ${to}`, expected];
  }
  return [day, `\`${formatExampleOperation(step.op)}\``, step.refused ? `refused: \`${step.refused}\`` : 'accepted'];
}

/** The outcome of an example as a list of sentences. */
export function formatOutcome(outcome: ExampleOutcome): string[] {
  const lines: string[] = [];
  for (const [id, k] of Object.entries(outcome.keys ?? {})) {
    lines.push(
      k === null
        ? `key \`${id}\` does not exist`
        : `key \`${id}\` is \`${k.state}\`, held by ${k.holders.length === 0 ? 'nobody' : k.holders.join(', ')}`,
    );
  }
  for (const [id, members] of Object.entries(outcome.groups ?? {})) {
    lines.push(
      members === null ? `group \`${id}\` does not exist` : `group \`${id}\` has members ${members.join(', ')}`,
    );
  }
  for (const [id, v] of Object.entries(outcome.views ?? {})) {
    if (v === null) {
      lines.push(`user \`${id}\` does not exist`);
      continue;
    }
    const groups = Object.entries(v.groups).map(([g, x]) => `${g} "${x.name}" (${x.members.join(', ')})`);
    const users = Object.entries(v.users).map(([u, name]) => `${u} "${name}"`);
    const keys = Object.entries(v.keys).map(([k, x]) => `${k} "${x.name}" \`${x.state}\``);
    const list = (items: string[]) => (items.length === 0 ? 'none' : items.join(', '));
    lines.push(`${id}'s device holds groups: ${list(groups)}; users: ${list(users)}; keys: ${list(keys)}`);
  }
  return lines;
}

function renderExample(e: SpecExample): string {
  const outcome = formatOutcome(e.outcome);
  return [
    `### Example ${e.id}`,
    `**${e.title}.** Illustrates ${e.rules.map(inlineCode).join(', ')}.`,
    markdownTable(['Day', 'Step', 'Expected'], e.steps.map(formatStep)),
    ...(outcome.length === 0 ? [] : [`Then:\n\n${outcome.map((l) => `- ${l}`).join('\n')}`]),
  ].join('\n\n');
}

/** Every worked example. */
export function renderExamples(): string {
  return [
    '## Worked examples',
    `${SPEC_EXAMPLES.length} scenarios, each run as a test on the model (\`model/specExamples.test.ts\`) and on the ` +
      'implementation through the Admin, update files and user devices (`impl/kms/specExamples.test.ts`). The data ' +
      'is `SPEC_EXAMPLES` in `model/specExamples.ts`: copy an example into your own suite and run its steps. Day 0 ' +
      `is ${new Date(EXAMPLE_START).toISOString()}, a day is ${DAY} ms; every group is made with ` +
      `${value('policy', EXAMPLE_POLICY)} unless the step says otherwise. Key IDs are allocated from \`K2000\` in ` +
      "order, replacement keys included. A refused step changes nothing. A selection runs on the sender's device " +
      'after it has synced; "Then" is checked after the last step (keys and groups at the administrator, devices ' +
      'after a sync).',
    ...SPEC_EXAMPLES.map(renderExample),
  ].join('\n\n');
}

/** The relative link from `docs/spec.md` to a rule: an anchor as is, a repository path from `docs/`. */
export function ruleLink(link: string): string {
  return link.startsWith('#') ? link : `../${link}`;
}

/** The table of differences from the original. */
export function renderDifferences(): string {
  const rows = ORIGINAL_DIFFERENCES.map((d) => [
    d.id,
    d.original,
    d.ours,
    `[${d.rule.title}](${ruleLink(d.rule.link)})`,
    d.tests.length === 0
      ? '—'
      : d.tests.map((t) => `[\`${t.file.split('/').pop()}\`](../${t.file}): “${t.name}”`).join('<br>'),
  ]);
  return [
    '## Differences from the original',
    'Every bug (B) and design weakness (W) found in the code of the original SEkey library and SEcube firmware, ' +
      'what SEkey-TS does instead, the rule that says so and the tests that pin it ' +
      '(`model/originalDifferences.ts`; a test checks that every test named here exists).',
    markdownTable(['Item', 'Original', 'SEkey-TS', 'Rule', 'Pinned by'], rows),
  ].join('\n\n');
}
