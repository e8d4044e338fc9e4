import type { SqlError } from "@effect/sql/SqlError"
import { Effect, type Schedule } from "effect"
import type { Topics } from "../Config.js"
import type { Decision } from "./Decision.js"
import type { StaleGeneration } from "./Errors.js"
import type { Generation } from "./Generation.js"
import * as Pending from "./Pending.js"
import { isRetryable, type Retryable } from "./Retryable.js"

export interface WriteDeps {
  readonly topics: Topics
  readonly current: () => Generation
  /** hands a decision to the committer; what it returns completes once it is durable */
  readonly submit: (generation: Generation, decision: Decision) => Effect.Effect<Pending.Pending<void, StaleGeneration>>
  readonly retry: Schedule.Schedule<unknown, { readonly _tag: string }>
  /** memory can no longer be trusted: reload it from PostgreSQL */
  readonly discard: (generation: Generation, reason: string) => void
}

/** How a write asked for over HTTP is applied through the actors and made durable. */
export const makeDurableWrites = ({ current, submit, retry }: WriteDeps) => {
  // StaleGeneration and database errors are retried (the schedule knows which); refusals are not.
  // One span per write, retries included.
  const durably = <A, E extends { readonly _tag: string }>(
    span: string,
    body: (generation: Generation) => Effect.Effect<A, E | Retryable>,
  ): Effect.Effect<A, Exclude<E, Retryable>> =>
    Effect.suspend(() => body(current())).pipe(
      Effect.retry(retry),
      // the schedule retries these for as long as it takes; if one escapes, it is a bug
      Effect.catchIf((e: E | Retryable): e is Retryable => isRetryable(e), Effect.die),
      Effect.withSpan(span),
    )

  /**
   * Applies a command and hands what it decided to the committer in one step that cannot be
   * interrupted (an HTTP client going away in between would leave a change in memory that nobody
   * commits or gives back), then waits until it is durable.
   */
  const applyAndCommit = <M, E, A>(
    generation: Generation,
    apply: Effect.Effect<M, E | StaleGeneration | SqlError>,
    decide: (applied: M) => { readonly decision: Decision; readonly result: A },
  ) =>
    Effect.uninterruptible(
      Effect.flatMap(apply, (applied) => {
        const { decision, result } = decide(applied)
        return Effect.map(submit(generation, decision), (done) => ({ done, result }))
      }),
    ).pipe(Effect.flatMap(({ done, result }) => Effect.as(Pending.wait(done), result)))

  return { durably, applyAndCommit } as const
}
