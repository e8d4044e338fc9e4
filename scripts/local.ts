// npm run local: a database (DATABASE_URL, the PostgreSQL on 127.0.0.1:5432, or an embedded one of
// the project's own), the project's Kafka broker, migrations, demo stock, then the service itself.
// Ctrl-C stops the service and the embedded database; 'npm run kafka stop' stops the broker.
import { execFileSync, spawn } from "node:child_process"
import { localDatabase } from "./lib/LocalPostgres.js"

const run = (args: Array<string>, env: NodeJS.ProcessEnv) =>
  execFileSync(process.execPath, ["--import", "tsx", ...args], { stdio: "inherit", env })

const database = await localDatabase()
const databaseUrl = process.env.DATABASE_URL ?? `${database.server}/inventory`
console.log(`local: database ${database.server} (${database.origin})`)
try {
  execFileSync("bash", ["scripts/kafka", "start"], { stdio: "inherit" })
  const port = process.env.SERVICE_PORT ?? "8083"
  const adminToken = process.env.ADMIN_TOKEN ?? "local-admin-token"
  const env = { ...process.env, DATABASE_URL: databaseUrl, ADMIN_TOKEN: adminToken }
  run(["src/migrate.ts"], env)
  run(["scripts/seed.ts"], env)
  console.log(`
  inventory-service on http://127.0.0.1:${port} (Node ${process.version})
    curl -s 127.0.0.1:${port}/health
    curl -s 127.0.0.1:${port}/inventory
    curl -s -X POST 127.0.0.1:${port}/inventory/P1/adjustments -H "Authorization: Bearer ${adminToken}" \\
         -H 'content-type: application/json' -d '{"quantity": 5, "adjustment_type": "restock"}'
  docs http://127.0.0.1:${port}/docs, admin token ${adminToken}
  broker 127.0.0.1:${process.env.KAFKA_PORT ?? 9092} (npm run kafka -- logs), database ${databaseUrl}
  Ctrl-C stops the service${database.origin === "embedded" ? " and the embedded database" : ""}; 'npm run kafka -- stop' stops the broker.
`)
  const service = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], { stdio: "inherit", env })
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => service.kill(signal))
  const code = await new Promise<number>((resolve) => service.on("exit", (c) => resolve(c ?? 1)))
  process.exitCode = code
} catch (error) {
  console.error(`local: ${error instanceof Error ? error.message : String(error)}`)
  process.exitCode = 1
} finally {
  await database.stop()
}
