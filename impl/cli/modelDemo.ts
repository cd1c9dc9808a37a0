/**
 * The model walkthrough (`sekey model-demo`) on embedded defaults: the machines at a glance, then a small
 * organisation run through the KMS model — smallest-group selection, a member leaving and the rekey
 * that follows, a compromise and its replacement, and the expiry sweep. Every line it prints is
 * computed by the model, so the walkthrough is also a smoke test of the specification.
 * @module
 */
import { KEY_STATES } from '../../model/keyLifecycle.ts';
import { EMPTY_KMS, applyOperation, keyStateOf, projectUser, selectKey } from '../../model/kms.ts';
import type { KeyRecord, KmsOperation, KmsState } from '../../model/kms.ts';
import { declaredTransitions } from '../../model/specDocument.ts';
import { keyLifecycleMachine } from '../../model/keyLifecycle.ts';
import { pinSessionMachine } from '../../model/pinSession.ts';
import { publicationMachine } from '../../model/publication.ts';
import { updateProcessingMachine } from '../../model/updateProcessing.ts';
import type { AnyStateMachine } from 'xstate';

const DAY = 86_400_000;

/** One line per machine: states and the number of declared transitions. */
export function machineSummary(): string[] {
  const machines: Array<[string, AnyStateMachine]> = [
    ['keyLifecycle', keyLifecycleMachine],
    ['pinSession', pinSessionMachine],
    ['updateProcessing', updateProcessingMachine],
    ['publication', publicationMachine],
  ];
  return machines.map(([name, m]) => {
    const states = Object.keys(m.root.states);
    return (
      `  ${name.padEnd(17)} ${String(states.length).padStart(2)} states, ` +
      `${String(declaredTransitions(m).length).padStart(2)} transitions: ${states.join(', ')}`
    );
  });
}

/** Runs the walkthrough, writing lines to `print`. Returns the final model state. */
export function runModelDemo(print: (line: string) => void, start = Date.UTC(2026, 0, 1)): KmsState {
  let state = EMPTY_KMS;
  let now = start;
  const apply = (op: KmsOperation, say?: string): string | undefined => {
    const result = applyOperation(state, op);
    if (!result.ok) throw new Error(`demo step ${op.type} refused: ${result.error.message}`);
    state = result.state;
    if (say) print(`  ${say}`);
    return result.keyId;
  };
  const pick = (sender: string, recipients: string[]): string => {
    const r = selectKey(state, sender, recipients, now);
    return r.ok ? `${r.selection.keyId} of ${r.selection.groupId}` : `refused: ${r.error.code} (${r.error.message})`;
  };

  print('SEkey-TS — the executable specification of SEkey');
  print('');
  print('Machines (docs/spec.md has the diagrams and tables):');
  machineSummary().forEach(print);
  print(`  key states: ${KEY_STATES.join(', ')}`);
  print('');
  print('A walk through the KMS model:');
  for (const [id, name] of [
    ['U1', 'alice'],
    ['U2', 'bob'],
    ['U3', 'carol'],
    ['U4', 'dave'],
  ] as const) {
    apply({ type: 'addUser', userId: id, name, now: now });
  }
  const policy = { maxKeys: 4, algorithm: 'AES-256-GCM', defaultCryptoperiodMs: 30 * DAY } as const;
  apply({ type: 'addGroup', groupId: 'G1', name: 'engineering', policy, now: now });
  apply({ type: 'addGroup', groupId: 'G2', name: 'crypto-core', policy, now: now });
  for (const u of ['U1', 'U2', 'U3', 'U4']) apply({ type: 'addMember', groupId: 'G1', userId: u, now });
  for (const u of ['U1', 'U2']) apply({ type: 'addMember', groupId: 'G2', userId: u, now });
  print('  users alice, bob, carol, dave; G1 engineering = all four, G2 crypto-core = alice and bob');
  const k1 = apply({ type: 'addKey', groupId: 'G1', name: 'eng-2026', now }) as string;
  const k2 = apply({ type: 'addKey', groupId: 'G2', name: 'core-2026', now, cryptoperiodMs: 7 * DAY }) as string;
  apply({ type: 'keyEvent', keyId: k1, event: { type: 'ACTIVATE', now } });
  apply({ type: 'keyEvent', keyId: k2, event: { type: 'ACTIVATE', now } });
  print(`  ${k1} (G1, 30 days) and ${k2} (G2, 7 days) generated and activated`);
  print(`  alice → bob:   ${pick('U1', ['U2'])}   (smallest group containing both)`);
  print(`  alice → carol: ${pick('U1', ['U3'])}`);
  now += DAY;
  apply({ type: 'removeMember', groupId: 'G1', userId: 'U4', now }, 'day 1: dave leaves engineering');
  print(
    `    ${k1} is now ${keyStateOf(state.keys[k1] as never)}; replacement: ${pick('U1', ['U3'])} (dave never had it)`,
  );
  print(`    dave's device now holds ${projectUser(state, 'U4')?.keys.length ?? 0} keys`);
  now += DAY;
  const replacement = pick('U1', ['U3']).split(' ')[0] as string;
  apply(
    { type: 'keyEvent', keyId: replacement, event: { type: 'COMPROMISE', now } },
    `day 2: ${replacement} reported compromised`,
  );
  print(`    alice → carol: ${pick('U1', ['U3'])}`);
  now += 6 * DAY;
  apply({ type: 'expireKeys', now });
  const expired = state.keys[k2] as KeyRecord;
  const since = ((expired.lifecycle.context.deactivatedAt ?? now) - start) / DAY;
  print(
    `  day 8: expiry sweep — ${k2} is ${keyStateOf(expired)}, recorded at the end of its cryptoperiod (day ${since})`,
  );
  print(`  alice → bob:   ${pick('U1', ['U2'])}   (G2 has no usable key, so the next smallest group)`);
  print(`  dave → alice:  ${pick('U4', ['U1'])}`);
  print('');
  print(
    `Model state: ${Object.keys(state.users).length} users, ${Object.keys(state.groups).length} groups, ` +
      `${Object.keys(state.keys).length} keys.`,
  );
  return state;
}
