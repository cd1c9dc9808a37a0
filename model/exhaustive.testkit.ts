/**
 * Exhaustive checks of a flat XState machine with `xstate/graph`: every declared state reached,
 * every declared edge (eventless ones included) exercised, and every (state, event) pair the state
 * does not accept shown to be refused with the snapshot unchanged. Graph traversal only follows
 * events a state accepts, so the refusals are enumerated here explicitly.
 *
 * Test support only: not part of the package.
 * @module
 */
import type { AnyMachineSnapshot, AnyStateMachine, EventObject } from 'xstate';
import { transition } from 'xstate';
import { adjacencyMapToArray, getAdjacencyMap, getShortestPaths, getSimplePaths, getStateNodes } from 'xstate/graph';
import { declaredTransitions } from './specDocument.ts';
import type { SpecEdge } from './specDocument.ts';

/** What to explore. */
export interface ExhaustiveSubject {
  readonly machine: AnyStateMachine;
  readonly input: unknown;
  /** Concrete events, with every payload variant that matters to a guard. */
  readonly events: readonly EventObject[];
  /** Collapses context that grows without bound (histories) so the graph is finite. */
  readonly serializeState?: (snapshot: AnyMachineSnapshot) => string;
  /** Also count simple (cycle-free) paths; exponential, so only for small graphs. */
  readonly countSimplePaths?: boolean;
}

/** A declared edge of the machine definition. */
export type DeclaredEdge = SpecEdge;

/** The result of an exploration. */
export interface Exploration {
  readonly declaredStates: readonly string[];
  readonly reachedStates: readonly string[];
  readonly declaredEdges: readonly DeclaredEdge[];
  readonly unexercisedEdges: readonly DeclaredEdge[];
  /** Vertices of the traversal graph (distinct serialized snapshots). */
  readonly vertices: number;
  /** Accepted steps (vertex, event) found by traversal. */
  readonly acceptedSteps: number;
  /** Refused (vertex, event) pairs checked to leave the snapshot unchanged. */
  readonly refusedChecks: number;
  /** Refusals that changed the snapshot: must be empty. */
  readonly refusalsThatChanged: readonly string[];
  /** (state, event type) pairs not handled by the state that no check covered: must be empty. */
  readonly uncoveredUnhandledPairs: readonly string[];
  readonly shortestPaths: number;
  readonly simplePaths: number | null;
}

function stateValueOf(snapshot: AnyMachineSnapshot): string {
  if (typeof snapshot.value !== 'string') throw new Error('exhaustive checks support flat machines only');
  return snapshot.value;
}

/** Explores `subject` and reports what is covered. */
export function explore(subject: ExhaustiveSubject): Exploration {
  const { machine, events } = subject;
  const serializeState =
    subject.serializeState ?? ((s: AnyMachineSnapshot) => JSON.stringify({ value: s.value, context: s.context }));
  const options = {
    input: subject.input,
    events,
    serializeState,
    filterEvents: (s: AnyMachineSnapshot, e: EventObject) => s.can(e),
    limit: 100_000,
  };
  const adjacency = getAdjacencyMap(machine, options);
  const steps = adjacencyMapToArray(adjacency);
  const vertices = Object.values(adjacency as unknown as Record<string, { state: AnyMachineSnapshot }>).map(
    (v) => v.state,
  );

  const declaredStates = getStateNodes(machine.root).map((n) => n.key);
  const reachedStates = [...new Set(vertices.map(stateValueOf))];
  const edges = declaredTransitions(machine);

  const targetsOf = (state: string, eventType: string): string[] =>
    edges.filter((e) => e.source === state && e.event === eventType).map((e) => e.target);
  const exercised = (edge: DeclaredEdge): boolean =>
    steps.some((step) => {
      const from = stateValueOf(step.state as AnyMachineSnapshot);
      const to = stateValueOf(step.nextState as AnyMachineSnapshot);
      if (edge.event === '') {
        return to === edge.target && targetsOf(from, step.event.type).includes(edge.source);
      }
      return from === edge.source && step.event.type === edge.event && to === edge.target;
    });

  let refusedChecks = 0;
  const refusalsThatChanged: string[] = [];
  const refusedPairs = new Set<string>();
  for (const snapshot of vertices) {
    for (const event of events) {
      if (snapshot.can(event)) continue;
      const [next] = transition(machine, snapshot, event);
      refusedChecks += 1;
      const same =
        JSON.stringify({ v: next.value, c: next.context }) ===
        JSON.stringify({ v: snapshot.value, c: snapshot.context });
      if (!same) refusalsThatChanged.push(`${stateValueOf(snapshot)} + ${JSON.stringify(event)}`);
      refusedPairs.add(`${stateValueOf(snapshot)}:${event.type}`);
    }
  }
  const eventTypes = [...new Set(events.map((e) => e.type))];
  const uncoveredUnhandledPairs: string[] = [];
  for (const node of getStateNodes(machine.root)) {
    for (const type of eventTypes) {
      const handled = Object.hasOwn(node.config.on ?? {}, type);
      if (!handled && !refusedPairs.has(`${node.key}:${type}`)) {
        uncoveredUnhandledPairs.push(`${node.key}:${type}`);
      }
    }
  }

  return {
    declaredStates,
    reachedStates,
    declaredEdges: edges,
    unexercisedEdges: edges.filter((e) => !exercised(e)),
    vertices: vertices.length,
    acceptedSteps: steps.length,
    refusedChecks,
    refusalsThatChanged,
    uncoveredUnhandledPairs,
    shortestPaths: getShortestPaths(machine, options).length,
    simplePaths: subject.countSimplePaths === true ? getSimplePaths(machine, options).length : null,
  };
}

/** One line for the closing note and the test log. */
export function summarize(name: string, e: Exploration): string {
  return (
    `${name}: ${e.reachedStates.length}/${e.declaredStates.length} states, ` +
    `${e.declaredEdges.length - e.unexercisedEdges.length}/${e.declaredEdges.length} declared edges, ` +
    `${e.vertices} vertices, ${e.acceptedSteps} accepted steps, ${e.refusedChecks} refusals checked, ` +
    `${e.shortestPaths} shortest paths` +
    (e.simplePaths === null ? '' : `, ${e.simplePaths} simple paths`)
  );
}
