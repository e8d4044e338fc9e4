import { execFileSync } from "node:child_process"
import { readFileSync } from "node:fs"
import { Kafka, logLevel, Partitioners } from "kafkajs"
import "../../src/Kafka/TimerWarning.js"
import type pg from "pg"
import { root, spawnService } from "../../scripts/lib/ChildService.js"
import {
  createDatabase as createDb,
  databaseUrlFor,
  dropDatabase as dropDb,
  withClient,
} from "../../scripts/lib/Databases.js"

export const brokers = (process.env.KAFKA_BROKERS ?? "127.0.0.1:9092").split(",")
const adminUrl = process.env.BENCH_ADMIN_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres"

export const kafka = new Kafka({ clientId: "bench", brokers, logLevel: logLevel.NOTHING })

/** The project's broker, started if none answers (unless KAFKA_BROKERS names one of yours). */
export const ensureBroker = () => {
  if (process.env.KAFKA_BROKERS === undefined)
    execFileSync("bash", [`${root}scripts/kafka`, "start"], { stdio: "inherit" })
}

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

export const withAdminDb = <A>(use: (client: pg.Client) => Promise<A>) => withClient(adminUrl, use)
export const databaseUrl = (name: string) => databaseUrlFor(adminUrl, name)
export const createDatabase = (name: string) => createDb(adminUrl, name)
export const dropDatabase = (name: string) => dropDb(adminUrl, name)

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

export const startService = (env: Record<string, string>, script = "src/main.ts", nodeArgs: Array<string> = []) =>
  new Promise<RunningService>((resolve, reject) => {
    const {
      child,
      output: tail,
      exited,
    } = spawnService(
      { LOG_LEVEL: "warning", ...env },
      {
        script,
        nodeArgs: [...(process.env.BENCH_NODE_ARGS ?? "").split(" ").filter(Boolean), ...nodeArgs],
        keep: 50,
        // the service's own log, to debug
        onOutput: (text) => process.env.BENCH_SERVICE_OUTPUT && process.stderr.write(text),
      },
    )
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
