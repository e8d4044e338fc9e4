import { execFileSync } from "node:child_process"
import { fileURLToPath } from "node:url"

// The test command stands on its own: it starts the project's broker when none answers.
// Set TEST_KAFKA_BROKERS to use a broker you run yourself.
export default function setup() {
  if (process.env.TEST_KAFKA_BROKERS) return
  const script = fileURLToPath(new URL("../scripts/kafka", import.meta.url))
  execFileSync("bash", [script, "start"], { stdio: "inherit" })
}
