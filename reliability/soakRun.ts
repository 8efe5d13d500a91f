/**
 * A soak: many unary calls, then many concurrent server streams, against one server in a
 * process of its own, sampled all along (sampler.ts); before, between and after, the server is
 * measured at rest (after a full GC) so that what a phase leaves behind shows. Our client sends:
 * unary calls over HTTP/1.1 (NodeTransport.layerUndici, `concurrency` at once) and streams over
 * HTTP/2 or HTTP/1.1, all opened at once.
 */
import { ConnectClient, type ConnectError, type Transport } from "connect-effect"
import { NodeTransport } from "connect-effect/node"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import { TestService } from "../test/gen/connecteffect/test/v1/test_pb.js"
import { heapSlack } from "./campaign.js"
import { mib, type ServerStats } from "./processStats.js"
import { type Sample, sampleEvery } from "./sampler.js"
import type { ServerProcessOptions } from "./server.js"
import { type ServerProcess, serverProcess } from "./serverProcess.js"

export interface SoakOptions {
  readonly calls: number
  readonly concurrency: number
  readonly streams: number
  readonly streamHttp: "1.1" | "2"
  /** Each stream sends this many messages, one every `streamDelayMs`. */
  readonly streamMessages: number
  readonly streamDelayMs: number
  readonly streamRounds: number
  readonly sampleMs: number
  readonly log: (line: string) => void
}

/** A round of streams: how long, the most in flight at once (sampled), the server with all open and at rest after. */
export interface StreamRound {
  readonly seconds: number
  readonly peakInFlight: number
  /** When every stream was open, if they all were at once: after how long, and the server then (after a full GC). */
  readonly allOpen: { readonly seconds: number; readonly stats: ServerStats } | undefined
  readonly afterwards: ServerStats
}

export interface SoakReport {
  readonly samples: ReadonlyArray<Sample>
  /** The server at rest (its client gone, after a full GC and a settling second) after a warm-up, and after the calls. */
  readonly baseline: ServerStats
  readonly afterCalls: ServerStats
  readonly calls: { readonly done: number; readonly seconds: number; readonly failures: Readonly<Record<string, number>> }
  readonly streamRounds: ReadonlyArray<StreamRound>
  readonly streamFailures: Readonly<Record<string, number>>
}

/** The soak server: the default configuration, and streams that may last (a message a second, 100 at most). */
export const soakServer: ServerProcessOptions = { caps: { delayMs: 1000, count: 100, size: 4096 }, serve: {} }

const count = (failures: Record<string, number>) => (e: ConnectError.ConnectError) =>
  Effect.sync(() => {
    failures[e.code] = (failures[e.code] ?? 0) + 1
  })

const clientOn = (layer: Layer.Layer<Transport.Transport>) =>
  Effect.flatMap(Layer.build(layer), (context) => Effect.provide(ConnectClient.make(TestService), context))

/**
 * The server at rest: once the client's connections have closed (a few seconds at most), after
 * a full GC and a second for the RSS to settle.
 */
const atRest = (server: ServerProcess) =>
  Effect.gen(function*() {
    const until = Date.now() + 10_000
    while (Date.now() < until) {
      const stats = yield* server.stats()
      if (stats.http1Connections + stats.http2Sessions + stats.callsInFlight === 0) break
      yield* Effect.sleep("50 millis")
    }
    return yield* server.stats("settled")
  })

export const runSoak = (options: SoakOptions) =>
  Effect.scoped(Effect.gen(function*() {
    const server = yield* serverProcess(soakServer)
    const samples: Array<Sample> = []
    let phase = "warm-up"
    yield* sampleEvery(server, options.sampleMs, () => phase, samples)

    // Unary calls: `concurrency` workers, each taking the next call until all are done.
    const unaryCalls = (total: number, progress: (done: number) => void) =>
      Effect.scoped(Effect.gen(function*() {
        const client = yield* clientOn(NodeTransport.layerUndici({ baseUrl: server.url }))
        const failures: Record<string, number> = {}
        let next = 0
        const worker = Effect.whileLoop({
          while: () => next < total,
          body: () => {
            if (++next % 100_000 === 0) progress(next)
            return Effect.catchAll(Effect.asVoid(client.echo({ text: "soak" })), count(failures))
          },
          step: () => {}
        })
        const start = Date.now()
        yield* Effect.all(Array.from({ length: options.concurrency }, () => worker), { concurrency: "unbounded", discard: true })
        return { done: total, seconds: (Date.now() - start) / 1000, failures }
      }))

    // The first calls compile code and fill caches; the baseline is taken once their client is gone.
    yield* unaryCalls(Math.min(5000, options.calls), () => {})
    const baseline = yield* atRest(server)
    phase = "calls"
    options.log(`soak: ${options.calls} unary calls, ${options.concurrency} at once`)
    const startCalls = Date.now()
    const unary = yield* unaryCalls(options.calls, (done) => options.log(`  ${done} calls, ${((Date.now() - startCalls) / 1000).toFixed(0)} s`))
    phase = "rest after calls"
    const afterCalls = yield* atRest(server)

    // Streams: all opened at once, each lasting streamMessages × streamDelayMs; in rounds, so
    // that the server at rest after one round can be compared with the next (the RSS keeps the
    // allocator's high-water mark after the first; a leak would grow it round after round).
    const streamRounds: Array<StreamRound> = []
    const streamFailures: Record<string, number> = {}
    for (let round = 1; round <= options.streamRounds; round++) {
      phase = `streams ${round}`
      options.log(`soak: ${options.streams} server streams over HTTP/${options.streamHttp}, all at once (round ${round})`)
      let allOpen: StreamRound["allOpen"]
      const seconds = yield* Effect.scoped(Effect.gen(function*() {
        const client = yield* clientOn(
          options.streamHttp === "2" ? NodeTransport.layerHttp2({ baseUrl: server.url }) : NodeTransport.layerUndici({ baseUrl: server.url })
        )
        const start = Date.now()
        // Once every stream is open: how long that took, and the live heap (after a full GC) they hold.
        yield* Effect.forkScoped(Effect.gen(function*() {
          while ((yield* server.stats()).callsInFlight < options.streams) yield* Effect.sleep("100 millis")
          const seconds = (Date.now() - start) / 1000
          allOpen = { seconds, stats: yield* server.stats("gc") }
        }))
        const request = { text: "soak", count: options.streamMessages, size: 100, delayMs: options.streamDelayMs }
        yield* Effect.forEach(
          Array.from({ length: options.streams }),
          () => Effect.catchAll(Stream.runDrain(client.serverStream(request)), count(streamFailures)),
          { concurrency: "unbounded", discard: true }
        )
        return (Date.now() - start) / 1000
      }))
      const peakInFlight = Math.max(0, ...samples.filter((s) => s.phase === phase).map((s) => s.callsInFlight))
      phase = `rest after streams ${round}`
      streamRounds.push({ seconds, peakInFlight, allOpen, afterwards: yield* atRest(server) })
    }
    return { samples, baseline, afterCalls, calls: unary, streamRounds, streamFailures } satisfies SoakReport
  }))

