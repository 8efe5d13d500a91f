/**
 * `npm run demo:server` stopped as a service manager stops it: SIGTERM (or Ctrl-C's SIGINT)
 * while a client is in the middle of a conversation. The conversation ends in good order, with
 * Eliza's farewell rather than a cut connection, and the process exits 0 within its grace.
 */
import { describe, expect, it } from "@effect/vitest"
import { ConnectClient } from "connect-effect"
import { NodeTransport } from "connect-effect/node"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Queue from "effect/Queue"
import * as Stream from "effect/Stream"
import { type ChildProcess, spawn } from "node:child_process"
import { join } from "node:path"
import { farewell } from "../examples/eliza/eliza.js"
import { ElizaService } from "../examples/eliza/gen/connectrpc/eliza/v1/eliza_pb.js"

/** The demo server, run as `npm run demo:server` runs it (node itself, so that it gets the signal), killed with the Scope. */
const demoServer = Effect.acquireRelease(
  Effect.sync(() =>
    spawn(process.execPath, ["--conditions=connect-effect-source", "--import", "tsx", "examples/eliza/server.ts", "--port", "0"], {
      cwd: join(import.meta.dirname, ".."),
      stdio: ["ignore", "pipe", "pipe"]
    })
  ),
  (child) => Effect.sync(() => child.exitCode === null && child.kill("SIGKILL"))
).pipe(Effect.flatMap((child) =>
  Effect.map(
    Effect.async<string, Error>((resume) => {
      let out = ""
      child.stderr!.on("data", (chunk: Buffer) => out += chunk)
      child.stdout!.on("data", (chunk: Buffer) => {
        out += chunk
        const url = /listening on (\S+)/.exec(out)?.[1]
        if (url !== undefined) resume(Effect.succeed(url))
      })
      child.on("exit", (code) => resume(Effect.fail(new Error(`demo:server exited with ${code}:\n${out}`))))
    }),
    (url) => ({ child, url })
  )
))

/** The child's exit: its code and how long after `since` it came. */
const exited = (child: ChildProcess, since: number) =>
  Effect.async<{ readonly code: number | null; readonly afterMs: number }>((resume) => {
    if (child.exitCode !== null) return resume(Effect.succeed({ code: child.exitCode, afterMs: Date.now() - since }))
    child.once("exit", (code) => resume(Effect.succeed({ code, afterMs: Date.now() - since })))
  })

describe("npm run demo:server", () => {
  it.scopedLive.each([
    { signal: "SIGTERM", protocol: "connect" },
    { signal: "SIGINT", protocol: "grpc" }
  ] as const)("$signal in the middle of a Converse ($protocol): Eliza says goodbye, the process exits 0", ({ protocol, signal }) =>
    Effect.gen(function*() {
      const { child, url } = yield* demoServer
      const context = yield* Layer.build(NodeTransport.layerHttp2({ baseUrl: url, protocol }))
      const eliza = yield* Effect.provide(ConnectClient.make(ElizaService), context)
      const said = yield* Queue.unbounded<string>()
      // One sentence, and the request stream left open: the conversation goes on until the server ends it.
      const requests = Stream.concat(Stream.make({ sentence: "I feel tired" }), Stream.never)
      const conversation = yield* Effect.fork(
        Effect.exit(Stream.runForEach(eliza.converse(requests), (r) => Queue.offer(said, r.sentence)))
      )
      yield* Queue.take(said)
      const since = Date.now()
      child.kill(signal)
      const end = yield* Fiber.join(conversation)
      expect(Exit.isSuccess(end) ? "ended" : end).toBe("ended")
      expect(Chunk.toArray(yield* Queue.takeAll(said))).toContain(farewell)
      const { afterMs, code } = yield* exited(child, since)
      expect(code).toBe(0)
      // Within the server's grace (5 s), on a loaded machine too.
      expect(afterMs).toBeLessThan(5000)
    }))
})
