import { Cause, Effect } from "effect"

/**
 * What a person needs when the service stops on its own: one line naming what failed and why
 * (the causes behind a wrapped error included), the full trace only at debug level.
 */
export const describeFailure = (error: unknown): string => {
  const parts: Array<string> = []
  let current: unknown = error
  for (let depth = 0; depth < 5 && current !== undefined && current !== null; depth++) {
    if (current instanceof AggregateError && current.errors.length > 0) {
      parts.push(current.errors.map(describeFailure).join("; "))
      break
    }
    if (typeof current !== "object") {
      parts.push(String(current))
      break
    }
    const { _tag, name, message, code } = current as Record<string, unknown>
    const label = typeof _tag === "string" ? _tag : typeof name === "string" ? name : "Error"
    const text = typeof message === "string" && message.length > 0 ? message : undefined
    parts.push([label, text].filter(Boolean).join(": ") + (typeof code === "string" ? ` (${code})` : ""))
    const inner = current as { cause?: unknown; error?: unknown }
    current = inner.cause ?? inner.error
  }
  return parts.join(" <- ")
}

/** Logs a fatal failure as one line, its trace at debug, then exits non-zero (resources are released by then). */
export const exitOnFailure = (cause: Cause.Cause<unknown>) =>
  Effect.gen(function* () {
    const failure = Cause.squash(cause)
    yield* Effect.logFatal(`inventory-service stopped: ${describeFailure(failure)}`)
    yield* Effect.logDebug(Cause.pretty(cause))
    yield* Effect.sync(() => process.exit(1))
  })
