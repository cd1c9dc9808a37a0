/**
 * The worked examples of the specification (`model/specExamples.ts`) run on the implementation:
 * operations through the Admin, selections on the sender's own device after its files are synced,
 * projections read from each user's device. The same data runs on the model
 * (`model/specExamples.test.ts`); both must produce the run each example asks for.
 */
import { describe, expect, test } from 'vitest';
import { KmsError } from '../../model/kms.ts';
import type { KmsErrorCode } from '../../model/kms.ts';
import { EXAMPLE_START, SPEC_EXAMPLES, exampleTime, expectedRun, toKmsOperation } from '../../model/specExamples.ts';
import type { ExampleOutcome, ExampleRun, ExampleView, SpecExample, StepResult } from '../../model/specExamples.ts';
import type { World } from './world.testkit.ts';
import { newWorld } from './world.testkit.ts';

/** Runs `fn`; a `KmsError` becomes its code, anything else is thrown. */
function refusalOf<T>(fn: () => T): { value: T; refused: null } | { refused: KmsErrorCode } {
  try {
    return { value: fn(), refused: null };
  } catch (error) {
    if (error instanceof KmsError) return { refused: error.code };
    throw error;
  }
}

/** A user's device view, in the shape of the examples. */
function deviceView(w: World, userId: string): ExampleView | null {
  const user = w.users.get(userId);
  if (!user) return null;
  return {
    groups: Object.fromEntries(user.groups().map((g) => [g.id, { name: g.name, members: [...g.members] }])),
    users: Object.fromEntries(user.users().map((u) => [u.id, u.name])),
    keys: Object.fromEntries(user.keys().map((k) => [k.id, { name: k.name, state: k.state }])),
  };
}

async function implOutcome(w: World, asked: ExampleOutcome): Promise<ExampleOutcome> {
  const out: { -readonly [K in keyof ExampleOutcome]: ExampleOutcome[K] } = {};
  if (asked.keys) {
    out.keys = Object.fromEntries(
      Object.keys(asked.keys).map((id) => {
        const r = refusalOf(() => w.admin.keyInfo(id));
        return [id, r.refused === null ? { state: r.value.state, holders: [...r.value.holders] } : null];
      }),
    );
  }
  if (asked.groups) {
    out.groups = Object.fromEntries(
      Object.keys(asked.groups).map((id) => {
        const r = refusalOf(() => w.admin.groupInfo(id));
        return [id, r.refused === null ? [...r.value.members] : null];
      }),
    );
  }
  if (asked.views) {
    await w.syncByFiles();
    out.views = Object.fromEntries(Object.keys(asked.views).map((id) => [id, deviceView(w, id)]));
  }
  return out;
}

/** Runs `example` on a fresh installation; devices are provisioned only when the example reads one. */
async function runExampleOnImpl(example: SpecExample): Promise<ExampleRun> {
  const w = await newWorld(EXAMPLE_START, example.id);
  const devices = example.outcome.views !== undefined || example.steps.some((s) => 'select' in s);
  const steps: StepResult[] = [];
  for (const step of example.steps) {
    const now = exampleTime(step.day);
    w.clock.set(now);
    if ('select' in step) {
      await w.syncByFiles();
      const sender = w.users.get(step.select.sender);
      if (!sender) throw new Error(`example ${example.id}: no device for ${step.select.sender}`);
      const r = refusalOf(() => sender.findKey(step.select.recipients));
      steps.push(r.refused === null ? { refused: null, chooses: r.value } : r);
      continue;
    }
    const op = toKmsOperation(step.op, now);
    const r = refusalOf(() => w.admin.apply(op));
    if (r.refused === null && op.type === 'addUser' && devices) await w.addDevice(op.userId);
    steps.push({ refused: r.refused });
  }
  return { steps, outcome: await implOutcome(w, example.outcome) };
}

describe('worked examples on the implementation', () => {
  for (const example of SPEC_EXAMPLES) {
    test(`${example.id}: ${example.title}`, async () => {
      expect(await runExampleOnImpl(example)).toEqual(expectedRun(example));
    });
  }
});
