/**
 * The server the reliability runs attack, run by serverProcess.ts in a process of its own: a
 * crash is then an exit the runner sees, and memory and descriptors are the server's alone.
 * Serves the bounded TestService with ConnectServer.layer on a free loopback port, with the
 * options given as JSON in argv[2]; reports itself over the IPC channel when asked, after a
 * full GC if asked (node runs with --expose-gc); shuts down gracefully on SIGTERM.
 */
import { NodeRuntime } from "@effect/platform-node"
import { ConnectServer } from "connect-effect/node"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { writeSync } from "node:fs"
import { TestService } from "../test/gen/connecteffect/test/v1/test_pb.js"
import { LiveFibers } from "./liveFibers.js"
import type { ServerReport } from "./processStats.js"
import { exitingAt } from "./serverProcess.js"
import { boundedTestService, type Caps } from "./service.js"

/** What the parent passes in argv[2]. */
export interface ServerProcessOptions {
  readonly caps: Caps
  readonly serve: Omit<ConnectServer.ServeOptions<[typeof TestService]>, "services" | "port" | "host" | "tls">
}

/** A request from the parent: report now, or after a full GC and `settleMs` (for the RSS to settle). */
export interface ReportRequest {
  readonly id: number
  readonly gc: boolean
  readonly settleMs: number
}

const options = JSON.parse(process.argv[2] ?? "{}") as ServerProcessOptions

/** A full GC that reduces the heap's footprint (V8's "last resort" one), when the GC is exposed. */
const reducingGc = () =>
  (globalThis.gc as ((options: { type: string; execution: string; flavor: string }) => void) | undefined)?.({
    type: "major",
    execution: "sync",
    flavor: "last-resort"
  })
const fibers = new LiveFibers()

const main = Effect.gen(function*() {
  const server = yield* ConnectServer.ConnectServer
  const report = (): ServerReport => {
    const memory = process.memoryUsage()
    const activity = Effect.runSync(server.activity)
    return {
      rssBytes: memory.rss,
      heapUsedBytes: memory.heapUsed,
      heapTotalBytes: memory.heapTotal,
      externalBytes: memory.external,
      ...activity,
      fibers: fibers.count()
    }
  }
  process.on("message", (request: ReportRequest) => {
    if (request.gc) globalThis.gc?.()
    setTimeout(() => {
      const settled = report()
      if (!request.gc || request.settleMs === 0) return process.send?.({ id: request.id, report: settled })
      // Then the GC V8 runs under memory pressure, which also returns the pages its spaces freed
      // and keeps pooled for reuse: what the RSS is once V8 gives back all it can.
      reducingGc()
      setTimeout(() => {
        process.send?.({ id: request.id, report: { ...settled, rssAfterReducingGcBytes: process.memoryUsage().rss } })
      }, request.settleMs)
    }, request.settleMs)
  })
  // When, by its own clock: a runner busy with thousands of calls ending learns of the exit late.
  process.on("exit", () => writeSync(2, `${exitingAt}${Date.now()}\n`))
  // An orphan (its runner gone) shuts down rather than serve nobody.
  process.on("disconnect", () => process.kill(process.pid, "SIGTERM"))
  process.send?.({ listening: server.url })
  return yield* Effect.never
}).pipe(
  Effect.provide(ConnectServer.layer({ ...options.serve, services: [TestService] }).pipe(Layer.provide(boundedTestService(options.caps)))),
  Effect.supervised(fibers)
)

NodeRuntime.runMain(main)
