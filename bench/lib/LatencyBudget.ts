// Where an order's latency goes: the service's per-stage histograms over the measured window, and the
// bench's own observer, as p50 / p99 per stage (the README's latency budget).

/** One stage's share of the latency, in ms (quantiles interpolated inside histogram buckets). */
export interface StageLatency {
  readonly stage: string
  readonly samples: number
  readonly p50: number
  readonly p99: number
}

type Buckets = ReadonlyArray<{ readonly le: number; readonly count: number }>

/** The cumulative buckets of `inventory_stage_seconds`, per stage, as /metrics shows them now. */
export const scrapeStages = async (port: string): Promise<Map<string, Buckets>> => {
  const text = await fetch(`http://127.0.0.1:${port}/metrics`).then(
    (r) => r.text(),
    () => "",
  )
  const stages = new Map<string, Array<{ le: number; count: number }>>()
  for (const m of text.matchAll(/^inventory_stage_seconds_bucket\{([^}]*)\} (\d+)/gm)) {
    const stage = /stage="([^"]+)"/.exec(m[1]!)?.[1]
    const le = /le="([^"]+)"/.exec(m[1]!)?.[1]
    if (stage === undefined || le === undefined) continue
    const buckets = stages.get(stage) ?? []
    buckets.push({ le: le === "+Inf" ? Number.POSITIVE_INFINITY : Number(le), count: Number(m[2]) })
    stages.set(stage, buckets)
  }
  for (const buckets of stages.values()) buckets.sort((a, b) => a.le - b.le)
  return stages
}

/** The q-quantile (0..1) of a window's buckets, in ms, linear inside the bucket it falls in. */
const quantileMs = (buckets: Buckets, q: number): number => {
  const total = buckets[buckets.length - 1]?.count ?? 0
  if (total === 0) return 0
  const rank = q * total
  let lower = 0
  let below = 0
  for (const { le, count } of buckets) {
    if (count >= rank) {
      // beyond the last finite bound: report that bound (a floor)
      if (!Number.isFinite(le)) return lower * 1000
      const share = count === below ? 0 : (rank - below) / (count - below)
      return (lower + (le - lower) * share) * 1000
    }
    lower = le
    below = count
  }
  return lower * 1000
}

/** Each stage over the window between two scrapes, in the order an order meets them. */
export const stageBudget = (
  before: Map<string, Buckets>,
  after: Map<string, Buckets>,
  order: ReadonlyArray<string>,
): Array<StageLatency> =>
  order.flatMap((stage) => {
    const end = after.get(stage)
    if (end === undefined) return []
    const start = before.get(stage)
    const window = end.map((b, i) => ({ le: b.le, count: b.count - (start?.[i]?.count ?? 0) }))
    const samples = window[window.length - 1]?.count ?? 0
    return [{ stage, samples, p50: quantileMs(window, 0.5), p99: quantileMs(window, 0.99) }]
  })

/** p50 / p99 of raw samples (ms), as a stage of the budget. */
export const sampledStage = (stage: string, values: ReadonlyArray<number>): StageLatency => {
  const sorted = [...values].sort((a, b) => a - b)
  const at = (q: number) =>
    sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!
  return { stage, samples: sorted.length, p50: at(0.5), p99: at(0.99) }
}
