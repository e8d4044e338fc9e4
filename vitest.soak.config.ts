import { defineConfig } from "vitest/config"

// The soak (npm run test:soak) runs alone against a broker of its own (KAFKA_PORT, set by the
// npm script), which it kills and restarts; minutes per run from SOAK_MINUTES.
export default defineConfig({
  test: {
    include: ["test/Soak/Soak.test.ts"],
    globalSetup: ["test/globalSetup.ts"],
    testTimeout: 0,
    hookTimeout: 300_000,
    pool: "forks",
    maxWorkers: 1,
    minWorkers: 1,
    fileParallelism: false,
  },
})
