// What a soak run does, drawn from its seed: the products (the hot ones also at a store that is
// served first and may promise units when it runs out), the load tick by tick (orders, some lines
// pinned to the store, duplicates, cancellations before and after their order, fulfilments whole and
// partial, some redelivered, HTTP adjustments, transfers to the store received a second later; the
// reservations nobody ships expire) and the fault schedule. The same seed gives the same plan; only the timing of the real system varies.

export const rng = (seed: number) => {
  let x = seed | 0
  const next = () => {
    x = (x + 0x6d2b79f5) | 0
    let t = Math.imul(x ^ (x >>> 15), 1 | x)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  return {
    /** an integer in [0, n) */
    int: (n: number) => Math.floor(next() * n),
    /** true with probability p */
    chance: (p: number) => next() < p,
    between: (low: number, high: number) => low + Math.floor(next() * (high - low + 1)),
  }
}

export const HOT = 5
export const COLD = 300
export const products = (): Array<{ readonly productId: string; readonly initial: number }> => [
  ...Array.from({ length: HOT }, (_, i) => ({ productId: `hot-${i}`, initial: 10_000 })),
  ...Array.from({ length: COLD }, (_, i) => ({ productId: `cold-${i}`, initial: 2_000 })),
]

/** Where the hot products are also kept: best priority, a little stock, backorders within a limit. */
export const STORE = "store"
export const storeStock = 400
export const storeBackorderLimit = 40

export const tickMs = 200

export interface PlannedOrder {
  readonly orderId: string
  readonly items: ReadonlyArray<{
    readonly product_id: string
    readonly quantity: number
    readonly location_id?: string
  }>
}

/** Units sent from `default` to the store, received `receiveAfter` ticks later; `key` is its reference. */
export interface PlannedTransfer {
  readonly productId: string
  readonly quantity: number
  readonly key: string
}
const receiveAfter = 5

export interface PlannedFulfilment {
  readonly orderId: string
  readonly fulfillmentId: string
  /** absent: everything still held */
  readonly items?: ReadonlyArray<{ readonly product_id: string; readonly quantity: number }>
}

/** Reservations nobody ships or cancels are released this long after they were made. */
export const ttlSeconds = 20

export interface Tick {
  readonly creates: ReadonlyArray<PlannedOrder>
  readonly cancels: ReadonlyArray<string>
  readonly fulfils: ReadonlyArray<PlannedFulfilment>
  readonly adjustment?: {
    readonly productId: string
    readonly quantity: number
    readonly type: string
    readonly key: string
  }
  readonly transfer?: PlannedTransfer
  /** the transfers (by key) whose units arrive now */
  readonly receives: ReadonlyArray<string>
}

/** The load, one tick at a time; `ordersPerTick` new orders each, plus what earlier ticks deferred. */
export const loadPlan = (seed: number, ticks: number, ordersPerTick: number) => {
  const r = rng(seed)
  const later = new Map<
    number,
    {
      creates: Array<PlannedOrder>
      cancels: Array<string>
      fulfils: Array<PlannedFulfilment>
      receives: Array<string>
    }
  >()
  const defer = (tick: number) => {
    const slot = later.get(tick) ?? { creates: [], cancels: [], fulfils: [], receives: [] }
    later.set(tick, slot)
    return slot
  }
  const cancelled = new Set<string>()
  const fulfilments = new Map<string, Array<string>>()
  const fulfil = (tick: number, f: PlannedFulfilment) => {
    defer(tick).fulfils.push(f)
    const ids = fulfilments.get(f.orderId) ?? []
    if (!ids.includes(f.fulfillmentId)) ids.push(f.fulfillmentId)
    fulfilments.set(f.orderId, ids)
  }
  const plan: Array<Tick> = []
  // past the last tick, only what earlier ticks deferred (duplicates, cancellations, late creates)
  for (let t = 0; t < ticks || later.size > 0; t++) {
    const now = defer(t)
    later.delete(t)
    const creates = [...now.creates]
    const cancels = [...now.cancels]
    const fulfils = [...now.fulfils]
    for (let i = 0; i < (t < ticks ? ordersPerTick : 0); i++) {
      const orderId = `s${seed}-${t}-${i}`
      const chosen = new Set<string>()
      const lines = r.between(1, 5)
      for (let l = 0; l < lines; l++) chosen.add(r.chance(0.3) ? `hot-${r.int(HOT)}` : `cold-${r.int(COLD)}`)
      const order = {
        orderId,
        items: [...chosen].map((product_id) => {
          const item = { product_id, quantity: r.between(1, 3) }
          return product_id.startsWith("hot-") && r.chance(0.25) ? { ...item, location_id: STORE } : item
        }),
      }
      if (r.chance(0.01)) {
        // cancelled before it is created: the cancellation now, the order a second later
        cancels.push(orderId)
        cancelled.add(orderId)
        defer(t + 5).creates.push(order)
        continue
      }
      creates.push(order)
      if (r.chance(0.03)) defer(t + r.between(1, 50)).creates.push(order) // a duplicate
      if (r.chance(0.1)) {
        cancelled.add(orderId)
        defer(t + r.between(2, 25)).cancels.push(orderId)
      }
      if (r.chance(0.25)) {
        // shipped whole 1-8 s later, now and then delivered twice
        const whole = { orderId, fulfillmentId: `${orderId}-f1` }
        fulfil(t + r.between(5, 40), whole)
        if (r.chance(0.05)) fulfil(t + r.between(41, 60), whole)
      } else if (r.chance(0.1)) {
        // one unit of the first line shipped, and half the time the rest later
        fulfil(t + r.between(5, 20), {
          orderId,
          fulfillmentId: `${orderId}-f1`,
          items: [{ product_id: order.items[0]!.product_id, quantity: 1 }],
        })
        if (r.chance(0.5)) fulfil(t + r.between(25, 60), { orderId, fulfillmentId: `${orderId}-f2` })
      } else if (r.chance(0.06)) {
        // produced back to back with its create: one unit of the first line, then "the rest"
        const first = {
          orderId,
          fulfillmentId: `${orderId}-b1`,
          items: [{ product_id: order.items[0]!.product_id, quantity: 1 }],
        }
        const rest = { orderId, fulfillmentId: `${orderId}-b2` }
        fulfils.push(first, rest) // this tick, right after its create
        fulfilments.set(orderId, [first.fulfillmentId, rest.fulfillmentId])
      }
    }
    const adjustment =
      t % 10 === 5 && t < ticks
        ? {
            productId: r.chance(0.5) ? `hot-${r.int(HOT)}` : `cold-${r.int(COLD)}`,
            ...(r.chance(0.8)
              ? { quantity: r.between(50, 400), type: "restock" }
              : { quantity: -r.between(1, 20), type: "damage" }),
            key: `soak-${seed}-adj-${t}`,
          }
        : undefined
    const transfer =
      t % 25 === 12 && t < ticks
        ? { productId: `hot-${r.int(HOT)}`, quantity: r.between(100, 250), key: `soak-${seed}-tr-${t}` }
        : undefined
    if (transfer) defer(t + receiveAfter).receives.push(transfer.key)
    plan.push({
      creates,
      cancels,
      fulfils,
      receives: [...now.receives],
      ...(adjustment ? { adjustment } : {}),
      ...(transfer ? { transfer } : {}),
    })
  }
  return { ticks: plan, cancelled, fulfilments }
}

export const faultKinds = [
  "service kill -9",
  "service paused past its session",
  "service SIGTERM",
  "broker kill -9",
  "broker stop",
  "PostgreSQL connections cut",
  "database stalled",
  "second instance joins or leaves",
] as const
export type FaultKind = (typeof faultKinds)[number]

export interface PlannedFault {
  readonly atMs: number
  readonly kind: FaultKind
  /** how long the fault lasts where it has a duration (broker down, database stalled, restart delay) */
  readonly holdMs: number
}

/** Faults every 10-40 s from 20 s in until 30 s before the end; a quarter of them land together with another. */
export const faultPlan = (seed: number, durationMs: number): Array<PlannedFault> => {
  const r = rng(seed ^ 0x5eed)
  const faults: Array<PlannedFault> = []
  for (let at = 20_000; at < durationMs - 30_000; at += r.between(10_000, 40_000)) {
    const kind = faultKinds[r.int(faultKinds.length)]!
    faults.push({ atMs: at, kind, holdMs: r.between(500, 5_000) })
    if (r.chance(0.25)) {
      const other = faultKinds.filter((k) => k !== kind)
      faults.push({ atMs: at + r.int(1_000), kind: other[r.int(other.length)]!, holdMs: r.between(500, 5_000) })
    }
  }
  return faults
}
