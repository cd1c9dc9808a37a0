/**
 * xstate's pure `transition` and `initialTransition`, with one inert actor scope per machine
 * instead of a new one per call.
 *
 * Why: xstate builds every call's scope around a throw-away actor (`createInertActorScope`), and
 * constructing that actor computes the machine's initial snapshot, which cost more than the
 * transition itself; the KMS model, the device's PIN sessions and the host's update processing and
 * publication take thousands of transitions a second. The answers are the same: the scope only
 * matters to actions that spawn, invoke or address actors through the actor system, and none of
 * our machines has such an action (they are plain state and `assign`; `transition` returns their
 * actions for the caller to run and runs none). Reusing a scope with a machine that spawned would
 * leave its children in the shared system, so such a machine must keep xstate's own functions.
 * @module
 */
import { createActor } from 'xstate';
import type {
  AnyActorLogic,
  AnyActorScope,
  EventFromLogic,
  ExecutableActionsFrom,
  InputFrom,
  SnapshotFrom,
} from 'xstate';

type Actions<T extends AnyActorLogic> = ExecutableActionsFrom<T>[];

const scopes = new WeakMap<AnyActorLogic, AnyActorScope>();
const ignore = (): void => {};

/** The machine's inert scope, as xstate's `createInertActorScope` makes it, built once. */
function scopeOf(logic: AnyActorLogic): AnyActorScope {
  let scope = scopes.get(logic);
  if (scope === undefined) {
    const self = createActor(logic);
    scope = {
      self,
      defer: ignore,
      id: '',
      logger: ignore,
      sessionId: '',
      stopChild: ignore,
      system: self.system,
      emit: ignore,
      actionExecutor: ignore,
    } as AnyActorScope;
    scopes.set(logic, scope);
  }
  return scope;
}

/** Runs `step` with the scope collecting the actions it would execute. */
function collecting<T extends AnyActorLogic, S>(logic: T, step: (scope: AnyActorScope) => S): [S, Actions<T>] {
  const scope = scopeOf(logic);
  const actions: Actions<T> = [];
  // Restored afterwards, so that a transition taken inside another's guard cannot steal its actions.
  const outer = scope.actionExecutor;
  scope.actionExecutor = (action) => {
    actions.push(action as ExecutableActionsFrom<T>);
  };
  try {
    return [step(scope), actions];
  } finally {
    scope.actionExecutor = outer;
  }
}

/** Like xstate's `transition`: the next snapshot and the actions to execute, none executed. */
export function transition<T extends AnyActorLogic>(
  logic: T,
  snapshot: SnapshotFrom<T>,
  event: EventFromLogic<T>,
): [SnapshotFrom<T>, Actions<T>] {
  return collecting(logic, (scope) => logic.transition(snapshot, event, scope) as SnapshotFrom<T>);
}

/** Like xstate's `initialTransition`: the initial snapshot and the actions to execute, none executed. */
export function initialTransition<T extends AnyActorLogic>(
  logic: T,
  ...[input]: undefined extends InputFrom<T> ? [input?: InputFrom<T>] : [input: InputFrom<T>]
): [SnapshotFrom<T>, Actions<T>] {
  return collecting(logic, (scope) => logic.getInitialSnapshot(scope, input) as SnapshotFrom<T>);
}
