import { execFileSync } from "node:child_process"
import { fileURLToPath } from "node:url"
import { localDatabase } from "../scripts/lib/LocalPostgres.js"

// The test command stands on its own: it runs on a supported Node line, uses the PostgreSQL on
// 127.0.0.1:5432 or starts an embedded one, and starts the project's broker when none answers.
// Set TEST_DATABASE_ADMIN_URL or TEST_KAFKA_BROKERS to use servers you run yourself.
export default async function setup() {
  const major = Number(process.versions.node.split(".")[0])
  console.log(`tests run on Node ${process.version}`)
  if (major < 24) throw new Error(`Node ${process.version} is end-of-life; run the tests through npm (npm cit)`)

  let stopDatabase = async () => {}
  if (!process.env.TEST_DATABASE_ADMIN_URL) {
    const database = await localDatabase()
    console.log(`tests use PostgreSQL at ${database.server} (${database.origin})`)
    process.env.TEST_DATABASE_ADMIN_URL = `${database.server}/postgres`
    stopDatabase = database.stop
  }
  if (!process.env.TEST_KAFKA_BROKERS) {
    const script = fileURLToPath(new URL("../scripts/kafka", import.meta.url))
    execFileSync("bash", [script, "start"], { stdio: "inherit" })
  }
  return stopDatabase
}
