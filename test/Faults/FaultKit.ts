import { execFile, execFileSync } from "node:child_process"
import { fileURLToPath } from "node:url"
import { SqlClient } from "@effect/sql"
import { expect } from "@effect/vitest"
import { Duration, Effect, Schedule } from "effect"
import { freePort } from "../support/Env.js"
import { invariantViolations, SuiteEnv } from "../support/Harness.js"
import { restockBackorders } from "../support/Load.js"
import { waitForDrain } from "../support/Outcomes.js"
import { type ServiceProcess, startService, stop } from "../support/ServiceProcess.js"
import { TestKafka } from "../support/TestKafka.js"

/** Reduced in CI (`FAULTS=reduced`, the default), full with `FAULTS=full` (npm run test:faults). */
export const full = process.env.FAULTS === "full"

/** Where faults land is drawn from FAULTS_SEED (printed; random if unset), so a run can be replayed. */
export const faultSeed = Number(process.env.FAULTS_SEED ?? Math.floor(Math.random() * 1_000_000))
console.info(`fault suite: FAULTS_SEED=${faultSeed} replays where the faults land`)
let state = faultSeed | 0
/** A number in [0, 1) from the fault seed. */
export const random = () => {
  state = (state + 0x6d2b79f5) | 0
  let t = Math.imul(state ^ (state >>> 15), 1 | state)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

export interface FaultRow {
  readonly scenario: string
  readonly faults: number
  readonly orders: number
  readonly lost: number
  readonly doubled: number
  readonly duplicateEventsOnWire: number
  readonly recoverySeconds: number
}

export const summary: Array<FaultRow> = []

export const printSummary = () => {
  const head = "| scenario | faults injected | orders | lost | doubled | duplicate events on the wire | recovery (s) |"
  const rows = summary.map(
    (r) =>
      `| ${r.scenario} | ${r.faults} | ${r.orders} | ${r.lost} | ${r.doubled} | ${r.duplicateEventsOnWire} | ${r.recoverySeconds.toFixed(1)} |`,
  )
  console.info(["", head, "|---|---|---|---|---|---|---|", ...rows].join("\n"))
}

const scriptPath = fileURLToPath(new URL("../../scripts/kafka", import.meta.url))

// The faults stop and kill the broker through this checkout's script, which only controls a broker it
// started: one already answering on the port (started from another checkout) would never go down.
try {
  execFileSync("bash", [scriptPath, "status"], { env: process.env, stdio: "pipe" })
} catch {
  throw new Error(
    `the broker on port ${process.env.KAFKA_PORT} was not started from this checkout, so its faults could not stop it: stop it from where it was started, or choose another port`,
  )
}

/** The suite's own broker (scripts/kafka on KAFKA_PORT): stop, kill -9, start. */
export const broker = (command: "start" | "stop" | "kill") =>
  Effect.async<void>((resume) => {
    execFile("bash", [scriptPath, command], { env: process.env }, (error, _stdout, stderr) =>
      resume(error ? Effect.die(new Error(`scripts/kafka ${command}: ${stderr}`)) : Effect.void),
    )
  })

/** Services whose reservations expire 3 s after they are made: every reserved order ends fulfilled or expired. */
/** The admin token of the instances a lifecycle scenario starts (the restock goes through the API). */
export const faultAdminToken = "fault-admin-token"

export const lifecycleEnv = {
  RESERVATION_TTL_SECONDS: "3",
  EXPIRY_SWEEP_MS: "200",
  BACKORDER_FILL_MS: "200",
  ADMIN_TOKEN: faultAdminToken,
}

type Messages = ReadonlyArray<{ key: string; value: string }>

/** A fulfilment of every third order (those not reserved are refused, not_reserved). */
const fulfilmentsOf = (orders: Messages): Messages =>
  orders
    .filter((_, i) => i % 3 === 0)
    .map((o) => ({ key: o.key, value: JSON.stringify({ order_id: o.key, fulfilled_at: new Date().toISOString() }) }))

/**
 * Produces `orders` in slices, with a pause between slices: steady load while faults land. With
 * `fulfil`, each slice is followed by the fulfilments of a third of the slice before it.
 */
export const steadyLoad = (orders: Messages, slices: number, pause: Duration.DurationInput, fulfil = false) =>
  Effect.gen(function* () {
    const kafka = yield* TestKafka
    const size = Math.ceil(orders.length / slices)
    const slice = (i: number) => orders.slice(i * size, (i + 1) * size)
    for (let i = 0; i < slices; i++) {
      yield* kafka.sendMany(kafka.topics.ordersCreated, slice(i))
      if (fulfil && i > 0) yield* kafka.sendMany(kafka.topics.ordersFulfilled, fulfilmentsOf(slice(i - 1)))
      yield* Effect.sleep(pause)
    }
    if (fulfil) yield* kafka.sendMany(kafka.topics.ordersFulfilled, fulfilmentsOf(slice(slices - 1)))
  }).pipe(
    // the broker may be down for a moment: the load generator waits like any producer would
    Effect.retry({ times: 20 }),
    Effect.fork,
  )

/** GET /ready answers 200 again. */
export const waitReady = (port: number) =>
  Effect.tryPromise(() => fetch(`http://127.0.0.1:${port}/ready`).then((r) => r.status)).pipe(
    Effect.flatMap((status) => (status === 200 ? Effect.void : Effect.fail("not ready"))),
    Effect.retry(Schedule.spaced(Duration.millis(200))),
    Effect.timeoutFail({
      duration: Duration.minutes(2),
      onTimeout: () => new Error(`service on ${port} never became ready`),
    }),
    Effect.orDie,
  )

/**
 * Waits until no reservation is held any more (each was fulfilled or expired; promises waiting for
 * stock get a delivery through the instance at `port`, and are filled, then expire) and everything is
 * published; then every reserved order has exactly one ending on Kafka (fulfilled or released).
 */
const settleLifecycle = (orderIds: ReadonlyArray<string>, port: number | undefined) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const kafka = yield* TestKafka
    if (port !== undefined) yield* restockBackorders(port, faultAdminToken)
    yield* sql<{ n: number }>`
      SELECT (SELECT count(*) FROM reservations WHERE status IN ('reserved', 'partially_fulfilled'))
           + (SELECT count(*) FROM outbox) AS n`.pipe(
      Effect.flatMap(([row]) => (Number(row!.n) === 0 ? Effect.void : Effect.fail("still held or unpublished"))),
      Effect.retry(Schedule.spaced(Duration.millis(250))),
      Effect.timeout(Duration.minutes(3)),
      Effect.orDie,
    )
    yield* Effect.sleep(Duration.seconds(1)) // the last events reach the test's consumer
    const rows = yield* sql<{ order_id: string; status: string }>`
      SELECT order_id, status FROM reservations WHERE status IN ('fulfilled', 'expired', 'released')`
    const wanted = new Set(orderIds)
    const endings = new Map<string, Set<string>>()
    for (const e of kafka.events()) {
      if (e.topic !== kafka.topics.fulfilled && e.topic !== kafka.topics.released) continue
      endings.set(e.key, (endings.get(e.key) ?? new Set()).add(e.eventId))
    }
    const ended = rows.filter((r) => wanted.has(r.order_id))
    return {
      fulfilled: ended.filter((r) => r.status === "fulfilled").length,
      expired: ended.filter((r) => r.status === "expired").length,
      lost: ended.filter((r) => !endings.has(r.order_id)).length,
      doubled: ended.filter((r) => (endings.get(r.order_id)?.size ?? 0) > 1).length,
    }
  })