/**
 * The server's RSS while the calls ran, at its highest in each quarter of them: under a steady
 * load it saws with the GC's cycle, and a leak shows as later quarters' peaks above earlier ones.
 */
export const rssQuarterPeaks = (report: SoakReport): ReadonlyArray<number> => {
  const during = report.samples.filter((s) => s.phase === "calls")
  const quarter = Math.ceil(during.length / 4)
  return during.length < 4 ? [] : [0, 1, 2, 3].map((q) => Math.max(...during.slice(q * quarter, (q + 1) * quarter).map((s) => s.rssBytes)))
}

/**
 * What fails the soak's criteria: a failed call; anything held once the clients are gone
 * (calls, connections, sessions, fibers, descriptors); a heap not back near its baseline; an
 * RSS not flat within 10%: its peak in the last quarter of the calls above the second
 * quarter's, at rest after the calls above the baseline, or at rest after a round of streams
 * above the round before (the first round's peak raises it once: the allocator keeps pages).
 */
export const soakFailures = (report: SoakReport): ReadonlyArray<string> => {
  const { afterCalls, baseline, streamRounds } = report
  const peaks = rssQuarterPeaks(report)
  const failed = (phase: string, failures: Readonly<Record<string, number>>) =>
    Object.keys(failures).length === 0 ? [] : [`${phase}: calls failed ${JSON.stringify(failures)}`]
  const back = (when: string, stats: ServerStats) => [
    ...(stats.callsInFlight + stats.http1Connections + stats.http2Sessions > 0
      ? [`still held after ${when}: ${stats.callsInFlight} calls, ${stats.http1Connections} connections, ${stats.http2Sessions} sessions`]
      : []),
    ...(stats.fibers > baseline.fibers ? [`fibers: ${baseline.fibers} at first, ${stats.fibers} after ${when}`] : []),
    ...(stats.fds > baseline.fds ? [`descriptors: ${baseline.fds} at first, ${stats.fds} after ${when}`] : []),
    ...(stats.heapUsedBytes > baseline.heapUsedBytes + heapSlack(baseline.heapUsedBytes)
      ? [`the heap after ${when} did not come back: ${mib(baseline.heapUsedBytes)} → ${mib(stats.heapUsedBytes)} MiB`]
      : [])
  ]
  return [
    ...failed("unary", report.calls.failures),
    ...failed("streams", report.streamFailures),
    ...back("the calls", afterCalls),
    ...streamRounds.flatMap((r, i) => back(`streams round ${i + 1}`, r.afterwards)),
    ...(peaks.length === 4 && peaks[3]! > peaks[1]! * 1.1
      ? [`the RSS grew while the calls ran: peaks by quarter ${peaks.map(mib).join(", ")} MiB`]
      : []),
    ...(afterCalls.rssBytes > baseline.rssBytes * 1.1 ? [`the RSS at rest grew more than 10% over the calls: ${mib(baseline.rssBytes)} → ${mib(afterCalls.rssBytes)} MiB`] : []),
    ...streamRounds.slice(1).flatMap((r, i) =>
      r.afterwards.rssBytes > streamRounds[i]!.afterwards.rssBytes * 1.1
        ? [`the RSS at rest grew more than 10% from streams round ${i + 1} to ${i + 2}: ${mib(streamRounds[i]!.afterwards.rssBytes)} → ${mib(r.afterwards.rssBytes)} MiB`]
        : []
    )
  ]
}
