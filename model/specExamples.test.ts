import { describe, expect, test } from 'vitest';
import { EMPTY_KMS } from './kms.ts';
import { OPERATION_RULES } from './kmsOperations.ts';
import { KMS_RULE_IDS } from './kmsRules.ts';
import { modelOutcome, runExampleOnModel } from './specExampleRunner.ts';
import { SPEC_EXAMPLES, expectedRun } from './specExamples.ts';

describe('worked examples on the model', () => {
  for (const example of SPEC_EXAMPLES) {
    test(`${example.id}: ${example.title}`, () => {
      expect(runExampleOnModel(example)).toEqual(expectedRun(example));
    });
  }

  test('every rule has an example, and every example names rules that exist', () => {
    const illustrated = new Set(SPEC_EXAMPLES.flatMap((e) => e.rules));
    expect(KMS_RULE_IDS.filter((id) => !illustrated.has(id))).toEqual([]);
    expect([...illustrated].filter((id) => !KMS_RULE_IDS.includes(id))).toEqual([]);
    expect(new Set(SPEC_EXAMPLES.map((e) => e.id)).size).toBe(SPEC_EXAMPLES.length);
  });

  test('every refusal an operation declares is shown by an example step of that operation', () => {
    const shown = new Set(
      SPEC_EXAMPLES.flatMap((e) =>
        e.steps.flatMap((s) => (s.refused ? [`${'select' in s ? 'selectKey' : s.op.type}:${s.refused}`] : [])),
      ),
    );
    const declared = OPERATION_RULES.flatMap((o) => o.refusals.map((r) => `${o.operation}:${r.code}`));
    expect(declared.filter((d) => !shown.has(d))).toEqual([]);
    expect([...shown].filter((s) => !declared.includes(s))).toEqual([]);
  });

  test('an outcome asked of a user that does not exist is null, so a wrong example fails visibly', () => {
    expect(modelOutcome(EMPTY_KMS, { views: { U1: { groups: {}, users: {}, keys: {} } } })).toEqual({
      views: { U1: null },
    });
  });
});
