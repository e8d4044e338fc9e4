import { SqlClient } from "@effect/sql"
import { afterAll, expect, layer } from "@effect/vitest"
import { Duration, Effect, Fiber, Schedule } from "effect"
import { processHarness } from "../support/Harness.js"
import { makeOrders, seedHot, seedHotAt } from "../support/Load.js"
import { kill9, stop } from "../support/ServiceProcess.js"
import { TestKafka } from "../support/TestKafka.js"
import { broker, conclude, full, lifecycleEnv, printSummary, random, start, steadyLoad, waitReady } from "./FaultKit.js"

afterAll(printSummary)

const suite = (label: string) => processHarness({ label })

layer(suite("fkill"), { excludeTestServices: true })("fault: kill -9", (it) => {
  it.effect(
    `kill -9 of the service ${full ? 12 : 4} times under load`,
    () =>
      Effect.gen(function* () {
        // stock at two locations, a quarter of the lines pinned to one of them, backorders within a limit
        yield* seedHotAt(["east", "west"], 1000, 60)
        const orders = makeOrders("kill", full ? 8000 : 3000, 1, ["east", "west"])
        const load = yield* steadyLoad(orders, 12, Duration.millis(250), true)
        const kills = full ? 12 : 4
        let lastFault = Date.now()
        for (let i = 0; i < kills; i++) {
          const { service } = yield* start(`kill-${i}`, lifecycleEnv)
          yield* Effect.sleep(Duration.millis(300 + Math.floor(random() * 1500)))
          yield* kill9(service)
          lastFault = Date.now()
        }
        yield* Fiber.join(load)
        const { service, port } = yield* start("kill-survivor", lifecycleEnv)
        yield* conclude(
          "kill -9 of the service",
          kills,
          orders.map((o) => o.key),
          lastFault,
          { service, port },
          true,
        )
      }),
    600_000,
  )
})

layer(suite("fbroker"), { excludeTestServices: true })("fault: broker", (it) => {
  it.effect(
    "broker stopped and killed mid-load, then restarted",
    () =>
      Effect.gen(function* () {
        yield* seedHot(2000)
        const orders = makeOrders("broker", full ? 6000 : 2000, 2)
        const { service, port } = yield* start("broker-a")
        const load = yield* steadyLoad(orders, 10, Duration.millis(300))
        yield* Effect.sleep(Duration.seconds(1))
        yield* broker("stop")
        yield* Effect.sleep(Duration.seconds(2))
        yield* broker("start")
        yield* Effect.sleep(Duration.seconds(1))
        yield* broker("kill")
        yield* Effect.sleep(Duration.seconds(2))
        yield* broker("start")
        const lastFault = Date.now()
        yield* Fiber.join(load)
        yield* conclude(
          "broker stop and kill -9",
          2,
          orders.map((o) => o.key),
          lastFault,
          { service, port },
        )
      }),
    600_000,
  )
})

layer(suite("fdb"), { excludeTestServices: true })("fault: database", (it) => {
  it.effect(
    "database connections cut and the database stalled mid-load",
    () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        yield* seedHot(2000)
        const orders = makeOrders("db", full ? 6000 : 2000, 3)
        const { service, port } = yield* start("db-a")
        const load = yield* steadyLoad(orders, 10, Duration.millis(300))
        const [{ db }] = (yield* sql<{ db: string }>`SELECT current_database() AS db`) as [{ db: string }]
        let faults = 0
        for (let i = 0; i < (full ? 6 : 3); i++) {
          yield* Effect.sleep(Duration.millis(500))
          yield* sql`SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                      WHERE datname = ${db} AND application_name = 'inventory-service' AND pid <> pg_backend_pid()`
          faults++
        }
        // a slow database: every stock write waits 3 s behind a lock
        yield* sql.withTransaction(
          Effect.zipRight(sql`LOCK TABLE stock IN EXCLUSIVE MODE`, Effect.sleep(Duration.seconds(3))),
        )
        faults++
        const lastFault = Date.now()
        yield* Fiber.join(load)
        yield* conclude(
          "PostgreSQL connections cut, database stalled",
          faults,
          orders.map((o) => o.key),
          lastFault,
          { service, port },
        )
      }),
    600_000,
  )
})

