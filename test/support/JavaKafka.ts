import { execFile, spawn } from "node:child_process"
import { readdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { Effect } from "effect"
import kafkajs from "kafkajs"
import { testBrokers } from "./Env.js"

// Apache Kafka's own Java clients, from the jars scripts/kafka already resolves: a client the
// project did not write, to produce what JVM order services produce and read what we publish.
const root = fileURLToPath(new URL("../../", import.meta.url))
const classpath = join(root, ".kafka", "lib", "*")
const bootstrap = testBrokers.join(",")
/** The data folder of the broker the tests run against (it must run on this machine), from its own config. */
const { ConfigResourceTypes, Kafka, logLevel } = kafkajs // named imports of these fail under Node's CommonJS interop
const brokerData = Effect.promise(async () => {
  const admin = new Kafka({ clientId: "test-log-dirs", brokers: testBrokers, logLevel: logLevel.NOTHING }).admin()
  await admin.connect()
  try {
    const [broker] = (await admin.describeCluster()).brokers
    const { resources } = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: ConfigResourceTypes.BROKER, name: String(broker?.nodeId ?? 1), configNames: ["log.dirs"] }],
    })
    const dirs = resources[0]?.configEntries.find((e) => e.configName === "log.dirs")?.configValue
    if (!dirs) throw new Error("the broker does not say where its log.dirs are")
    return dirs.split(",")[0]!
  } finally {
    await admin.disconnect()
  }
})

const java = (args: ReadonlyArray<string>, input?: string) =>
  Effect.async<string, Error>((resume) => {
    const child = spawn("java", ["-cp", classpath, ...args], { stdio: ["pipe", "pipe", "pipe"] })
    let out = ""
    let err = ""
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString()
    })
    child.stderr.on("data", (chunk: Buffer) => {
      err += chunk.toString()
    })
    child.on("exit", (code) =>
      resume(code === 0 ? Effect.succeed(out) : Effect.fail(new Error(`java ${args[0]} exited ${code}: ${err}`))),
    )
    child.stdin.end(input ?? "")
    return Effect.sync(() => child.kill("SIGKILL"))
  })

/** Orders sent by kafka.tools.ConsoleProducer, compressed with `codec`, one batch per call. */
export const javaProduce = (
  topic: string,
  codec: "none" | "gzip" | "snappy" | "lz4" | "zstd",
  messages: ReadonlyArray<{ key: string; value: string }>,
) =>
  java(
    [
      "kafka.tools.ConsoleProducer",
      "--bootstrap-server",
      bootstrap,
      "--topic",
      topic,
      "--compression-codec",
      codec,
      "--property",
      "parse.key=true",
      "--property",
      "key.separator=|",
      "--producer-property",
      "linger.ms=50",
    ],
    messages.map((m) => `${m.key}|${m.value}\n`).join(""),
  ).pipe(Effect.asVoid)

/** Records of `topic` read by the Java consumer, as key and value. */
export const javaConsume = (topic: string, count: number, timeoutMs = 30_000) =>
  java([
    join(root, "test", "support", "java", "ReadTopic.java"),
    bootstrap,
    topic,
    String(count),
    String(timeoutMs),
  ]).pipe(
    Effect.map((out) =>
      out
        .split("\n")
        .filter((line) => line.includes("\t"))
        .map((line) => {
          const [key = "", value = ""] = line.split("\t")
          return { key, value }
        }),
    ),
  )

const segmentsOf = (brokerData: string, topic: string) =>
  readdirSync(brokerData)
    .filter((dir) => dir.startsWith(`${topic}-`) && /^\d+$/.test(dir.slice(topic.length + 1)))
    .flatMap((dir) =>
      readdirSync(join(brokerData, dir))
        .filter((file) => file.endsWith(".log"))
        .map((file) => ({ partition: Number(dir.slice(topic.length + 1)), path: join(brokerData, dir, file) })),
    )

/** The compression codecs of the batches stored for `topic`, as the broker's DumpLogSegments tool reports them. */
export const storedCodecs = (topic: string) =>
  Effect.flatMap(brokerData, (data) =>
    Effect.tryPromise(
      () =>
        new Promise<Set<string>>((resolve, reject) => {
          const files = segmentsOf(data, topic).map((s) => s.path)
          execFile(
            "java",
            ["-cp", classpath, "kafka.tools.DumpLogSegments", "--files", files.join(",")],
            (error, out) =>
              error ? reject(error) : resolve(new Set(Array.from(out.matchAll(/compresscodec: (\w+)/g), (m) => m[1]!))),
          )
        }),
    ),
  )

/**
 * Overwrites the LZ4 frame magic of every lz4 batch stored for `topic` on the broker's disk: the
 * broker serves the batch as it is (no validation on fetch), and no client can decompress it.
 * Returns the partitions it corrupted.
 */
export const corruptLz4Batches = (topic: string) =>
  Effect.map(brokerData, (data) => {
    const magic = Buffer.from([0x04, 0x22, 0x4d, 0x18])
    const corrupted = new Set<number>()
    for (const { partition, path } of segmentsOf(data, topic)) {
      const bytes = readFileSync(path)
      let at = bytes.indexOf(magic)
      if (at < 0) continue
      while (at >= 0) {
        bytes.fill(0, at, at + magic.length)
        at = bytes.indexOf(magic, at + magic.length)
      }
      writeFileSync(path, bytes)
      corrupted.add(partition)
    }
    return Array.from(corrupted)
  })
