// The service (or another Node script of the project) as a child process: what the tests and the
// bench both start, with its output kept (the last lines) and its exit awaited.
import { type ChildProcess, spawn } from "node:child_process"
import { fileURLToPath } from "node:url"

export const root = fileURLToPath(new URL("../../", import.meta.url))

export interface Child {
  readonly child: ChildProcess
  /** the last chunks of its stdout and stderr */
  readonly output: Array<string>
  /** the exit code, once it has exited */
  readonly exited: Promise<number | null>
}

export interface SpawnOptions {
  /** the script, from the project's root: TypeScript runs through tsx (default: src/main.ts) */
  readonly script?: string
  readonly nodeArgs?: ReadonlyArray<string>
  /** how many output chunks are kept */
  readonly keep?: number
  /** sees every chunk of output as it comes */
  readonly onOutput?: (text: string) => void
}

/** Starts `script` with the process's environment plus `env` (LOG_LEVEL info unless `env` says). */
export const spawnService = (env: Record<string, string>, options: SpawnOptions = {}): Child => {
  const script = options.script ?? "src/main.ts"
  const loader = script.endsWith(".ts") ? ["--import", "tsx"] : []
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), ...loader, script], {
    cwd: root,
    env: { ...process.env, LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  })
  const output: Array<string> = []
  const keep = options.keep ?? 2000
  const onData = (chunk: Buffer) => {
    const text = chunk.toString()
    output.push(text)
    if (output.length > keep) output.splice(0, output.length - keep)
    options.onOutput?.(text)
  }
  child.stdout?.on("data", onData)
  child.stderr?.on("data", onData)
  const exited = new Promise<number | null>((done) => child.on("exit", (code) => done(code)))
  return { child, output, exited }
}
