/**
 * A one-shot signal (the group is rebalancing) that waiters listen to only while they wait: a
 * listener is removed once its wait is over, so a signal that stays unfired for hours holds nothing
 * of the waits before. (A promise that never settles keeps every reaction ever attached to it, and
 * with each reaction whatever its closure holds.)
 */
export interface Signal {
  readonly fired: () => boolean
  /** calls `listener` once the signal fires (at once if it has); returns what stops listening */
  readonly listen: (listener: () => void) => () => void
}

export const makeSignal = (): Signal & { readonly fire: () => void; readonly listening: () => number } => {
  let fired = false
  const listeners = new Set<() => void>()
  return {
    fired: () => fired,
    fire: () => {
      if (fired) return
      fired = true
      for (const listener of listeners) listener()
      listeners.clear()
    },
    listen: (listener) => {
      if (fired) {
        listener()
        return () => {}
      }
      listeners.add(listener)
      return () => {
        listeners.delete(listener)
      }
    },
    listening: () => listeners.size,
  }
}

/** Settles as `settled` does, or succeeds as soon as `signal` fires; listens only meanwhile. */
export const settledOr = (settled: Promise<void>, signal: Signal | undefined): Promise<void> =>
  signal === undefined
    ? settled
    : new Promise<void>((resolve, reject) => {
        const stop = signal.listen(resolve)
        settled.then(
          () => {
            stop()
            resolve()
          },
          (cause: unknown) => {
            stop()
            reject(cause)
          },
        )
      })
