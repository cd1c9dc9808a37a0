/**
 * Runs a worked example (`specExamples.ts`) on the KMS model: each operation at its time, each
 * selection on the state reached, and the outcome read from the final state and its projections.
 * The implementation's runner (`impl/kms/specExamples.test.ts`) produces the same {@link ExampleRun}
 * from the Admin and the users' devices; both must equal the example's `expectedRun`.
 * @module
 */
import { EMPTY_KMS, applyOperation, keyStateOf, projectUser, selectKey } from './kms.ts';
import type { KmsState } from './kms.ts';
import { exampleTime, toKmsOperation } from './specExamples.ts';
import type { ExampleOutcome, ExampleRun, ExampleView, SpecExample, StepResult } from './specExamples.ts';

/** Runs `example` on the model. */
export function runExampleOnModel(example: SpecExample): ExampleRun {
  let state: KmsState = EMPTY_KMS;
  const steps: StepResult[] = example.steps.map((step) => {
    const now = exampleTime(step.day);
    if ('select' in step) {
      const r = selectKey(state, step.select.sender, step.select.recipients, now);
      return r.ok ? { refused: null, chooses: r.selection } : { refused: r.error.code };
    }
    const r = applyOperation(state, toKmsOperation(step.op, now));
    if (!r.ok) return { refused: r.error.code };
    state = r.state;
    return { refused: null };
  });
  return { steps, outcome: modelOutcome(state, example.outcome) };
}

/** The parts of `state` that `asked` names, in its shape. */
export function modelOutcome(state: KmsState, asked: ExampleOutcome): ExampleOutcome {
  const out: { -readonly [K in keyof ExampleOutcome]: ExampleOutcome[K] } = {};
  if (asked.keys) {
    out.keys = Object.fromEntries(
      Object.keys(asked.keys).map((id) => {
        const key = state.keys[id];
        return [id, key ? { state: keyStateOf(key), holders: [...key.holders] } : null];
      }),
    );
  }
  if (asked.groups) {
    out.groups = Object.fromEntries(
      Object.keys(asked.groups).map((id) => {
        const group = state.groups[id];
        return [id, group ? [...group.members] : null];
      }),
    );
  }
  if (asked.views) {
    out.views = Object.fromEntries(Object.keys(asked.views).map((id) => [id, modelView(state, id)]));
  }
  return out;
}

function modelView(state: KmsState, userId: string): ExampleView | null {
  const p = projectUser(state, userId);
  if (!p) return null;
  return {
    groups: Object.fromEntries(p.groups.map((g) => [g.id, { name: g.name, members: [...g.members] }])),
    users: Object.fromEntries(p.users.map((u) => [u.id, u.name])),
    keys: Object.fromEntries(p.keys.map((k) => [k.id, { name: k.name, state: k.state }])),
  };
}
