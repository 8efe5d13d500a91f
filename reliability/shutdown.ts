/**
 * `npm run shutdown -- [--streams N] [--stream-http 1.1|2] [--workers N]`: a graceful shutdown
 * under load. The reliability server at its defaults (a 5 s `shutdownGraceMs`; only
 * `maxConcurrentCalls` raised, which the streams would fill) is sent SIGTERM while `--streams`
 * server streams are open (each would last 100 s: none can finish within the grace) and
 * `--workers` clients keep making unary calls of 200 ms each over HTTP/1.1 (100 ms apart once
 * refused). Reports how each stream and call ended and when, and how the process exited, by its
 * own clock. Fails unless the process exits 0 within the grace and a few seconds, every stream
 * ends with `unavailable`, and every unary call either succeeds or fails with `unavailable`: the
 * code a client may retry elsewhere, never a reset or a hang.
 */
import { ConnectClient, ConnectError, type Transport } from "connect-effect"
import { NodeTransport } from "connect-effect/node"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import { loadavg } from "node:os"
import { parseArgs } from "node:util"
import { TestService } from "../test/gen/connecteffect/test/v1/test_pb.js"
import { wholeNumber } from "./cli.js"
import { spread } from "./report.js"
import { serverProcess } from "./serverProcess.js"
import { soakServer } from "./soakRun.js"

const usage = "usage: npm run shutdown -- [--streams N] [--stream-http 1.1|2] [--workers N]"
const { values } = parseArgs({
  options: {
    streams: { type: "string", default: "10000" },
    "stream-http": { type: "string", default: "2" },
    workers: { type: "string", default: "64" }
  }
})
const streams = wholeNumber(usage, "streams", values.streams)
const workers = wholeNumber(usage, "workers", values.workers)
const streamHttp = values["stream-http"]
if (streamHttp !== "1.1" && streamHttp !== "2") {
  console.error(`--stream-http is 1.1 or 2\n${usage}`)
  process.exit(2)
}
/** Between one message of a stream and the next: each stream is due to last 100 s. */
const streamGapMs = 10_000
/** The server's default grace, and what a loaded machine may add to it. */
const graceMs = 5000
const slackMs = 3000

/** How one call ended, and when (`Date.now()`). */
interface Ending {
  readonly outcome: string
  readonly at: number
  readonly began: number
}

const ending = (began: number) => (effect: Effect.Effect<unknown, unknown>) =>
  Effect.match(effect, {
    onFailure: (error): Ending => ({ outcome: error instanceof ConnectError.ConnectError ? error.code : String(error), at: Date.now(), began }),
    onSuccess: (): Ending => ({ outcome: "ok", at: Date.now(), began })
  })

const clientOn = (layer: Layer.Layer<Transport.Transport>) =>
  Effect.flatMap(Layer.build(layer), (context) => Effect.provide(ConnectClient.make(TestService), context))

const load = () => loadavg().map((n) => n.toFixed(2)).join(", ")
const startedAt = new Date()
const loadBefore = load()

const run = Effect.scoped(Effect.gen(function*() {
  // maxConcurrentCalls above its default of 10,000, which the streams alone would fill.
  const server = yield* serverProcess({ caps: { ...soakServer.caps, delayMs: streamGapMs }, serve: { maxConcurrentCalls: 2 * streams } })
  const streamClient = yield* clientOn(
    streamHttp === "2" ? NodeTransport.layerHttp2({ baseUrl: server.url }) : NodeTransport.layerUndici({ baseUrl: server.url })
  )
  const unaryClient = yield* clientOn(NodeTransport.layerUndici({ baseUrl: server.url }))

  console.error(`shutdown: opening ${streams} server streams over HTTP/${streamHttp}`)
  // A message at once (the response under way), then one every streamGapMs: streams that wait, as
  // most do, rather than a flood of messages that would measure throughput instead.
  const request = { text: "shutdown", count: 11, size: 100, delayMs: streamGapMs }
  const openingAt = Date.now()
  const streamFiber = yield* Effect.fork(Effect.forEach(
    Array.from({ length: streams }),
    () => ending(Date.now())(Stream.runDrain(streamClient.serverStream(request))),
    { concurrency: "unbounded" }
  ))
  // Every stream open, or as many as opened in a minute (the soak's 10,000 took 36 s).
  const openBy = Date.now() + 60_000
  while ((yield* server.stats()).callsInFlight < streams && Date.now() < openBy) yield* Effect.sleep("100 millis")
  const open = yield* server.stats()
  const openedMs = Date.now() - openingAt

  // Unary calls, one after another on each worker, until a second after the server is gone.
  let stopping = false
  const calls: Array<Ending> = []
  const worker = Effect.whileLoop({
    while: () => !stopping,
    // A call refused waits 100 ms before the next, as a client backing off would: refused at once
    // (the port closed), 64 workers calling in a tight loop would take this process's CPU from
    // the streams, whose last words would wait for it to read them.
    body: () =>
      Effect.suspend(() =>
        Effect.tap(ending(Date.now())(unaryClient.echo({ text: "shutdown", delayMs: 200 })), (e) => e.outcome === "ok" ? Effect.void : Effect.sleep("100 millis"))
      ),
    step: (e) => calls.push(e)
  })
  const workerFibers = yield* Effect.forEach(Array.from({ length: workers }), () => Effect.fork(worker))
  yield* Effect.sleep("1 second")

  console.error(`shutdown: SIGTERM with ${open.callsInFlight} calls in flight`)
  const sigterm = Date.now()
  const exited = yield* server.terminate
  const streamEndings = yield* Fiber.join(streamFiber).pipe(Effect.timeout(`${graceMs + 30_000} millis`), Effect.option)
  yield* Effect.sleep("1 second")
  stopping = true
  yield* Fiber.joinAll(workerFibers)
  return { sigterm, exited, open, openedMs, streamEndings, calls }
}))

