/**
 * The gate of life-cycle use: every step of a key in the admin database goes through here, and the
 * key life-cycle machine alone decides whether it is allowed (NIST SP 800-57 Pt 1 Rev 5 §7). A rule
 * of its own file so that the mutation score's impl scope (stryker.config.mjs) names it by file.
 * @module
 */
import { keyLifecycleMachine, refusalOf } from '../../../model/keyLifecycle.ts';
import type { KeyEvent } from '../../../model/keyLifecycle.ts';
import { KmsError } from '../../../model/kms.ts';
import { transition } from '../../../model/pureTransition.ts';
import { stateOf } from '../kmsRows.ts';
import type { KeyRow } from '../kmsRows.ts';

/**
 * Sends `event` to the key's life-cycle machine. The machine alone decides whether the event is
 * allowed; a refusal becomes the model's `IllegalTransition`. Mirrors `stepKey` of `model/kms.ts`
 * (holders of a destroyed key are dropped by the rules, `rules/holders.ts`).
 */
export function stepKey(key: KeyRow, event: KeyEvent): KeyRow {
  if (!key.lifecycle.can(event)) {
    throw new KmsError('IllegalTransition', refusalOf(key.id, stateOf(key), event));
  }
  const [lifecycle] = transition(keyLifecycleMachine, key.lifecycle, event);
  return { ...key, lifecycle };
}
