/**
 * How many orders the instance may have decided and not yet durable, across all its partitions.
 * Beyond it, a partition waits before deciding its next chunk: the orders wait in Kafka, not in the
 * heap, and the committer's queue stays about as long as it needs to keep PostgreSQL busy. A chunk
 * is let in whatever its size when nothing else is in flight.
 */
export const makeUndurableBudget = (limit: number) => {
  let used = 0
  let waiting: Array<() => void> = []
  return {
    fits: (orders: number) => used === 0 || used + orders <= limit,
    take: (orders: number) => {
      used += orders
    },
    give: (orders: number) => {
      used -= orders
      const woken = waiting
      waiting = []
      for (const wake of woken) wake()
    },
    /** settles the next time orders are given back */
    released: () =>
      new Promise<void>((resolve) => {
        waiting.push(resolve)
      }),
    used: () => used,
  }
}
export type UndurableBudget = ReturnType<typeof makeUndurableBudget>
