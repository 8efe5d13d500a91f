/**
 * One call observed, the same on both sides: its span (a child of `parent`), its count when it
 * starts, and when it ends its code on the span and in the metrics, with its duration.
 * @internal
 */
import type { DescMethod } from "@bufbuild/protobuf"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import * as Metric from "effect/Metric"
import * as MetricLabel from "effect/MetricLabel"
import type * as Scope from "effect/Scope"
import type * as Tracer from "effect/Tracer"
import { codeOfExit, labelsOf, type RpcMetrics, rpcMetrics, type RpcSystem, spanName, statusAttributes } from "./conventions.js"

/** What to record. @internal */
export interface Settings {
  readonly tracing: boolean
  readonly metrics: boolean
}

/** @internal */
export interface Observed {
  readonly span: Tracer.Span | undefined
  /** Ends the call with `exit`; only the first end counts. */
  readonly end: (exit: Exit.Exit<unknown, unknown>) => Effect.Effect<void>
}

const metricsOf = { client: rpcMetrics("client"), server: rpcMetrics("server") }

const record = (metrics: RpcMetrics, labels: ReadonlyArray<MetricLabel.MetricLabel>, code: string, millis: number) => {
  const withCode = [...labels, MetricLabel.make("rpc.code", code)]
  return Effect.zipRight(
    Metric.increment(Metric.taggedWithLabels(metrics.finished, withCode)),
    Metric.update(Metric.taggedWithLabels(metrics.duration, withCode), millis)
  )
}

/**
 * Starts observing a call in the current Scope. Closing the Scope before `end` ends the call as
 * canceled (a caller that stopped reading a stream).
 * @internal
 */
export const observe = (
  side: "client" | "server",
  settings: Settings,
  method: DescMethod,
  system: RpcSystem | undefined,
  attributes: Record<string, unknown>,
  parent: Tracer.AnySpan | undefined
): Effect.Effect<Observed, never, Scope.Scope> =>
  Effect.gen(function*() {
    const span = settings.tracing
      ? yield* Effect.makeSpanScoped(spanName(method), { kind: side, attributes, ...(parent === undefined ? {} : { parent }) })
      : undefined
    const metrics = metricsOf[side]
    const labels = labelsOf(attributes)
    const startedAt = performance.now()
    if (settings.metrics) yield* Metric.increment(Metric.taggedWithLabels(metrics.started, labels))
    let ended = false
    const end = (exit: Exit.Exit<unknown, unknown>) =>
      Effect.suspend(() => {
        if (ended) return Effect.void
        ended = true
        const code = codeOfExit(exit)
        if (span !== undefined) {
          for (const [key, value] of Object.entries(statusAttributes(system, code))) span.attribute(key, value)
        }
        return settings.metrics ? record(metrics, labels, code, performance.now() - startedAt) : Effect.void
      })
    // Added after the span, so run before it ends.
    yield* Effect.addFinalizer(() => end(Exit.interrupt(FiberId.none)))
    return { span, end }
  })

/** `effect` as a call observed from start to end. @internal */
export const observeEffect = <A, E>(
  observing: Effect.Effect<Observed, never, Scope.Scope>,
  effect: (span: Tracer.Span | undefined) => Effect.Effect<A, E>
): Effect.Effect<A, E> =>
  Effect.scoped(Effect.flatMap(observing, ({ end, span }) => {
    const run = effect(span)
    return Effect.onExit(span === undefined ? run : Effect.withParentSpan(run, span), end)
  }))
