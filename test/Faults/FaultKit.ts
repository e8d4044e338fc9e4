import { execFile } from "node:child_process"
import { fileURLToPath } from "node:url"
import { expect } from "@effect/vitest"
import { Duration, Effect, Fiber, Schedule } from "effect"
import { freePort } from "../support/Env.js"
import { invariantViolations, SuiteEnv } from "../support/Harness.js"
import { waitForDrain } from "../support/Outcomes.js"
import { type ServiceProcess, startService, stop } from "../support/ServiceProcess.js"
import { TestKafka } from "../support/TestKafka.js"

export { HOT, makeOrders, seedHot } from "../support/Load.js"

/** Reduced in CI (`FAULTS=reduced`, the default), full with `FAULTS=full` (npm run test:faults). */
export const full = process.env.FAULTS === "full"

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

/** The suite's own broker (scripts/kafka on KAFKA_PORT): stop, kill -9, start. */
export const broker = (command: "start" | "stop" | "kill") =>
  Effect.async<void>((resume) => {
    execFile("bash", [scriptPath, command], { env: process.env }, (error, _stdout, stderr) =>
      resume(error ? Effect.die(new Error(`scripts/kafka ${command}: ${stderr}`)) : Effect.void),
    )
  })

/** Produces `orders` in slices, with a pause between slices: steady load while faults land. */
export const steadyLoad = (
  orders: ReadonlyArray<{ key: string; value: string }>,
  slices: number,
  pause: Duration.DurationInput,
) =>
  Effect.gen(function* () {
    const kafka = yield* TestKafka
    const size = Math.ceil(orders.length / slices)
    for (let i = 0; i < slices; i++) {
      yield* kafka.sendMany(kafka.topics.ordersCreated, orders.slice(i * size, (i + 1) * size))
      yield* Effect.sleep(pause)
    }
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

/** Waits for everything to be decided and published, checks the invariants, records the row. */
export const settle = (
  scenario: string,
  faults: number,
  orderIds: ReadonlyArray<string>,
  lastFaultAt: number,
  services: ReadonlyArray<ServiceProcess>,
) =>
  Effect.gen(function* () {
    const report = yield* waitForDrain(orderIds, Duration.minutes(4))
    const recoverySeconds = (Date.now() - lastFaultAt) / 1000
    const violations = yield* invariantViolations
    const row: FaultRow = {
      scenario,
      faults,
      orders: report.orders,
      lost: report.lost + report.missingEvents,
      doubled: report.doubled,
      duplicateEventsOnWire: report.duplicateEventsOnWire,
      recoverySeconds,
    }
    summary.push(row)
    console.info(`${scenario}: ${JSON.stringify(row)}`)
    for (const s of services) yield* stop(s)
    return { row, violations }
  })

/** A service child process on a port of its own. */
export const start = (name: string, extra: Record<string, string> = {}) =>
  Effect.gen(function* () {
    const env = yield* SuiteEnv
    const port = yield* Effect.promise(freePort)
    const service = yield* startService(name, {
      ...env,
      KAFKA_SESSION_TIMEOUT_MS: "6000",
      SERVICE_PORT: String(port),
      ...extra,
    })
    return { service, port }
  })

export { Fiber }

/** Settles, checks the verdict every scenario shares, and stops the surviving instance cleanly. */
export const conclude = (
  scenario: string,
  faults: number,
  orderIds: ReadonlyArray<string>,
  lastFaultAt: number,
  survivor: { readonly service: ServiceProcess; readonly port: number },
) =>
  Effect.gen(function* () {
    const { row, violations } = yield* settle(scenario, faults, orderIds, lastFaultAt, []).pipe(
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
