/**
 * The index of the KMS rules the specification states, each of which has at least one worked
 * example (`specExamples.ts`): every operation (`kmsOperations.ts`), every row of the group key
 * policy (`groupKeyPolicy.ts`), and the three rules that cut across operations — expiry first, the
 * key preference of selection, and need-to-know.
 * @module
 */
import { GROUP_KEY_POLICY } from './groupKeyPolicy.ts';
import type { GroupKeyRule } from './groupKeyPolicy.ts';
import { OPERATION_RULES } from './kmsOperations.ts';

/** The ID of a row of the group key policy: `policy:leave`, `policy:join/privateHistory`, … */
export function policyRuleId(rule: GroupKeyRule): string {
  if (rule.shareHistory === 'any') return `policy:${rule.event}`;
  return `policy:${rule.event}/${rule.shareHistory ? 'sharedHistory' : 'privateHistory'}`;
}

/** The rules that cut across operations. */
export const CROSS_CUTTING_RULES = ['expiryFirst', 'keyPreference', 'needToKnow'] as const;

/** Every rule's ID, in the order of the specification. */
export const KMS_RULE_IDS: readonly string[] = [
  ...OPERATION_RULES.map((o) => o.operation),
  ...GROUP_KEY_POLICY.map(policyRuleId),
  ...CROSS_CUTTING_RULES,
];