layer(suite("frebalance"), { excludeTestServices: true })("fault: rebalance", (it) => {
  it.effect(
    "a second instance joins mid-load, then one instance is killed",
    () =>
      Effect.gen(function* () {
        yield* seedHotAt(["east", "west"], 1000, 60)
        const orders = makeOrders("rebalance", full ? 6000 : 3000, 4, ["east", "west"])
        const a = yield* start("rebalance-a", lifecycleEnv)
        const load = yield* steadyLoad(orders, 10, Duration.millis(300), true)
        yield* Effect.sleep(Duration.seconds(1))
        const b = yield* start("rebalance-b", lifecycleEnv)
        yield* Effect.sleep(Duration.seconds(2))
        yield* kill9(a.service)
        const lastFault = Date.now()
        yield* Fiber.join(load)
        yield* conclude(
          "instance joins, then one is killed",
          2,
          orders.map((o) => o.key),
          lastFault,
          { service: b.service, port: b.port },
          true,
        )
      }),
    600_000,
  )
})

/** The order messages an instance has decided (committed or not), from its /metrics. */
const decidedBy = (port: number) =>
  Effect.promise(() => fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text())).pipe(
    Effect.map((text) =>
      text
        .split("\n")
        .filter((line) => line.startsWith("inventory_orders_total{"))
        .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(" ") + 1)), 0),
    ),
  )

