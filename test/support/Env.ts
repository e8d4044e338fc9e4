import { randomBytes } from "node:crypto"

/** The broker the tests run against: the project's script broker unless told otherwise. */
export const testBrokers = (process.env.TEST_KAFKA_BROKERS ?? `127.0.0.1:${process.env.KAFKA_PORT ?? "9092"}`).split(
  ",",
)

export const adminDatabaseUrl = process.env.TEST_DATABASE_ADMIN_URL ?? "postgres://postgres@127.0.0.1:5432/postgres"

/** A short random suffix so each suite owns its database, topics and consumer group. */
export const uniqueSuffix = () => `${Date.now().toString(36)}_${randomBytes(3).toString("hex")}`

/** A TCP port nobody listens on right now. */
export const freePort = async (): Promise<number> => {
  const { createServer } = await import("node:net")
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}
