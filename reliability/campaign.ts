/**
 * Runs kinds of hostile input against a server process in seeded batches and checks, after
 * every batch, what the issue asks of the server: it has not crashed, no input hung, a valid
 * call still succeeds (over HTTP/1.1 and HTTP/2), and its heap after a full GC; at the end the
 * heap is compared with the one before the first batch.
 */
import * as Effect from "effect/Effect"
import fc from "fast-check"
import { healthCheck } from "./health.js"
import { type AnyKind, hang } from "./kind.js"
import type { Judgement } from "./oracles.js"
import type { ServerStats } from "./processStats.js"
import type { ServerProcessOptions } from "./server.js"
import { type ServerCrashed, type ServerProcess, serverProcess } from "./serverProcess.js"

/**
 * The server the fuzzers attack: the default configuration but for a 2 s idle timeout, so that
 * connections a peer left idle close within the bounds (on Node 20, HTTP/2 sessions that saw a
 * protocol error close only then), and TestService's request-driven costs capped.
 */
export const fuzzServer: ServerProcessOptions = {
  caps: { delayMs: 20, count: 12, size: 2048 },
  serve: { keepAliveTimeoutMs: 2000 }
}

export interface CampaignOptions {
  readonly seed: number
  /** Inputs of each kind. */
  readonly runs: (kind: AnyKind) => number
  readonly batchSize: number
  /** Inputs in flight at once. */
  readonly concurrency: number
  /** Past this, an input counts as hung whatever the kind's own bounds say. */
  readonly hardBoundMs: number
  readonly log: (line: string) => void
}

export interface KindReport {
  readonly kind: string
  readonly inputs: number
  readonly ms: number
  /** How many inputs ended each way (status, code, close). */
  readonly outcomes: Readonly<Record<string, number>>
  readonly hangs: number
  /** Inputs whose answer broke its protocol's rules, hangs included. */
  readonly problems: number
  /** The first few problems, each with its input and how to find it again. */
  readonly examples: ReadonlyArray<string>
  /** The longest an input took to be answered or closed, ms. */
  readonly slowestMs: number
  /** Batches after which a valid call failed. */
  readonly unhealthyBatches: number
  /** Batches after which the server still held calls, connections or sessions 10 s later. */
  readonly leftoverBatches: number
  /** The server's heap in use after a full GC following each batch, MiB: least and most. */
  readonly heapAfterBatchesMiB: { readonly min: number; readonly max: number }
}

/** Each batch's inputs come from a seed of their own, so that one batch can be replayed alone. */
export const batchSeed = (seed: number, kind: string, batch: number) => {
  let h = seed ^ 0x9e3779b9
  for (const c of `${kind}/${batch}`) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193)
  return h | 0
}

const mib = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10

/** What the server holds: calls, HTTP/1.1 connections, HTTP/2 sessions. */
const holding = (stats: ServerStats) => ({ calls: stats.callsInFlight, connections: stats.http1Connections, sessions: stats.http2Sessions })

/**
 * What the server still holds 10 s after a batch beyond what it held when the kind began (every
 * input's connection is closed by then, and the health check's are closing): undefined when
 * nothing.
 */
const held = (server: ServerProcess, before: ReturnType<typeof holding>) =>
  Effect.gen(function*() {
    const until = Date.now() + 10_000
    for (;;) {
      const stats = yield* server.stats()
      const now = holding(stats)
      if (now.calls <= before.calls && now.connections <= before.connections && now.sessions <= before.sessions) return undefined
      if (Date.now() > until) {
        return `${now.calls} calls, ${now.connections} connections, ${now.sessions} sessions (${before.calls}, ${before.connections} and ${before.sessions} when the kind began) held 10 s after the batch`
      }
      yield* Effect.sleep("50 millis")
    }
  })

