/**
 * A tap on the pure `transition()` and `initialTransition()` every machine steps through
 * (`model/pureTransition.ts`, xstate's functions with a reused scope), installed by the deployment
 * suites with `vi.mock('../../model/pureTransition.ts', …)`, so that the statistics count the edges
 * of every machine the implementation and the simulator actually take (key life cycle, update processing, publication,
 * PIN session) without any hook in production code.
 *
 * This module imports nothing (it is loaded from inside the mock factory of
 * `model/pureTransition.ts`, so importing a module that imports it here would recurse). Test support only.
 * @module
 */

/** One transition taken: machine ID, source, event (`''` for an eventless step), target, guard. */
export interface TapEdge {
  readonly machine: string;
  readonly source: string;
  readonly event: string;
  readonly target: string;
  readonly guard: string | null;
}

type Sink = (edge: TapEdge) => void;

let sink: Sink | null = null;
let muted = 0;

/** Where taken edges go (null: nowhere). */
export function setTapSink(next: Sink | null): void {
  sink = next;
}

/** Runs `fn` without recording: for the pure model, whose steps are not the implementation's. */
export function untapped<T>(fn: () => T): T {
  muted += 1;
  try {
    return fn();
  } finally {
    muted -= 1;
  }
}

function nameOf(guard: unknown): string | null {
  if (guard === undefined || guard === null) return null;
  if (typeof guard === 'string') return guard;
  const type = (guard as { type?: unknown }).type;
  return typeof type === 'string' ? type : '(inline)';
}

interface MachineLike {
  readonly id: string;
  readonly config: { readonly initial?: unknown };
  getTransitionData(
    snapshot: unknown,
    event: unknown,
  ): Array<{ guard?: unknown; target?: ReadonlyArray<{ key: string }> }>;
  readonly root: {
    readonly states: Record<
      string,
      { readonly always?: ReadonlyArray<{ guard?: unknown; target?: ReadonlyArray<{ key: string }> }> }
    >;
  };
}

function emitEventless(machine: MachineLike, from: string, to: string): void {
  if (from === to || sink === null) return;
  const always = machine.root.states[from]?.always ?? [];
  const edge = always.find((t) => t.target?.some((s) => s.key === to));
  sink({ machine: machine.id, source: from, event: '', target: to, guard: nameOf(edge?.guard) });
}

/** Wraps xstate's `transition`. */
export function tapTransition<F extends (...args: never[]) => unknown>(original: F): F {
  return ((machine: MachineLike, snapshot: { value: unknown }, event: { type: string }, ...rest: unknown[]) => {
    const recording = sink !== null && muted === 0 && typeof snapshot?.value === 'string';
    let chosen: { guard?: unknown; target?: ReadonlyArray<{ key: string }> } | undefined;
    if (recording) {
      try {
        chosen = machine.getTransitionData(snapshot, event)[0];
      } catch {
        chosen = undefined;
      }
    }
    const result = (original as unknown as (...a: unknown[]) => [{ value: unknown }, unknown])(
      machine,
      snapshot,
      event,
      ...rest,
    );
    if (recording && chosen !== undefined && sink !== null) {
      const from = snapshot.value as string;
      const mid = chosen.target?.[0]?.key ?? from;
      sink({ machine: machine.id, source: from, event: event.type, target: mid, guard: nameOf(chosen.guard) });
      emitEventless(machine, mid, String(result[0].value));
    }
    return result;
  }) as unknown as F;
}

/** Wraps xstate's `initialTransition` (a restored PIN machine may lock at once: an eventless edge). */
export function tapInitialTransition<F extends (...args: never[]) => unknown>(original: F): F {
  return ((machine: MachineLike, ...rest: unknown[]) => {
    const result = (original as unknown as (...a: unknown[]) => [{ value: unknown }, unknown])(machine, ...rest);
    if (sink !== null && muted === 0 && typeof machine.config.initial === 'string') {
      emitEventless(machine, machine.config.initial, String(result[0].value));
    }
    return result;
  }) as unknown as F;
}
