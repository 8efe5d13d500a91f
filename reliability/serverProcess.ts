/**
 * The runner's side of server.ts: starts it in a child process owned by a Scope (SIGTERM, then
 * SIGKILL, when the Scope closes), asks it for reports, and tells a crash (the child exiting on
 * its own) from everything else. What the server logs is kept: connect-effect logs only what
 * it could not answer with a ConnectError, so any line is worth reading.
 */
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import { type ChildProcess, spawn } from "node:child_process"
import { join } from "node:path"
import { descriptorsOf, type ServerReport, type ServerStats } from "./processStats.js"
import type { ReportRequest, ServerProcessOptions } from "./server.js"

/** The server process exited by itself: a crash. */
export class ServerCrashed extends Data.TaggedError("ServerCrashed")<{
  readonly exitCode: number | null
  readonly signal: string | null
  readonly output: string
}> {
  override get message() {
    return `the server process exited (code ${this.exitCode}, signal ${this.signal}); its last output:\n${this.output}`
  }
}

export interface ServerProcess {
  readonly url: string
  readonly port: number
  readonly pid: number
  /** A sample now, after a full GC, or after a full GC and a second for the RSS to settle. */
  readonly stats: (when?: "now" | "gc" | "settled") => Effect.Effect<ServerStats, ServerCrashed>
  /** Fails if the server has exited. */
  readonly alive: Effect.Effect<void, ServerCrashed>
  /** Lines the server wrote (logs), and the last of them. */
  readonly output: () => { readonly lines: number; readonly tail: ReadonlyArray<string> }
  /** SIGTERM (a graceful shutdown), and how the process exited, and when (`Date.now()`). */
  readonly terminate: Effect.Effect<Exited>
}

/** The line the server writes last, with the time it exits (`Date.now()`). */
export const exitingAt = "exiting at "

/** How the server process ended. */
export interface Exited {
  readonly exitCode: number | null
  readonly signal: string | null
  /** When it exited, by its own report (`Date.now()`), or when this process saw it exit. */
  readonly at: number
}

const entry = join(import.meta.dirname, "server.ts")

/**
 * The connect-effect a server runs: `built`, the compiled package in dist/ as its users run it
 * (what the figures are measured on: `npm run build` first), or `source`, its TypeScript compiled
 * by tsx as it loads (the tests', with no build). tsx keeps every function's name by redefining
 * it, which V8 pays for in each closure made per call: a server interrupting 10,000 streams
 * took 12 s to exit from source, 9 s built.
 */
export type Code = "built" | "source"

/** Starts server.ts with `options` in a child process, stopped when the Scope closes. */
export const serverProcess = (options: ServerProcessOptions, code: Code = "built") =>
  Effect.gen(function*() {
    const conditions = code === "source" ? ["--conditions=connect-effect-source"] : []
    const child = yield* Effect.acquireRelease(
      Effect.sync(() =>
        spawn(
          process.execPath,
          ["--expose-gc", ...conditions, "--import", "tsx", entry, JSON.stringify(options)],
          { cwd: join(import.meta.dirname, ".."), stdio: ["ignore", "pipe", "pipe", "ipc"] }
        )
      ),
      stop
    )
    let lines = 0
    let exitedAt: number | undefined
    const tail: Array<string> = []
    const onOutput = (chunk: Buffer) => {
      for (const line of chunk.toString().split("\n")) {
        if (line === "") continue
        if (line.startsWith(exitingAt)) exitedAt = Number(line.slice(exitingAt.length))
        lines++
        tail.push(line)
        if (tail.length > 20) tail.shift()
      }
    }
    child.stdout!.on("data", onOutput)
    child.stderr!.on("data", onOutput)
    let exited: ServerCrashed | undefined
    const ended = Effect.async<Exited>((resume) => {
      // "close": its output read to the end, the line saying when it exited included.
      const report = () => resume(Effect.succeed({ exitCode: child.exitCode, signal: child.signalCode, at: exitedAt ?? Date.now() }))
      if (child.stdout!.closed && child.stderr!.closed && (child.exitCode !== null || child.signalCode !== null)) return report()
      child.once("close", report)
    })
    const pending = new Map<number, (report: ServerReport) => void>()
    child.once("exit", (exitCode, signal) => {
      exited = new ServerCrashed({ exitCode, signal, output: tail.join("\n") })
    })
    const url = yield* Effect.async<string, ServerCrashed>((resume) => {
      child.on("message", (message: { listening?: string; id?: number; report?: ServerReport }) => {
        if (message.listening !== undefined) return resume(Effect.succeed(message.listening))
        pending.get(message.id!)?.(message.report!)
        pending.delete(message.id!)
      })
      child.once("exit", () => resume(Effect.fail(exited!)))
    }).pipe(
      Effect.timeoutFail({
        duration: "60 seconds",
        onTimeout: () => new ServerCrashed({ exitCode: null, signal: null, output: `did not start within 60 s\n${tail.join("\n")}` })
      })
    )
    const alive = Effect.suspend(() => exited === undefined ? Effect.void : Effect.fail(exited))
    let nextId = 0
    const stats = (when: "now" | "gc" | "settled" = "now") =>
      Effect.zipRight(
        alive,
        Effect.async<ServerStats, ServerCrashed>((resume) => {
          const request: ReportRequest = { id: nextId++, gc: when !== "now", settleMs: when === "settled" ? 1000 : 0 }
          const onExit = () => resume(Effect.fail(exited!))
          child.once("exit", onExit)
          pending.set(request.id, (report) => {
            child.off("exit", onExit)
            resume(Effect.succeed({ ...report, ...descriptorsOf(child.pid!) }))
          })
          child.send(request)
          return Effect.sync(() => {
            pending.delete(request.id)
            child.off("exit", onExit)
          })
        })
      )
    return {
      url,
      port: Number(new URL(url).port),
      pid: child.pid!,
      stats,
      alive,
      output: () => ({ lines, tail: [...tail] }),
      terminate: Effect.zipRight(Effect.sync(() => child.kill("SIGTERM")), ended)
    } satisfies ServerProcess
  })

/** SIGTERM (a graceful shutdown), then SIGKILL if it has not exited within 15 s. */
const stop = (child: ChildProcess) =>
  Effect.async<void>((resume) => {
    if (child.exitCode !== null || child.signalCode !== null) return resume(Effect.void)
    const timer = setTimeout(() => child.kill("SIGKILL"), 15_000)
    child.once("exit", () => {
      clearTimeout(timer)
      resume(Effect.void)
    })
    child.kill("SIGTERM")
  })
