import { execFileSync, spawn } from "node:child_process"
import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { Kafka, logLevel, Partitioners } from "kafkajs"
import "../../src/Kafka/TimerWarning.js"
import pg from "pg"

export const root = fileURLToPath(new URL("../../", import.meta.url))
export const brokers = (process.env.KAFKA_BROKERS ?? "127.0.0.1:9092").split(",")
const adminUrl = process.env.BENCH_ADMIN_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres"

export const kafka = new Kafka({ clientId: "bench", brokers, logLevel: logLevel.NOTHING })

/** The project's broker, started if none answers (unless KAFKA_BROKERS names one of yours). */
export const ensureBroker = () => {
  if (process.env.KAFKA_BROKERS === undefined)
    execFileSync("bash", [`${root}scripts/kafka`, "start"], { stdio: "inherit" })
}

export const topicsFor = (suffix: string) => ({
  TOPIC_ORDERS_CREATED: `orders.created.${suffix}`,
  TOPIC_ORDERS_CANCELLED: `orders.cancelled.${suffix}`,
  TOPIC_ORDERS_FULFILLED: `orders.fulfilled.${suffix}`,
  TOPIC_INVENTORY_RESERVED: `inventory.reserved.${suffix}`,
  TOPIC_INVENTORY_RELEASED: `inventory.released.${suffix}`,
  TOPIC_INVENTORY_FULFILLED: `inventory.fulfilled.${suffix}`,
  TOPIC_INVENTORY_FULFILLMENT_REJECTED: `inventory.fulfillment_rejected.${suffix}`,
  TOPIC_INVENTORY_OUT_OF_STOCK: `inventory.out_of_stock.${suffix}`,
  TOPIC_INVENTORY_ADJUSTED: `inventory.adjusted.${suffix}`,
  TOPIC_INVENTORY_LOW_STOCK: `inventory.low_stock.${suffix}`,
  TOPIC_DEAD_LETTER: `inventory.dead_letter.${suffix}`,
})

export const createTopics = async (topics: ReadonlyArray<string>, partitions: number) => {
  const admin = kafka.admin()
  await admin.connect()
  await admin.createTopics({
    waitForLeaders: true,
    topics: topics.map((topic) => ({ topic, numPartitions: partitions })),
  })
  await admin.disconnect()
}

export const deleteTopics = async (topics: ReadonlyArray<string>) => {
  const admin = kafka.admin()
  await admin.connect()
  await admin.deleteTopics({ topics: [...topics] }).catch(() => {})
  await admin.disconnect()
}

export const withAdminDb = async <A>(f: (client: pg.Client) => Promise<A>) => {
  const client = new pg.Client({ connectionString: adminUrl })
  await client.connect()
  try {
    return await f(client)
  } finally {
    await client.end()
  }
}

export const databaseUrl = (name: string) => {
  const url = new URL(adminUrl)
  url.pathname = `/${name}`
  return url.toString()
}

export const createDatabase = (name: string) =>
  withAdminDb((c) => c.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`))
export const dropDatabase = (name: string) =>
  withAdminDb((c) => c.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`))

export const producer = async () => {
  const p = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner })
  await p.connect()
  return p
}

/** Starts the real service as a child process; resolves once it consumes. */
export interface RunningService {
  readonly pid: number
  readonly stop: () => Promise<number | null>
  /** peak resident memory so far (VmHWM) */
  readonly peakRssMb: () => number
  /** CPU seconds used so far (user + system) */
  readonly cpuSeconds: () => number
  /** resident memory now */
  readonly rssMb: () => number
  /** throws, naming the exit code and the end of its output, if the system under test has exited */
  readonly assertRunning: () => void
}

const procStat = (pid: number) => {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")
  return (Number(fields[11]) + Number(fields[12])) / 100
}

export const startService = (env: Record<string, string>, script = "src/main.ts") =>
  new Promise<RunningService>((resolve, reject) => {
    const nodeArgs = (process.env.BENCH_NODE_ARGS ?? "").split(" ").filter(Boolean)
    const loader = script.endsWith(".ts") ? ["--import", "tsx"] : []
    const child = spawn(process.execPath, [...nodeArgs, ...loader, script], {
      cwd: root,
      env: { ...process.env, LOG_LEVEL: "warning", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    })
    const tail: Array<string> = []
    const exited = new Promise<number | null>((done) => child.on("exit", (code) => done(code)))
    const onData = (chunk: Buffer) => {
      if (process.env.BENCH_SERVICE_OUTPUT) process.stderr.write(chunk) // the service's own log, to debug
      tail.push(chunk.toString())
      if (tail.length > 50) tail.shift()
    }
    child.stdout.on("data", onData)
    child.stderr.on("data", onData)
    const started = Date.now()
    const poll = setInterval(async () => {
      try {
        const health = await fetch(`http://127.0.0.1:${env.SERVICE_PORT}/health`)
        if (health.ok) {
          clearInterval(poll)
          resolve({
            pid: child.pid!,
            stop: async () => {
              child.kill("SIGTERM")
              return exited
            },
            peakRssMb: () => {
              const status = readFileSync(`/proc/${child.pid}/status`, "utf8")
              return Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024
            },
            cpuSeconds: () => procStat(child.pid!),
            assertRunning: () => {
              if (child.exitCode !== null || child.signalCode !== null)
                throw new Error(
                  `${script} exited (${child.exitCode ?? child.signalCode}) before the run finished:\n${tail.join("").slice(-3000)}`,
                )
            },
            rssMb: () => {
              const status = readFileSync(`/proc/${child.pid}/status`, "utf8")
              return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024
            },
          })
        }
      } catch {}
      if (Date.now() - started > 60_000) {
        clearInterval(poll)
        reject(new Error(`service did not start:\n${tail.join("")}`))
      }
    }, 100)
    void exited.then((code) => {
      clearInterval(poll)
      reject(new Error(`service exited (${code}):\n${tail.join("")}`))
    })
  })
