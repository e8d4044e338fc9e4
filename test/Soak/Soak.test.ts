import { execSync } from "node:child_process"
import { appendFileSync, mkdirSync, writeFileSync } from "node:fs"
import { SqlClient } from "@effect/sql"
import { afterAll, expect, layer } from "@effect/vitest"
import { Cause, Duration, Effect, Fiber, Schedule } from "effect"
import { root } from "../../scripts/lib/ChildService.js"
import { broker, start, waitReady } from "../Faults/FaultKit.js"
import { invariantViolations, processHarness } from "../support/Harness.js"
import { kill9, type ServiceProcess, stop } from "../support/ServiceProcess.js"
import type { SeenEvent } from "../support/TestKafka.js"
import { TestKafka } from "../support/TestKafka.js"
import {
  type AppliedAdjustment,
  type SeenEvent as CheckedEvent,
  checkHistory,
  type History,
  placeKey,
} from "./HistoryChecker.js"
import {
  type FaultKind,
  faultPlan,
  HOT,
  loadPlan,
  products,
  STORE,
  storeBackorderLimit,
  storeStock,
  tickMs,
  ttlSeconds,
} from "./SoakPlan.js"
import { type SoakRow, soakTable } from "./SoakReport.js"

// npm run test:soak: long runs of steady load with mixed faults, checked by the history checker.
// SOAK_MINUTES (10), SOAK_RUNS (1), SOAK_SEED (random; run i uses seed + i), SOAK_RATE (orders/s, 250).

const minutes = Number(process.env.SOAK_MINUTES ?? 10)
const runs = Number(process.env.SOAK_RUNS ?? 1)
const firstSeed = Number(process.env.SOAK_SEED ?? Math.floor(Math.random() * 1_000_000))
const rate = Number(process.env.SOAK_RATE ?? 250)
const token = "soak-admin-token"
const admin = { authorization: `Bearer ${token}`, "content-type": "application/json" }

// The service runs as it is deployed, from the build (started in a second, not recompiled by tsx at
// every restart: a restart's recovery is the service's, not the test's compiler's).
execSync("npm run -s build", { cwd: root, stdio: "inherit" })

const rows: Array<SoakRow> = []

afterAll(() => console.info(soakTable(rows)))

type Instance = { readonly service: ServiceProcess; readonly port: number }

