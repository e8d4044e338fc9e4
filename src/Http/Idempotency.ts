import { createHash } from "node:crypto"
import { Effect, Option } from "effect"
import type { InventoryQueries } from "../Store/InventoryQueries.js"
import { IdempotencyKeyReused } from "./Errors.js"

// Idempotency-Key for admin writes: the answer is stored in the same transaction as the change,
// so a retry gets the stored answer and has no second effect; the same key with another request
// is refused. Requests with the same key on this instance wait for each other.

export const requestHash = (parts: unknown) => createHash("sha256").update(JSON.stringify(parts)).digest("hex")

const keyLocks = new Map<string, { readonly lock: Effect.Semaphore; users: number }>()

export const withKeyLock = <A, E, R>(key: string | undefined, effect: Effect.Effect<A, E, R>) => {
  if (key === undefined) return effect
  return Effect.suspend(() => {
    const entry = keyLocks.get(key) ?? { lock: Effect.unsafeMakeSemaphore(1), users: 0 }
    keyLocks.set(key, entry)
    entry.users++
    return entry.lock
      .withPermits(1)(effect)
      .pipe(
        Effect.ensuring(
          Effect.sync(() => {
            if (--entry.users === 0) keyLocks.delete(key)
          }),
        ),
      )
  })
}

/** The answer stored for `key`, if this same request was answered before; IdempotencyKeyReused for another request. */
export const storedAnswer = <A>(queries: InventoryQueries, key: string, hash: string, decode: (body: string) => A) =>
  Effect.flatMap(
    queries.idempotentAnswer(key),
    Option.match({
      onNone: () => Effect.succeed(Option.none<A>()),
      onSome: (answer) =>
        answer.request_hash === hash
          ? Effect.succeed(Option.some(decode(answer.response_body)))
          : Effect.fail(
              new IdempotencyKeyReused({
                message: `Idempotency-Key ${JSON.stringify(key)} was already used for a different request`,
              }),
            ),
    }),
  )
