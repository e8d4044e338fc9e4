import { Effect, Metric } from "effect"

const consumerLag = Metric.gauge("inventory_consumer_lag", {
  description: "messages behind the partition end, per partition",
})

/**
 * What the order consumer reports about itself, for /ready and /metrics: written by the Kafka side,
 * read by HTTP, so the HTTP server needs neither Kafka nor the consumer to come up (ops can read
 * stock while the broker is away; /ready says why it is not ready).
 */
export class ConsumerStatus extends Effect.Service<ConsumerStatus>()("ConsumerStatus", {
  sync: () => {
    let joined = false
    let unreadable: string | undefined
    const lag = new Map<string, number>()
    return {
      /** in its group and reading its partitions */
      joined: () => joined,
      setJoined: (value: boolean) => {
        joined = value
      },
      /** why the consumer cannot read its partitions, while it cannot */
      unreadable: () => unreadable,
      setUnreadable: (reason: string | undefined) => {
        unreadable = reason
      },
      /** messages behind the partition end, per "topic/partition" */
      lag: (): ReadonlyMap<string, number> => lag,
      setLag: (partition: string, behind: number) => {
        lag.set(partition, behind)
      },
      /** the consumer-lag gauge, per partition, set from what was reported last */
      refreshGauges: Effect.forEach(
        lag,
        ([partition, behind]) => Metric.set(consumerLag.pipe(Metric.tagged("partition", partition)), behind),
        { discard: true },
      ),
    }
  },
}) {}