const soakRun = (seed: number) =>
  Effect.gen(function* () {
    const kafka = yield* TestKafka
    const sql = yield* SqlClient.SqlClient
    const durationMs = minutes * 60_000
    const ticks = Math.floor(durationMs / tickMs)
    console.info(
      `soak: seed ${seed}, ${minutes} min, ${rate} orders/s (SOAK_SEED=${seed} replays this load and schedule)`,
    )
    const {
      ticks: plan,
      cancelled,
      fulfilments,
    } = loadPlan(seed, ticks, Math.max(1, Math.round((rate * tickMs) / 1000)))
    const faults = faultPlan(seed, durationMs)

    const services: Array<ServiceProcess> = []
    // a run that fails leaves no instance behind (one would go on loading the machine the next run uses)
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        for (const s of services) if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill("SIGKILL")
      }),
    )
    const dir = `soak-logs/${seed}`
    mkdirSync(dir, { recursive: true })
    let serial = 0
    // an instance that does not come up within a minute is reported and started again (up to three times)
    const launch = (role: string) =>
      Effect.suspend(() =>
        start(
          `${role}-${++serial}`,
          {
            ADMIN_TOKEN: token,
            LOG_LEVEL: "info",
            RESERVATION_TTL_SECONDS: String(ttlSeconds),
            EXPIRY_SWEEP_MS: "500",
          },
          "dist/main.js",
        ),
      ).pipe(
        Effect.tap(({ service }) => {
          services.push(service)
          // the log goes to soak-logs/<seed>/<name>.log as it comes, so a stall can be read while it lasts
          const file = `${dir}/${service.name}.log`
          writeFileSync(file, service.output.join(""))
          const append = (chunk: Buffer) => appendFileSync(file, chunk)
          service.child.stdout?.on("data", append)
          service.child.stderr?.on("data", append)
        }),
        Effect.tapDefect((defect) => Effect.sync(() => console.error(`soak ${seed}: ${String(defect)}`))),
        Effect.sandbox,
        Effect.retry({ times: 2 }),
        Effect.unsandbox,
      )
    let primary: Instance | undefined = yield* launch("primary")
    let secondary: Instance | undefined
    /** an instance stopped by SIGSTOP: up, but answering nothing until it is resumed */
    let paused: Instance | undefined
    const alive = () => [primary, secondary].filter((i): i is Instance => i !== undefined && i !== paused)

    // HTTP to whichever instance is up; retried with the same Idempotency-Key until it answers
    const http = (method: string, path: string, body: unknown, key?: string) =>
      Effect.tryPromise(async () => {
        const target = alive()[0]
        if (target === undefined) throw new Error("no instance up")
        const response = await fetch(`http://127.0.0.1:${target.port}${path}`, {
          method,
          headers: { ...admin, ...(key ? { "idempotency-key": key } : {}) },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(10_000),
        })
        if (response.status >= 500) throw new Error(`${response.status}`)
        return response.status
      }).pipe(Effect.retry({ schedule: Schedule.spaced(Duration.millis(500)), times: 240 }), Effect.orDie)

    const initial = new Map(products().map((p) => [p.productId, p.initial]))
    for (const p of products()) yield* http("PUT", `/inventory/${p.productId}`, { initial_quantity: p.initial })
    // the hot products at the store too, which may promise units when it runs out
    yield* http("PUT", `/locations/${STORE}`, { priority: 10 })
    for (let i = 0; i < HOT; i++) {
      const body = { initial_quantity: storeStock, backorder_limit: storeBackorderLimit }
      yield* http("PUT", `/inventory/hot-${i}/locations/${STORE}`, body)
      initial.set(placeKey(`hot-${i}`, STORE), storeStock)
    }

    // faults, each in its own fiber so they overlap; one actor per resource at a time
    const counts: Record<string, number> = {}
    /** stretches the primary answered /ready with something else than 200 while no fault was in effect */
    const recoveries: Array<{ readonly fromMs: number; readonly seconds: number; readonly after: string }> = []
    const primaryLock = yield* Effect.makeSemaphore(1)
    const brokerLock = yield* Effect.makeSemaphore(1)
    const secondaryLock = yield* Effect.makeSemaphore(1)
    const [{ db }] = (yield* sql<{ db: string }>`SELECT current_database() AS db`) as [{ db: string }]
    // Recovery (docs/reliability.md): how long the primary stays unready once no fault is in effect any
    // more. A fault is in effect from its injection until it is lifted (the broker answering again, the
    // killed instance started again, the paused one resumed, the lock released).
    let inEffect = 0
    let lastLifted = { at: 0, kind: "start" }
    const liftOnce = (kind: FaultKind) => {
      let done = false
      return Effect.sync(() => {
        if (done) return
        done = true
        inEffect--
        lastLifted = { at: Date.now(), kind }
      })
    }
    const inject = (kind: FaultKind, holdMs: number, lifted: Effect.Effect<void>) =>
      Effect.gen(function* () {
        counts[kind] = (counts[kind] ?? 0) + 1
        const hold = Duration.millis(holdMs)
        switch (kind) {
          case "service kill -9":
          case "service SIGTERM":
            yield* primaryLock.withPermits(1)(
              Effect.gen(function* () {
                const victim = primary
                primary = undefined
                if (victim)
                  yield* kind === "service kill -9" ? kill9(victim.service) : Effect.asVoid(stop(victim.service))
                yield* Effect.sleep(Duration.millis(holdMs / 5))
                yield* lifted
                primary = yield* launch("primary")
              }),
            )
            break
          case "service paused past its session":
            // SIGSTOP past the Kafka session (6 s): the group gives its partitions to the other
            // instance; on SIGCONT, what it still had queued is refused by the partition fences
            yield* primaryLock.withPermits(1)(
              Effect.gen(function* () {
                if (secondary === undefined) secondary = yield* secondaryLock.withPermits(1)(launch("secondary"))
                const victim = primary
                if (victim === undefined) return
                paused = victim
                victim.service.child.kill("SIGSTOP")
                yield* Effect.sleep(Duration.millis(6_000 + 3_000 + holdMs))
                victim.service.child.kill("SIGCONT")
                paused = undefined
                yield* lifted
              }),
            )
            break
          case "broker kill -9":
          case "broker stop":
            yield* brokerLock.withPermits(1)(
              Effect.zipRight(
                broker(kind === "broker kill -9" ? "kill" : "stop"),
                Effect.zipRight(Effect.sleep(hold), broker("start")),
              ),
            )
            yield* lifted
            break
          case "PostgreSQL connections cut":
            yield* sql`SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                        WHERE datname = ${db} AND application_name = 'inventory-service'`
            yield* lifted
            break
          case "database stalled":
            yield* sql.withTransaction(Effect.zipRight(sql`LOCK TABLE stock IN EXCLUSIVE MODE`, Effect.sleep(hold)))
            yield* lifted
            break
          case "second instance joins or leaves":
            yield* secondaryLock.withPermits(1)(
              Effect.gen(function* () {
                if (secondary === undefined) {
                  yield* lifted // the new instance's start and the rebalance it causes are the service's time
                  secondary = yield* launch("secondary")
                } else {
                  const leaving = secondary
                  secondary = undefined
                  yield* holdMs % 2 === 0 ? kill9(leaving.service) : Effect.asVoid(stop(leaving.service))
                }
                yield* lifted
              }),
            )
            break
        }
      })
    const started = Date.now()
    const faultFiber = yield* Effect.forEach(
      faults,
      (f) =>
        Effect.gen(function* () {
          yield* Effect.sleep(Duration.millis(Math.max(0, started + f.atMs - Date.now())))
          inEffect++
          const lifted = liftOnce(f.kind)
          yield* inject(f.kind, f.holdMs, lifted).pipe(Effect.ensuring(lifted))
        }).pipe(Effect.fork),
      { discard: false },
    ).pipe(
      Effect.flatMap((fibers) => Fiber.joinAll(fibers)),
      Effect.fork,
    )

    let unreadySince: number | undefined
    const readiness = yield* Effect.gen(function* () {
      const target = primary !== undefined && primary !== paused ? primary : undefined
      const ready =
        target !== undefined &&
        (yield* Effect.promise(() =>
          fetch(`http://127.0.0.1:${target.port}/ready`, { signal: AbortSignal.timeout(2_000) }).then(
            (r) => r.status === 200,
            () => false,
          ),
        ))
      const now = Date.now()
      if (ready) {
        if (unreadySince !== undefined)
          recoveries.push({
            fromMs: unreadySince - started,
            seconds: (now - unreadySince) / 1000,
            after: lastLifted.kind,
          })
        unreadySince = undefined
      } else if (inEffect > 0)
        unreadySince = undefined // a fault in effect: not the service's time
      else unreadySince ??= Math.max(lastLifted.at, now)
    }).pipe(Effect.repeat(Schedule.spaced(Duration.millis(250))), Effect.fork)

    // the load, tick by tick; adjustments go through HTTP beside it
    const applied: Array<AppliedAdjustment> = []
    const adjustFibers: Array<Fiber.RuntimeFiber<number>> = []
    const created = new Map<string, ReadonlyArray<{ product_id: string; quantity: number; location_id?: string }>>()
    for (const [t, tick] of plan.entries()) {
      if (tick.cancels.length > 0) {
        yield* kafka.sendMany(
          kafka.topics.ordersCancelled,
          tick.cancels.map((id) => ({
            key: id,
            value: JSON.stringify({ order_id: id, user_id: "u", cancelled_at: new Date().toISOString() }),
          })),
        )
      }
      yield* kafka.sendMany(
        kafka.topics.ordersCreated,
        tick.creates.map((o) => {
          created.set(o.orderId, o.items)
          return {
            key: o.orderId,
            value: JSON.stringify({
              order_id: o.orderId,
              user_id: "u",
              items_count: o.items.length,
              items: o.items.map((i) => ({ ...i, price: "1.00" })),
            }),
          }
        }),
      )
      if (tick.fulfils.length > 0) {
        yield* kafka.sendMany(
          kafka.topics.ordersFulfilled,
          tick.fulfils.map((f) => ({
            key: f.orderId,
            value: JSON.stringify({
              order_id: f.orderId,
              fulfillment_id: f.fulfillmentId,
              ...(f.items ? { items: f.items } : {}),
              fulfilled_at: new Date().toISOString(),
            }),
          })),
        )
      }
      const adjustment = tick.adjustment
      if (adjustment) {
        const body = { quantity: adjustment.quantity, adjustment_type: adjustment.type, reference_id: adjustment.key }
        adjustFibers.push(
          yield* http("POST", `/inventory/${adjustment.productId}/adjustments`, body, adjustment.key).pipe(
            Effect.tap((status) => {
              if (status === 201)
                applied.push({
                  productId: adjustment.productId,
                  quantity: adjustment.quantity,
                  referenceId: adjustment.key,
                })
            }),
            Effect.fork,
          ),
        )
      }
      const transfer = tick.transfer
      if (transfer) {
        const body = {
          product_id: transfer.productId,
          from_location_id: "default",
          to_location_id: STORE,
          quantity: transfer.quantity,
          reference_id: transfer.key,
        }
        adjustFibers.push(yield* Effect.fork(http("POST", "/transfers", body, transfer.key)))
      }
      for (const key of tick.receives) {
        // received whole, if it was sent (a send still retrying through a fault stays in transit)
        const receive = sql<{
          id: string
        }>`SELECT transfer_id::text AS id FROM transfers WHERE reference_id = ${key}`.pipe(
          Effect.flatMap(([found]) =>
            found === undefined ? Effect.succeed(0) : http("POST", `/transfers/${found.id}/receive`, {}),
          ),
          Effect.orDie,
        )
        adjustFibers.push(yield* Effect.fork(receive))
      }
      if (t % 300 === 0)
        console.info(
          `soak ${seed}: ${Math.round((Date.now() - started) / 1000)} s, ${created.size} orders, faults ${JSON.stringify(counts)}`,
        )
      yield* Effect.sleep(Duration.millis(Math.max(0, started + (t + 1) * tickMs - Date.now())))
    }
    yield* Fiber.join(faultFiber)
    yield* primaryLock.withPermits(1)(Effect.suspend(() => (primary ? waitReady(primary.port) : Effect.void)))
    yield* Fiber.interrupt(readiness)
    const maxRecovery = Math.max(0, ...recoveries.map((r) => r.seconds))
    yield* Fiber.joinAll(adjustFibers)
    if (primary === undefined) primary = yield* launch("primary")

    // everything decided and published, then the whole history checked
    // The database first, then the topics: every event of a row read is then on the topics or in the
    // outbox (counted in the same read), never published after the topics were read.
    const snapshot = (events: Effect.Effect<ReadonlyArray<SeenEvent>>) =>
      Effect.gen(function* () {
        const stock = yield* sql<History["stock"][number]>`
          SELECT product_id AS "productId", location_id AS "locationId", available, reserved, on_hand AS "onHand",
                 backordered, backorder_limit AS "backorderLimit" FROM stock`
        const transfers = yield* sql<NonNullable<History["transfers"]>[number]>`
          SELECT product_id AS "productId", from_location_id AS "from", to_location_id AS "to", quantity, received
            FROM transfers`
        const ledger = yield* sql<History["ledger"][number]>`
          SELECT id::text, product_id AS "productId", location_id AS "locationId", movement, quantity,
                 available_before AS "availableBefore",
                 available_after AS "availableAfter", reserved_before AS "reservedBefore",
                 reserved_after AS "reservedAfter", reference_id AS "referenceId",
                 to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') AS at
            FROM stock_ledger ORDER BY stock_ledger.id`
        const reservations = yield* sql<History["reservations"][number]>`
          SELECT order_id AS "orderId", status, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') AS at,
                 short_product_id AS "shortProductId", available_qty AS "availableQty" FROM reservations`
        const [{ outbox }] = (yield* sql<{ outbox: number }>`SELECT count(*)::int AS outbox FROM outbox`) as [
          { outbox: number },
        ]
        const seen = yield* events
        const topicOf = new Map<string, CheckedEvent["topic"]>([
          [kafka.topics.reserved, "reserved"],
          [kafka.topics.released, "released"],
          [kafka.topics.outOfStock, "out_of_stock"],
          [kafka.topics.fulfilled, "fulfilled"],
          [kafka.topics.fulfillmentRejected, "fulfillment_rejected"],
          [kafka.topics.adjusted, "adjusted"],
          [kafka.topics.backorderFilled, "backorder_filled"],
        ])
        const history: History = {
          initial,
          orders: [...created].map(([orderId, items]) => ({
            orderId,
            lines: [...items]
              .map((i) => ({ productId: i.product_id, quantity: i.quantity }))
              .sort((a, b) => (a.productId < b.productId ? -1 : 1)),
            cancelled: cancelled.has(orderId),
            fulfilments: fulfilments.get(orderId) ?? [],
          })),
          adjustments: applied,
          events: seen.map((e) => ({
            topic: topicOf.get(e.topic) ?? "other",
            key: e.key,
            eventId: e.eventId,
            body: e.body,
          })),
          stock,
          ledger,
          reservations,
          transfers,
          expiryExpected: true,
        }
        return { history, verdict: checkHistory(history), outbox }
      })
    // First the service settles: every order decided, every promise filled (a delivery wherever
    // promises wait), every unshipped reservation expired, the outbox empty. Judging a history that is
    // still moving would report what is merely not done yet.
    const settleLimit = Duration.minutes(10)
    let last: unknown
    let restocks = 0
    const restock = Effect.gen(function* () {
      const owed = yield* sql<{ product_id: string; location_id: string; owed: number }>`
        SELECT product_id, location_id, backordered - greatest(0, available - safety_stock) AS owed
          FROM stock WHERE backordered > greatest(0, available - safety_stock)`
      for (const o of owed) {
        const key = `soak-${seed}-restock-${restocks++}`
        const body = { quantity: o.owed, adjustment_type: "restock", location_id: o.location_id, reference_id: key }
        const status = yield* http("POST", `/inventory/${o.product_id}/adjustments`, body, key)
        if (status === 201)
          applied.push({ productId: o.product_id, locationId: o.location_id, quantity: o.owed, referenceId: key })
      }
    }).pipe(Effect.orDie)
    yield* sql<{ decided: number; outbox: number; held: number }>`
      SELECT (SELECT count(*)::int FROM reservations) AS decided, (SELECT count(*)::int FROM outbox) AS outbox,
             (SELECT count(*)::int FROM reservations WHERE status = 'reserved') AS held`.pipe(
      Effect.tap(([c]) => {
        last = c
      }),
      Effect.tap(() => restock),
      Effect.flatMap(([c]) =>
        c!.decided >= created.size && c!.outbox === 0 && c!.held === 0 ? Effect.void : Effect.fail(c),
      ),
      Effect.retry({ schedule: Schedule.spaced(Duration.seconds(2)), while: () => true }),
      Effect.timeoutFail({ duration: settleLimit, onTimeout: () => "timeout" }),
      Effect.catchAll(() =>
        Effect.dieMessage(
          `the service did not settle within ${Duration.format(settleLimit)} of the load's end: ${JSON.stringify(last)} (decided, in the outbox, still held)`,
        ),
      ),
    )
    // then the history, again while the last events are still on their way to the observer
    yield* snapshot(Effect.sync(kafka.events)).pipe(
      Effect.flatMap((s) => (s.verdict.violations.length === 0 && s.outbox === 0 ? Effect.succeed(s) : Effect.fail(s))),
      Effect.retry({ schedule: Schedule.spaced(Duration.seconds(3)), times: 10 }),
      Effect.ignore,
    )
    // the verdict on what the topics hold, read afresh: a missing event is a fact about the service,
    // not about an observer that lived through the broker's faults
    const final = yield* snapshot(kafka.readAll)
    const { verdict } = final
    const promises = final.history.events.filter(
      (e) => e.topic === "reserved" && JSON.stringify(e.body.items).includes('"backordered"'),
    ).length
    const fills = final.history.events.filter((e) => e.topic === "backorder_filled").length
    const pinned = [...created.values()].filter((items) => items.some((i) => i.location_id !== undefined)).length
    console.info(
      `soak ${seed}: ${pinned} orders with a pinned line, ${promises} reservations with promises, ${fills} fills, ${final.history.transfers?.length ?? 0} transfers`,
    )
    // the service's own reconciliation and the books in SQL: no drift, every product's reserved what
    // its held lines hold, every order's status what its lines tell
    const report = yield* Effect.tryPromise(() =>
      fetch(`http://127.0.0.1:${alive()[0]!.port}/admin/reconcile`, {
        method: "POST",
        headers: admin,
        body: "{}",
      }).then((r) => r.json() as Promise<{ drift: ReadonlyArray<unknown> }>),
    ).pipe(Effect.orDie)
    const books = yield* invariantViolations
    const slowest = [...recoveries].sort((a, b) => b.seconds - a.seconds).slice(0, 5)
    console.info(`soak ${seed}: slowest recoveries ${JSON.stringify(slowest)}`)
    const row: SoakRow = {
      seed,
      minutes,
      orders: created.size,
      faults: counts,
      lost: verdict.lost,
      doubled: verdict.doubled,
      repeatedEvents: verdict.repeatedEvents,
      events: verdict.events,
      maxRecoverySeconds: maxRecovery,
      violations: verdict.violations.length,
      drift: report.drift.length,
      books: books.length,
    }
    rows.push(row)
    console.info(`soak ${seed}: ${JSON.stringify(row)}`)
    // every recovery is kept beside the logs, so a slow one can be traced afterwards
    writeFileSync(`${dir}/recoveries.json`, JSON.stringify(recoveries, null, 1))
    if (verdict.violations.length > 0) {
      writeFileSync(`${dir}/violations.json`, JSON.stringify(verdict.violations, null, 2))
      // the ledger of the products named first, in id order, for the post-mortem
      const named = [...new Set(verdict.violations.map((v) => v.subject))].slice(0, 5)
      for (const id of named) {
        const rows = final.history.ledger.filter((r) => r.productId === id)
        if (rows.length > 0) writeFileSync(`${dir}/ledger-${id}.json`, JSON.stringify(rows, null, 1))
      }
      const first = verdict.violations[0]!
      console.error(
        `soak FAILED: seed ${seed} (replay with SOAK_SEED=${seed}); ${verdict.violations.length} violations; first: ${first.rule} — ${first.subject}: ${first.detail}; logs in ${dir}`,
      )
    }
    for (const i of alive()) yield* stop(i.service)
    expect(verdict.violations.slice(0, 5)).toEqual([])
    expect(report.drift).toEqual([])
    expect(books).toEqual([])
    expect(verdict.repeatedEvents).toBeLessThanOrEqual(
      Math.max(2_000, Object.values(counts).reduce((a, b) => a + b, 0) * 2_000),
    )
  }).pipe(Effect.scoped)

for (let i = 0; i < runs; i++) {
  const seed = firstSeed + i
  layer(processHarness({ label: `soak${i}` }), { excludeTestServices: true })(`soak run ${i + 1} of ${runs}`, (it) => {
    it.effect(
      `seed ${seed}: ${minutes} min of mixed faults, history checked`,
      () =>
        soakRun(seed).pipe(
          // said at once, not only when the last of SOAK_RUNS ends
          Effect.tapErrorCause((cause) =>
            Effect.sync(() => console.error(`soak ${seed} FAILED: ${Cause.pretty(cause)}`)),
          ),
        ),
      (minutes + 15) * 60_000,
    )
  })
}
