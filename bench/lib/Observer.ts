import { kafka } from "./Setup.js"

/** Watches outcome topics: when each order's first outcome arrived, and repeats of an event id. */
export const observe = async (topics: ReadonlyArray<string>, groupId: string) => {
  const firstSeen = new Map<string, number>()
  /** when the first outcome was produced (its Kafka timestamp, epoch ms) */
  const producedAt = new Map<string, number>()
  const eventIds = new Set<string>()
  let events = 0
  let duplicates = 0
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 20, maxBytes: 16 * 1024 * 1024 })
  await consumer.connect()
  await consumer.subscribe({ topics: [...topics], fromBeginning: true })
  await consumer.run({
    partitionsConsumedConcurrently: 6,
    eachBatch: async ({ batch }) => {
      const now = performance.now()
      for (const m of batch.messages) {
        events++
        const key = m.key?.toString() ?? ""
        if (!firstSeen.has(key)) {
          firstSeen.set(key, now)
          producedAt.set(key, Number(m.timestamp))
        }
        const id = m.headers?.event_id?.toString()
        if (id !== undefined) {
          if (eventIds.has(id)) duplicates++
          else eventIds.add(id)
        }
      }
    },
  })
  return {
    firstSeen,
    producedAt,
    count: () => firstSeen.size,
    events: () => events,
    duplicateEventIds: () => duplicates,
    stop: () => consumer.disconnect(),
  }
}

export const percentile = (sorted: ReadonlyArray<number>, p: number) =>
  sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!

export const median = (values: ReadonlyArray<number>) =>
  percentile(
    [...values].sort((a, b) => a - b),
    50,
  )
