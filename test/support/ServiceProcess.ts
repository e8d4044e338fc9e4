import { type ChildProcess, spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { Effect } from "effect"

const root = fileURLToPath(new URL("../../", import.meta.url))

export interface ServiceProcess {
  readonly name: string
  readonly child: ChildProcess
  readonly output: Array<string>
  /** the exit code, once it has exited */
  readonly exited: Promise<number | null>
}

/** Runs the real service (`src/main.ts`) as a child process and waits until it consumes. */
export const startService = (name: string, env: Record<string, string>) =>
  Effect.promise(
    () =>
      new Promise<ServiceProcess>((resolve, reject) => {
        const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
          cwd: root,
          env: { ...process.env, LOG_LEVEL: "info", ...env },
          stdio: ["ignore", "pipe", "pipe"],
        })
        const output: Array<string> = []
        const exited = new Promise<number | null>((done) => child.on("exit", (code) => done(code)))
        const timer = setTimeout(
          () => reject(new Error(`${name} did not start:\n${output.slice(-20).join("")}`)),
          60_000,
        )
        // ready: consuming, and the HTTP server listening
        let consuming = false
        let listening = false
        const onData = (chunk: Buffer) => {
          const text = chunk.toString()
          output.push(text)
          if (output.length > 2000) output.splice(0, 1000)
          consuming ||= text.includes("consuming orders")
          listening ||= text.includes("Listening on")
          if (consuming && listening) {
            clearTimeout(timer)
            resolve({ name, child, output, exited })
          }
        }
        child.stdout.on("data", onData)
        child.stderr.on("data", onData)
        void exited.then((code) => {
          clearTimeout(timer)
          reject(new Error(`${name} exited (${code}) before it was ready:\n${output.slice(-20).join("")}`))
        })
      }),
  )

/** SIGKILL: no finalizer runs, nothing is flushed. */
export const kill9 = (service: ServiceProcess) =>
  Effect.promise(async () => {
    service.child.kill("SIGKILL")
    await service.exited
  })

/** SIGTERM and the exit code it ends with. */
export const stop = (service: ServiceProcess) =>
  Effect.promise(async () => {
    if (service.child.exitCode !== null || service.child.signalCode !== null) return service.child.exitCode
    service.child.kill("SIGTERM")
    return await service.exited
  })