layer(suite("fpause"), { excludeTestServices: true })("fault: paused instance", (it) => {
  it.effect(
    "an instance paused past its session with commits queued: on SIGCONT every commit it attempts is refused",
    () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        yield* seedHot(2000)
        const orders = makeOrders("pause", full ? 6000 : 3000, 6)
        // small chunks: a chunk is decided and queued behind the one being committed
        const a = yield* start("pause-a", { ...lifecycleEnv, CONSUMER_CHUNK_SIZE: "50" })
        const load = yield* steadyLoad(orders, 20, Duration.millis(300), true)
        // A is deciding (it has recorded some orders) when the stock rows are locked
        yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM reservations`.pipe(
          Effect.flatMap(([row]) => (row!.n >= 100 ? Effect.void : Effect.fail("not yet"))),
          Effect.retry(Schedule.spaced(Duration.millis(50))),
        )
        // the stock rows locked: once A's commit waits for them, its next chunk is decided and queued
        // behind it; A is stopped so, and stays stopped past its session (6 s) while B takes over
        const waiting = sql<{ n: number }>`SELECT count(*)::int AS n FROM pg_stat_activity
          WHERE application_name = 'inventory-service' AND wait_event_type = 'Lock'`
        yield* sql.withTransaction(
          Effect.gen(function* () {
            yield* sql`LOCK TABLE stock IN EXCLUSIVE MODE`
            yield* waiting.pipe(
              Effect.flatMap(([row]) => (row!.n > 0 ? Effect.void : Effect.fail("not yet"))),
              Effect.retry(Schedule.spaced(Duration.millis(20))),
            )
            // A decides more while that commit waits (queued behind it): given a few seconds, not
            // required (its pipeline may already hold all it may decide ahead)
            const blockedAt = yield* decidedBy(a.port)
            yield* decidedBy(a.port).pipe(
              Effect.flatMap((n) => (n > blockedAt ? Effect.void : Effect.fail("not yet"))),
              Effect.retry(Schedule.spaced(Duration.millis(20))),
              Effect.timeout(Duration.seconds(5)),
              Effect.ignore,
            )
            a.service.child.kill("SIGSTOP")
          }),
        )
        const b = yield* start("pause-b", lifecycleEnv)
        yield* Effect.sleep(Duration.seconds(12))
        const resumedAt = a.service.output.length
        a.service.child.kill("SIGCONT")
        yield* Fiber.join(load)
        const lastFault = Date.now()
        yield* waitReady(a.port)
        // what A still had queued carried the epochs it was decided under: refused (it tries as soon
        // as its commit in flight returns, which may be after /ready first answers), decided again
        yield* Effect.suspend(() =>
          /partition fenced/.test(a.service.output.slice(resumedAt).join("")) ? Effect.void : Effect.fail("not yet"),
        ).pipe(
          Effect.retry(Schedule.spaced(Duration.millis(100))),
          Effect.timeoutFail({
            duration: Duration.seconds(30),
            onTimeout: () =>
              new Error(`A attempted no commit after SIGCONT:\n${a.service.output.slice(resumedAt).join("")}`),
          }),
          Effect.orDie,
        )
        yield* conclude(
          "instance paused past its session",
          1,
          orders.map((o) => o.key),
          lastFault,
          { service: b.service, port: b.port },
          true,
        )
        expect(yield* stop(a.service)).toBe(0)
      }),
    600_000,
  )
})

layer(suite("fpoison"), { excludeTestServices: true })("fault: poison", (it) => {
  it.effect(
    "poison messages mixed into the load all reach the dead-letter topic; cancels out of order",
    () =>
      Effect.gen(function* () {
        const kafka = yield* TestKafka
        const sql = yield* SqlClient.SqlClient
        yield* seedHot(2000)
        const orders = makeOrders("poison", full ? 4000 : 1500, 5)
        const poison = [
          "not json at all",
          '{"order_id": ',
          JSON.stringify({ hello: "world" }),
          JSON.stringify({ order_id: "p-neg", items: [{ product_id: "hot-0", quantity: -5 }] }),
          JSON.stringify({ order_id: "p-huge", items: [{ product_id: "hot-0", quantity: 1e15 }] }),
          JSON.stringify({
            order_id: "p-big",
            items: [{ product_id: "hot-0", quantity: 1 }],
            pad: "x".repeat(1_000_000),
          }),
          JSON.stringify({ order_id: "", items: [{ product_id: "hot-0", quantity: 1 }] }),
        ]
        const { service, port } = yield* start("poison-a")
        const load = yield* steadyLoad(orders, 6, Duration.millis(200))
        for (const [i, value] of poison.entries()) yield* kafka.send(kafka.topics.ordersCreated, `poison-${i}`, value)
        // unknown products, cancels before and after their orders, duplicate cancels
        yield* kafka.send(kafka.topics.ordersCreated, "p-unknown", {
          order_id: "p-unknown",
          items: [{ product_id: "no-such", quantity: 1 }],
        })
        for (const id of ["poison-5", "poison-6", "poison-7", "poison-5", "never-ordered"]) {
          yield* kafka.send(kafka.topics.ordersCancelled, id, { order_id: id, cancelled_at: new Date().toISOString() })
        }
        yield* Fiber.join(load)
        const lastFault = Date.now()
        const ids = [...orders.map((o) => o.key), "p-unknown"]
        const parked = yield* kafka.waitFor(
          (es) => es.filter((e) => e.topic === kafka.topics.deadLetter).length >= poison.length,
        )
        expect(
          parked
            .filter((e) => e.topic === kafka.topics.deadLetter)
            .map((e) => e.key)
            .sort(),
        ).toEqual(poison.map((_, i) => `poison-${i}`).sort())
        yield* conclude("poison messages", poison.length + 6, ids, lastFault, { service, port })
        // every cancelled order ends released or blocked, whichever of its two messages came first
        const cancelled = yield* sql<{ order_id: string; status: string }>`
          SELECT order_id, status FROM reservations WHERE order_id IN ('poison-5', 'poison-6', 'poison-7', 'never-ordered') ORDER BY order_id`
        expect(cancelled.map((r) => r.order_id)).toEqual(["never-ordered", "poison-5", "poison-6", "poison-7"])
        for (const r of cancelled) expect(["released", "cancelled_before_create"]).toContain(r.status)
      }),
    600_000,
  )
})

layer(suite("ffuzz"), { excludeTestServices: true })("fault: hostile HTTP", (it) => {
  it.effect(
    "a fuzz pass over every route: never a 5xx, always JSON, stock changes only through valid writes",
    () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        yield* seedHot(100)
        const { service, port } = yield* start("fuzz-a", { ADMIN_TOKEN: "the-real-token" })
        const snapshot = sql`SELECT product_id, available, reserved, on_hand, version FROM stock ORDER BY product_id`
        const before = yield* snapshot
        let seed = 9
        const pick = <A>(xs: ReadonlyArray<A>): A => {
          seed = (seed * 1103515245 + 12345) >>> 0
          return xs[(seed >>> 8) % xs.length]!
        }
        const ids = [
          "hot-0",
          "x'; DROP TABLE stock; --",
          "ünï😀",
          "%00",
          "..%2F..%2Fetc%2Fpasswd",
          "a".repeat(300),
          "low-stock",
          "%E0%A4%A",
          "{product_id}",
        ]
        const paths = [
          (id: string) => `/inventory/${id}`,
          (id: string) => `/inventory/${id}/adjustments`,
          (id: string) => `/reservations/${id}`,
          () => "/inventory",
          () => "/inventory/low-stock",
          () => "/health",
          () => "/ready",
          (id: string) => `/${id}/${id}`,
          () => "//inventory//",
        ]
        const queries = [
          "",
          "?limit=10",
          "?limit=-1",
          "?limit=1e9",
          "?cursor=%%%",
          `?cursor=${"z".repeat(1000)}`,
          "?limit=abc&limit=2",
          "?x=<script>",
        ]
        const bodies: ReadonlyArray<string | undefined> = [
          undefined,
          "",
          "{",
          "null",
          "[]",
          JSON.stringify({ quantity: 5, adjustment_type: "restock" }),
          JSON.stringify({ quantity: "5", adjustment_type: "restock" }),
          JSON.stringify({ quantity: 1e20, adjustment_type: "restock" }),
          JSON.stringify({ initial_quantity: 10 }),
          JSON.stringify({ initial_quantity: -10, location: "x".repeat(500) }),
          "x".repeat(200_000),
          "\u0000\u0001binary",
        ]
        const auths = [
          undefined,
          "",
          "Bearer ",
          "Bearer wrong",
          "Basic the-real-token",
          "the-real-token",
          "Bearer the-real-token-but-longer",
        ]
        const types = [
          "application/json",
          "text/plain",
          "application/x-www-form-urlencoded",
          "multipart/form-data; boundary=x",
          "",
        ]
        let requests = 0
        for (let i = 0; i < (full ? 1500 : 400); i++) {
          const method = pick(["GET", "POST", "PUT", "DELETE", "PATCH"])
          const path = `${pick(paths)(encodeURIComponent(pick(ids)))}${pick(queries)}`
          const body = method === "GET" ? undefined : pick(bodies)
          const auth = pick(auths)
          const type = pick(types)
          const response = yield* Effect.tryPromise(() =>
            fetch(`http://127.0.0.1:${port}${path}`, {
              method,
              headers: {
                ...(type ? { "content-type": type } : {}),
                ...(auth !== undefined ? { authorization: auth } : {}),
              },
              ...(body !== undefined ? { body } : {}),
            }).then(async (r) => ({
              status: r.status,
              type: r.headers.get("content-type") ?? "",
              text: await r.text(),
            })),
          )
          requests++
          expect(response.status, `${method} ${path}`).toBeLessThan(500)
          expect(response.type, `${method} ${path}`).toContain("application/json")
          expect(() => JSON.parse(response.text), `${method} ${path}`).not.toThrow()
        }
        const after = yield* snapshot
        expect(after).toEqual(before)
        yield* waitReady(port)
        expect(yield* stop(service)).toBe(0)
        console.info(`hostile HTTP: ${requests} requests, no 5xx, stock unchanged`)
      }),
    600_000,
  )
})
