import { Effect } from "effect"

/**
 * A one-shot result to wait for: what Deferred does, without its per-instance cost
 * (the engine makes one per actor command and per decision, hundreds of thousands a second).
 */
export interface Pending<A, E> {
  result: Effect.Effect<A, E> | undefined
  waiters: Array<(result: Effect.Effect<A, E>) => void> | undefined
}

export const make = <A, E = never>(): Pending<A, E> => ({ result: undefined, waiters: undefined })

export const complete = <A, E>(pending: Pending<A, E>, result: Effect.Effect<A, E>): void => {
  if (pending.result !== undefined) return
  pending.result = result
  const waiters = pending.waiters
  pending.waiters = undefined
  if (waiters) for (const resume of waiters) resume(result)
}

export const succeed = <A, E>(pending: Pending<A, E>, value: A): void => complete(pending, Effect.succeed(value))

export const fail = <A, E>(pending: Pending<A, E>, error: E): void => complete(pending, Effect.fail(error))

export const wait = <A, E>(pending: Pending<A, E>): Effect.Effect<A, E> =>
  Effect.suspend(() =>
    pending.result !== undefined
      ? pending.result
      : Effect.async<A, E>((resume) => {
          if (pending.result !== undefined) return resume(pending.result)
          if (pending.waiters === undefined) pending.waiters = [resume]
          else pending.waiters.push(resume)
          // an interrupted waiter leaves the list (the result, when it comes, is for the others)
          return Effect.sync(() => {
            const at = pending.waiters?.indexOf(resume) ?? -1
            if (at >= 0) pending.waiters!.splice(at, 1)
          })
        }),
  )
