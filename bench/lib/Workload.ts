// Deterministic order workloads: uniform, hot (80 % of lines on 10 products), Zipf.

export type Distribution = "uniform" | "hot" | "zipf"

/** mulberry32: small, deterministic and uniform (an LCG's low bits repeat too soon). */
export const rng = (seed: number) => {
  let state = seed | 0
  return () => {
    state = (state + 0x6d2b79f5) | 0
    let t = Math.imul(state ^ (state >>> 15), 1 | state)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const zipfSampler = (n: number, s: number, random: () => number) => {
  const cdf = new Float64Array(n)
  let sum = 0
  for (let i = 0; i < n; i++) {
    sum += 1 / (i + 1) ** s
    cdf[i] = sum
  }
  return () => {
    const target = random() * sum
    let lo = 0
    let hi = n - 1
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (cdf[mid]! < target) lo = mid + 1
      else hi = mid
    }
    return lo
  }
}

export interface Workload {
  readonly orders: Array<{ key: string; value: string; lines: number }>
  /** units demanded per product index */
  readonly demand: Map<number, number>
}

export const makeWorkload = (options: {
  readonly orders: number
  readonly products: number
  readonly maxLines: number
  readonly distribution: Distribution
  readonly prefix: string
  readonly seed?: number
}): Workload => {
  const random = rng(options.seed ?? 42)
  const pick: () => number =
    options.distribution === "uniform"
      ? () => Math.floor(random() * options.products)
      : options.distribution === "hot"
        ? () => (random() < 0.8 ? Math.floor(random() * 10) : Math.floor(random() * options.products))
        : zipfSampler(options.products, 1.0, random)
  const demand = new Map<number, number>()
  const orders = Array.from({ length: options.orders }, (_, i) => {
    const order_id = `${options.prefix}${i}`
    const items = Array.from({ length: 1 + Math.floor(random() * options.maxLines) }, () => {
      const product = pick()
      const quantity = 1 + Math.floor(random() * 3)
      demand.set(product, (demand.get(product) ?? 0) + quantity)
      return { product_id: `p${product}`, quantity, price: "1.00" }
    })
    return {
      key: order_id,
      value: JSON.stringify({ order_id, user_id: "bench", items_count: items.length, items }),
      lines: items.length,
    }
  })
  return { orders, demand }
}
