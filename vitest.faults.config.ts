import { defineConfig } from "vitest/config"

// The fault suite runs alone, one file at a time, against a broker of its own (KAFKA_PORT,
// set by `npm run test:faults`) that it stops and kills.
export default defineConfig({
  test: {
    include: ["test/Faults/**/*.test.ts"],
    globalSetup: ["test/globalSetup.ts"],
    testTimeout: 600_000,
    hookTimeout: 300_000,
    pool: "forks",
    maxWorkers: 1,
    minWorkers: 1,
    fileParallelism: false,
  },
})
