import type pg from "pg"
import type { Topics } from "../../src/Config.js"
import { producer, type RunningService, startService } from "./Setup.js"
import { makeWorkload } from "./Workload.js"

// The lifecycle workload: orders are reserved, then 80 % are fulfilled and 15 % cancelled while
// the last 5 % are left to expire. Reported: how fast the fulfilments and cancellations settle,
// and how soon after falling due the expiries are released.

export interface LifecycleRow {
  readonly orders: number
  readonly fulfilments: number
  readonly cancellations: number
  readonly expiries: number
  /** orders reserved per second (the first phase) */
  readonly reservedPerSecond: number
  /** fulfilments and cancellations settled per second once produced */
  readonly settledPerSecond: number
  /** the latest release after a reservation fell due */
  readonly maxExpiryLagSeconds: number
  readonly peakRssMb: number
  readonly invariants: string
}

interface Run {
  readonly env: Record<string, string>
  readonly topics: Topics
  readonly client: pg.Client
  readonly cleanup: () => Promise<void>
}

export interface LifecycleDeps {
  readonly prepare: (label: string, stock: (client: pg.Client) => Promise<void>) => Promise<Run>
  readonly invariants: (client: pg.Client) => Promise<string>
  readonly log: (...args: Array<unknown>) => void
}

const count = async (client: pg.Client, where: string) =>
  Number((await client.query(`SELECT count(*)::int AS n FROM reservations WHERE ${where}`)).rows[0].n)

const until = async (service: RunningService, done: () => Promise<boolean>, budgetSeconds: number) => {
  const started = performance.now()
  while (!(await done())) {
    service.assertRunning()
    if ((performance.now() - started) / 1000 > budgetSeconds)
      throw new Error("lifecycle workload did not settle in time")
    await new Promise((r) => setTimeout(r, 100))
  }
  return (performance.now() - started) / 1000
}

export const lifecycleRun = async (
  deps: LifecycleDeps,
  options: { readonly orders: number; readonly products: number; readonly ttlSeconds: number; readonly script: string },
): Promise<LifecycleRow> => {
  const workload = makeWorkload({ ...options, maxLines: 5, distribution: "uniform", prefix: "l" })
  const run = await deps.prepare("lifecycle", async (client) => {
    // stock for every order: each one is reserved and then goes its way
    const quantities = Array.from({ length: options.products }, (_, i) => workload.demand.get(i) ?? 0)
    await client.query(
      `INSERT INTO stock (product_id, available, reserved, on_hand, low_stock_threshold)
       SELECT 'p' || (t.i - 1), t.q, 0, t.q, 0 FROM unnest($1::int[]) WITH ORDINALITY AS t(q, i)`,
      [quantities],
    )
  })
  const p = await producer()
  const send = async (topic: string, messages: ReadonlyArray<{ key: string; value: string }>) => {
    for (let i = 0; i < messages.length; i += 2000) await p.send({ topic, messages: messages.slice(i, i + 2000) })
  }
  await send(run.topics.ordersCreated, workload.orders)
  const service = await startService(
    { ...run.env, RESERVATION_TTL_SECONDS: String(options.ttlSeconds), EXPIRY_SWEEP_MS: "200" },
    options.script,
  )
  const total = workload.orders.length
  const reserveSeconds = await until(
    service,
    async () => (await count(run.client, "status = 'reserved'")) >= total,
    600,
  )
  deps.log(`lifecycle: ${total} orders reserved in ${reserveSeconds.toFixed(1)} s`)

  const ids = workload.orders.map((o) => o.key)
  const now = () => new Date().toISOString()
  const fulfil = ids.filter((_, i) => i % 20 < 16)
  const cancel = ids.filter((_, i) => i % 20 >= 16 && i % 20 < 19)
  const expire = ids.length - fulfil.length - cancel.length
  const started = performance.now()
  await Promise.all([
    send(
      run.topics.ordersFulfilled,
      fulfil.map((id) => ({ key: id, value: JSON.stringify({ order_id: id, fulfilled_at: now() }) })),
    ),
    send(
      run.topics.ordersCancelled,
      cancel.map((id) => ({ key: id, value: JSON.stringify({ order_id: id, cancelled_at: now() }) })),
    ),
  ])
  await until(
    service,
    async () => (await count(run.client, "status IN ('fulfilled', 'released')")) >= fulfil.length + cancel.length,
    600,
  )
  const settleSeconds = (performance.now() - started) / 1000
  deps.log(`lifecycle: ${fulfil.length + cancel.length} fulfilments and cancellations in ${settleSeconds.toFixed(1)} s`)
  await until(service, async () => (await count(run.client, "status = 'expired'")) >= expire, options.ttlSeconds + 600)
  await p.disconnect()
  const lag = await run.client.query(
    `SELECT extract(epoch FROM max(updated_at - expires_at))::float AS lag FROM reservations WHERE status = 'expired'`,
  )
  const row: LifecycleRow = {
    orders: total,
    fulfilments: fulfil.length,
    cancellations: cancel.length,
    expiries: expire,
    reservedPerSecond: total / reserveSeconds,
    settledPerSecond: (fulfil.length + cancel.length) / settleSeconds,
    maxExpiryLagSeconds: Number(lag.rows[0].lag),
    peakRssMb: service.peakRssMb(),
    invariants: await deps.invariants(run.client),
  }
  await service.stop()
  await run.cleanup()
  deps.log(`lifecycle: ${JSON.stringify(row)}`)
  return row
}