/** Runs `runs` inputs of `kind` against `server`; fails only if the server crashed. */
export const runKind = (kind: AnyKind, server: ServerProcess, options: CampaignOptions): Effect.Effect<KindReport, ServerCrashed> =>
  Effect.scoped(Effect.gen(function*() {
    const env = yield* kind.environment({ url: server.url, port: server.port })
    const heldBefore = holding(yield* server.stats())
    const outcomes: Record<string, number> = {}
    const examples: Array<string> = []
    let problems = 0
    let hangs = 0
    let unhealthyBatches = 0
    let leftoverBatches = 0
    let slowestMs = 0
    const heaps: Array<number> = []
    const start = Date.now()
    const runs = options.runs(kind)
    const batches = Math.ceil(runs / options.batchSize)
    for (let batch = 0; batch < batches; batch++) {
      const size = Math.min(options.batchSize, runs - batch * options.batchSize)
      const inputs = fc.sample(kind.inputs, { seed: batchSeed(options.seed, kind.name, batch), numRuns: size })
      yield* Effect.forEach(inputs, (input, index) =>
        Effect.suspend(() => {
          const began = Date.now()
          return Effect.ensuring(kind.run(env, input), Effect.sync(() => slowestMs = Math.max(slowestMs, Date.now() - began)))
        }).pipe(
          Effect.timeoutTo({
            duration: options.hardBoundMs,
            onSuccess: (judgement: Judgement) => judgement,
            onTimeout: () => hang(`no result within ${options.hardBoundMs} ms`)
          }),
          Effect.map((judgement) => {
            outcomes[judgement.outcome] = (outcomes[judgement.outcome] ?? 0) + 1
            if (judgement.outcome === "hang") hangs++
            if (judgement.problem === undefined) return
            problems++
            if (examples.length < 10) {
              examples.push(`${kind.name} seed ${options.seed} batch ${batch} (of ${options.batchSize}) input ${index}: ${judgement.problem}\n    ${kind.show(input)}`)
            }
          })
        ), { concurrency: kind.concurrency ?? options.concurrency, discard: true })
      yield* server.alive
      const healthy = yield* healthCheck(server.url)
      if (!healthy.ok) unhealthyBatches++
      const left = yield* held(server, heldBefore)
      if (left !== undefined) {
        leftoverBatches++
        if (examples.length < 10) examples.push(`${kind.name} seed ${options.seed} batch ${batch}: ${left}`)
      }
      const stats = yield* server.stats("gc")
      heaps.push(mib(stats.heapUsedBytes))
      options.log(
        `${kind.name} batch ${batch + 1}/${batches}: ${problems} problems, ${hangs} hangs, heap ${mib(stats.heapUsedBytes)} MiB, ` +
          `${stats.http1Connections} connections, ${stats.http2Sessions} sessions, ${stats.callsInFlight} calls, ${stats.fibers} fibers` +
          (healthy.ok ? "" : `, UNHEALTHY: ${healthy.detail}`) + (left === undefined ? "" : `, LEFT OVER: ${left}`)
      )
    }
    return {
      kind: kind.name,
      inputs: runs,
      ms: Date.now() - start,
      outcomes,
      hangs,
      problems,
      examples,
      slowestMs,
      unhealthyBatches,
      leftoverBatches,
      heapAfterBatchesMiB: { min: Math.min(...heaps), max: Math.max(...heaps) }
    }
  }))

export interface CampaignReport {
  readonly kinds: ReadonlyArray<KindReport>
  /** Why the server process exited, if it did. */
  readonly crashed: string | undefined
  /** The server after a warm-up and after the last kind, each after a full GC and a settling second. */
  readonly before: ServerStats
  readonly after: ServerStats | undefined
  /** Lines the server logged (connect-effect logs only what it could not answer with a ConnectError). */
  readonly serverLogLines: number
  readonly serverLogTail: ReadonlyArray<string>
}

/** Starts the fuzz server in a process of its own and runs `kinds` against it, one after another. */
export const runCampaign = (kinds: ReadonlyArray<AnyKind>, options: CampaignOptions): Effect.Effect<CampaignReport, ServerCrashed> =>
  Effect.scoped(Effect.gen(function*() {
    const server = yield* serverProcess(fuzzServer)
    // The first calls compile code and fill caches: the baseline is taken after some.
    yield* Effect.forEach(Array.from({ length: 20 }), () => healthCheck(server.url), { discard: true })
    const before = yield* server.stats("settled")
    const reports: Array<KindReport> = []
    let crashed: string | undefined
    for (const kind of kinds) {
      const report = yield* Effect.either(runKind(kind, server, options))
      if (report._tag === "Left") {
        crashed = report.left.message
        break
      }
      reports.push(report.right)
    }
    const after = crashed === undefined ? yield* server.stats("settled") : undefined
    const { lines, tail } = server.output()
    return { kinds: reports, crashed, before, after, serverLogLines: lines, serverLogTail: tail }
  }))

/** The heap after GC may exceed the one before by this much and still count as back to baseline. */
export const heapSlack = (beforeBytes: number) => Math.max(5 * 2 ** 20, beforeBytes * 0.1)

/** What fails the pass criteria in `report`: empty when it passes. */
export const failuresOf = (report: CampaignReport): ReadonlyArray<string> => [
  ...(report.crashed === undefined ? [] : [`the server crashed: ${report.crashed}`]),
  ...report.kinds.flatMap((k) => [
    ...(k.hangs > 0 ? [`${k.kind}: ${k.hangs} inputs hung`] : []),
    ...(k.problems - k.hangs > 0 ? [`${k.kind}: ${k.problems - k.hangs} answers broke their protocol's rules`] : []),
    ...(k.unhealthyBatches > 0 ? [`${k.kind}: a valid call failed after ${k.unhealthyBatches} batches`] : []),
    ...(k.leftoverBatches > 0 ? [`${k.kind}: the server held calls or connections after ${k.leftoverBatches} batches`] : [])
  ]),
  ...(report.after !== undefined && report.after.heapUsedBytes > report.before.heapUsedBytes + heapSlack(report.before.heapUsedBytes)
    ? [`the heap did not come back: ${mib(report.before.heapUsedBytes)} MiB before, ${mib(report.after.heapUsedBytes)} MiB after`]
    : []),
  ...(report.serverLogLines > 0 ? [`the server logged ${report.serverLogLines} lines (what it could not answer with a ConnectError)`] : [])
]