const result = await Effect.runPromise(run)
const { calls, exited, sigterm } = result
const counts = (endings: ReadonlyArray<Ending>) => {
  const byOutcome = new Map<string, number>()
  for (const e of endings) byOutcome.set(e.outcome, (byOutcome.get(e.outcome) ?? 0) + 1)
  return [...byOutcome].sort((a, b) => b[1] - a[1]).map(([outcome, n]) => `${outcome} ${n}`).join(", ") || "none"
}
const exitMs = exited.at - sigterm
const streamEndings = result.streamEndings._tag === "Some" ? result.streamEndings.value : []
const inFlight = calls.filter((c) => c.began < sigterm && c.at >= sigterm)
const after = calls.filter((c) => c.began >= sigterm)

const failures: Array<string> = []
if (exited.exitCode !== 0) failures.push(`the server exited with code ${exited.exitCode}, signal ${exited.signal}`)
if (exitMs > graceMs + slackMs) failures.push(`the server exited ${exitMs} ms after SIGTERM (grace ${graceMs} ms)`)
if (result.streamEndings._tag === "None") failures.push(`the streams had not all ended ${(graceMs + 30_000) / 1000} s after SIGTERM`)
const badStreams = streamEndings.filter((e) => e.outcome !== "unavailable")
if (badStreams.length > 0) failures.push(`streams that did not end with unavailable: ${counts(badStreams)}`)
const badCalls = [...inFlight, ...after].filter((e) => e.outcome !== "ok" && e.outcome !== "unavailable")
if (badCalls.length > 0) failures.push(`unary calls that neither succeeded nor failed with unavailable: ${counts(badCalls)}`)

console.log([
  `## A graceful shutdown with ${streams} server streams open and ${workers} clients calling`,
  "",
  `\`npm run shutdown -- ${process.argv.slice(2).join(" ")}\`, ${startedAt.toISOString()}, Node ${process.version}; load average ${loadBefore} before, ${load()} after.`,
  "",
  `- Streams open ${(result.openedMs / 1000).toFixed(1)} s after the first was asked for; SIGTERM with ${result.open.callsInFlight} calls in flight (${result.open.http2Sessions} HTTP/2 sessions, ${result.open.http1Connections} HTTP/1.1 connections): ` +
  `the server exited with code ${exited.exitCode}${exited.signal === null ? "" : `, signal ${exited.signal}`}, ${(exitMs / 1000).toFixed(1)} s later (its grace: ${graceMs / 1000} s).`,
  `- The ${streams} streams (each due to last 100 s): ${counts(streamEndings)}; ended, in seconds after SIGTERM (least / median / most): ${spread(streamEndings.map((e) => e.at - sigterm))}, ` +
  "as this one process, the client of them all, saw it.",
  `- Unary calls in flight at SIGTERM: ${counts(inFlight)}; ended ${spread(inFlight.map((e) => e.at - sigterm))} s after it.`,
  `- Unary calls begun after SIGTERM: ${counts(after)}; ended ${spread(after.map((e) => e.at - sigterm))} s after it.`,
  `- Before SIGTERM: ${calls.length - inFlight.length - after.length} unary calls, ${counts(calls.filter((c) => c.at < sigterm))}.`,
  "",
  ...(failures.length === 0 ? ["Passed."] : ["Failed:", ...failures.map((f) => `- ${f}`)])
].join("\n"))
process.exit(failures.length === 0 ? 0 : 1)
