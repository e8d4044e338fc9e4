import type { ChildProcess } from "node:child_process"
import { Effect } from "effect"
import { spawnService } from "../../scripts/lib/ChildService.js"

export interface ServiceProcess {
  readonly name: string
  readonly child: ChildProcess
  readonly output: Array<string>
  /** the exit code, once it has exited */
  readonly exited: Promise<number | null>
}

/**
 * Runs the real service as a child process (`src/main.ts` through tsx, or `script`, say the build's
 * `dist/main.js`) and waits until it consumes and listens.
 */
export const startService = (name: string, env: Record<string, string>, script?: string) =>
  Effect.promise(
    () =>
      new Promise<ServiceProcess>((resolve, reject) => {
        let consuming = false
        let listening = false
        const { child, output, exited } = spawnService(env, {
          ...(script ? { script } : {}),
          onOutput: (text) => {
            consuming ||= text.includes("consuming orders")
            listening ||= text.includes("Listening on")
            if (consuming && listening) {
              clearTimeout(timer)
              resolve({ name, child, output, exited })
            }
          },
        })
        const timer = setTimeout(
          () => reject(new Error(`${name} did not start:\n${output.slice(-20).join("")}`)),
          60_000,
        )
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
