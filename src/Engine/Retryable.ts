import type { SqlError } from "@effect/sql/SqlError"
import { Duration, Schedule } from "effect"
import type { InconsistentMemory, StaleGeneration } from "./Errors.js"

/**
 * Failures that mean "decide again": memory was discarded (StaleGeneration) or disagrees with itself
 * (InconsistentMemory: it is reloaded), or the database did not answer. Never a refusal.
 */
export type Retryable = StaleGeneration | InconsistentMemory | SqlError

export const isRetryable = <E extends { readonly _tag: string }>(e: E | Retryable): e is Retryable =>
  e._tag === "StaleGeneration" || e._tag === "InconsistentMemory" || e._tag === "SqlError"

/** Retry until it works: nothing is acknowledged meanwhile, and progress resumes when the database returns. */
export const untilDurable = Schedule.exponential(Duration.millis(20), 2).pipe(
  Schedule.either(Schedule.spaced(Duration.seconds(5))),
  Schedule.whileInput((e: { readonly _tag: string }) => isRetryable(e)),
)