/** Waits for everything to be decided and published, checks the invariants, records the row. */
export const settle = (
  scenario: string,
  faults: number,
  orderIds: ReadonlyArray<string>,
  lastFaultAt: number,
  services: ReadonlyArray<ServiceProcess>,
  lifecycle = false,
  /** an instance that takes the restock of backorders (lifecycle scenarios) */
  port?: number,
) =>
  Effect.gen(function* () {
    const report = yield* waitForDrain(orderIds, Duration.minutes(4))
    const recoverySeconds = (Date.now() - lastFaultAt) / 1000
    const endings = lifecycle
      ? yield* settleLifecycle(orderIds, port)
      : { fulfilled: 0, expired: 0, lost: 0, doubled: 0 }
    if (lifecycle) console.info(`${scenario}: endings ${JSON.stringify(endings)}`)
    const violations = yield* invariantViolations
    const row: FaultRow = {
      scenario: lifecycle ? `${scenario}, with fulfilments and expiries` : scenario,
      faults,
      orders: report.orders,
      lost: report.lost + report.missingEvents + endings.lost,
      doubled: report.doubled + endings.doubled,
      duplicateEventsOnWire: report.duplicateEventsOnWire,
      recoverySeconds,
    }
    summary.push(row)
    console.info(`${scenario}: ${JSON.stringify(row)}`)
    for (const s of services) yield* stop(s)
    return { row, violations }
  })

/** A service child process on a port of its own. */
export const start = (name: string, extra: Record<string, string> = {}, script?: string) =>
  Effect.gen(function* () {
    const env = yield* SuiteEnv
    const port = yield* Effect.promise(freePort)
    const service = yield* startService(
      name,
      {
        ...env,
        KAFKA_SESSION_TIMEOUT_MS: "6000",
        SERVICE_PORT: String(port),
        ...extra,
      },
      script,
    )
    return { service, port }
  })

/** Settles, checks the verdict every scenario shares, and stops the surviving instance cleanly. */
export const conclude = (
  scenario: string,
  faults: number,
  orderIds: ReadonlyArray<string>,
  lastFaultAt: number,
  survivor: { readonly service: ServiceProcess; readonly port: number },
  lifecycle = false,
) =>
  Effect.gen(function* () {
    const { row, violations } = yield* settle(
      scenario,
      faults,
      orderIds,
      lastFaultAt,
      [],
      lifecycle,
      survivor.port,
    ).pipe(
      Effect.tapDefect(() =>
        Effect.sync(() =>
          console.error(`${scenario}: service output (tail):\n${survivor.service.output.slice(-40).join("")}`),
        ),
      ),
    )
    yield* waitReady(survivor.port)
    expect(yield* stop(survivor.service)).toBe(0)
    expect(violations).toEqual([])
    expect(row).toMatchObject({ lost: 0, doubled: 0 })
    return row
  })
