/**
 * The short fuzz run (the long one is `npm run fuzz`, see docs/reliability.md): every kind of
 * hostile input of reliability/kinds, a few hundred each with a fixed seed, against the fuzz
 * server in a process of its own. Per kind: no crash, no hang, every answer in its protocol's
 * shape, a valid call served after every batch, nothing held after; at the end the heap back
 * near where it began and nothing logged.
 */
import { describe, expect, layer } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { failuresOf, fuzzServer, heapSlack, runKind } from "../reliability/campaign.js"
import { healthCheck } from "../reliability/health.js"
import { allKinds } from "../reliability/kinds/index.js"
import type { ServerStats } from "../reliability/processStats.js"
import { type ServerProcess, serverProcess } from "../reliability/serverProcess.js"

class FuzzServer extends Context.Tag("FuzzServer")<FuzzServer, { readonly process: ServerProcess; readonly before: ServerStats }>() {}

const FuzzServerLive = Layer.scoped(
  FuzzServer,
  Effect.gen(function*() {
    const process = yield* serverProcess(fuzzServer, "source")
    yield* Effect.forEach(Array.from({ length: 20 }), () => healthCheck(process.url), { discard: true })
    return { process, before: yield* process.stats("settled") }
  }).pipe(Effect.orDie)
)

/** Inputs per kind: about 2,000 in all, a few seconds of each kind. */
const runs: Record<string, number> = {
  http1: 300,
  "connect-h1": 400,
  "grpc-web-h1": 250,
  "rpc-h2": 250,
  "h2-frames": 200,
  "client-h1": 200,
  "client-h2": 200,
  "chaos-h1": 80,
  "chaos-h2": 80
}

describe("fuzz, short run (seed 1)", () => {
  layer(FuzzServerLive, { timeout: "120 seconds", excludeTestServices: true })((it) => {
    for (const kind of allKinds) {
      it.effect(`${kind.name}: ${kind.about}`, () =>
        Effect.gen(function*() {
          const { process } = yield* FuzzServer
          const report = yield* runKind(kind, process, {
            seed: 1,
            runs: (k) => runs[k.name]!,
            batchSize: 500,
            concurrency: 64,
            hardBoundMs: 30_000,
            log: () => {}
          })
          expect(failuresOf({ kinds: [report], crashed: undefined, before: (yield* FuzzServer).before, after: undefined, serverLogLines: 0, serverLogTail: [] }))
            .toEqual([])
        }).pipe(Effect.orDie), { timeout: 60_000 })
    }

    it.effect("afterwards: the heap back near where it began, nothing logged", () =>
      Effect.gen(function*() {
        const { before, process } = yield* FuzzServer
        const after = yield* Effect.orDie(process.stats("settled"))
        expect(after.heapUsedBytes).toBeLessThan(before.heapUsedBytes + heapSlack(before.heapUsedBytes))
        expect(process.output()).toEqual({ lines: 0, tail: [] })
      }))
  })
})
