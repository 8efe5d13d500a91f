/**
 * One call observed, the same on both sides: its span (a child of `parent`), its count when it
 * starts, and when it ends its code on the span and in the metrics, with its duration. Labels
 * are made once per method (and code) and reused: a metric updated with the same label array
 * finds its series without hashing them again, which keeps a measured call cheap.
 * @internal
 */
import type { DescMethod } from "@bufbuild/protobuf"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import * as MetricLabel from "effect/MetricLabel"
import type * as Scope from "effect/Scope"
import type * as Tracer from "effect/Tracer"
import type { Code } from "../code.js"
import {
  codeOfExit,
  labelsOf,
  methodAttributes,
  type RpcMetrics,
  rpcMetrics,
  type RpcSystem,
  serverAttributes,
  spanName,
  statusAttributes
} from "./conventions.js"

/** What to record. @internal */
export interface Settings {
  readonly tracing: boolean
  readonly metrics: boolean
}

/** A kind of call (side, method, peer): its span's attributes and its metric labels. @internal */
export interface CallKind {
  readonly side: "client" | "server"
  readonly method: DescMethod
  readonly system: RpcSystem | undefined
  readonly attributes: Record<string, unknown>
  readonly labels: ReadonlyArray<MetricLabel.MetricLabel>
  readonly labelsByCode: Map<Code | "ok", ReadonlyArray<MetricLabel.MetricLabel>>
}

const kinds = new WeakMap<DescMethod, Map<string, CallKind>>()

/** The CallKind of a method on one side, in one system, with one server (a client's); made once. @internal */
export const callKind = (
  side: "client" | "server",
  method: DescMethod,
  system: RpcSystem | undefined,
  baseUrl: string | undefined
): CallKind => {
  let ofMethod = kinds.get(method)
  if (ofMethod === undefined) kinds.set(method, ofMethod = new Map())
  const key = `${side} ${system} ${baseUrl}`
  let kind = ofMethod.get(key)
  if (kind === undefined) {
    const attributes = { ...methodAttributes(method, system), ...(baseUrl === undefined ? {} : serverAttributes(baseUrl)) }
    kind = { side, method, system, attributes, labels: labelsOf(attributes), labelsByCode: new Map() }
    ofMethod.set(key, kind)
  }
  return kind
}

const labelsWithCode = (kind: CallKind, code: Code | "ok") => {
  let labels = kind.labelsByCode.get(code)
  if (labels === undefined) {
    labels = [...kind.labels, MetricLabel.make("rpc.code", code)]
    kind.labelsByCode.set(code, labels)
  }
  return labels
}

const metricsOf: Record<"client" | "server", RpcMetrics> = { client: rpcMetrics("client"), server: rpcMetrics("server") }

/**
 * Counts a call's start, and returns what ends it: its code on the span, and in the metrics with
 * its duration. Only the first end counts.
 */
const measure = (settings: Settings, kind: CallKind, span: Tracer.Span | undefined) => {
  const metrics = metricsOf[kind.side]
  const startedAt = performance.now()
  if (settings.metrics) metrics.started.unsafeUpdate(1, kind.labels)
  let ended = false
  return (exit: Exit.Exit<unknown, unknown>) =>
    Effect.sync(() => {
      if (ended) return
      ended = true
      const code = codeOfExit(exit)
      if (span !== undefined) {
        for (const [key, value] of Object.entries(statusAttributes(kind.system, code))) span.attribute(key, value)
      }
      if (settings.metrics) {
        const labels = labelsWithCode(kind, code)
        metrics.finished.unsafeUpdate(1, labels)
        metrics.duration.unsafeUpdate(performance.now() - startedAt, labels)
      }
    })
}

const spanOptions = (kind: CallKind, parent: Tracer.AnySpan | undefined): Tracer.SpanOptions => ({
  kind: kind.side,
  attributes: kind.attributes,
  ...(parent === undefined ? {} : { parent })
})

/** @internal */
export interface Observed {
  readonly span: Tracer.Span | undefined
  /** Ends the call with `exit`; only the first end counts. */
  readonly end: (exit: Exit.Exit<unknown, unknown>) => Effect.Effect<void>
}

/**
 * Starts observing a call in the current Scope, for calls that outlive an Effect (streams).
 * Closing the Scope before `end` ends the call as canceled (a caller that stopped reading).
 * @internal
 */
export const observeScoped = (
  settings: Settings,
  kind: CallKind,
  parent: Tracer.AnySpan | undefined
): Effect.Effect<Observed, never, Scope.Scope> =>
  Effect.gen(function*() {
    const span = settings.tracing ? yield* Effect.makeSpanScoped(spanName(kind.method), spanOptions(kind, parent)) : undefined
    const end = yield* Effect.sync(() => measure(settings, kind, span))
    // Added after the span, so run before it ends.
    yield* Effect.addFinalizer(() => end(Exit.interrupt(FiberId.none)))
    return { span, end }
  })

/** `effect` as a call observed from start to end, in its span. @internal */
export const observeEffect = <A, E>(
  settings: Settings,
  kind: CallKind,
  parent: Tracer.AnySpan | undefined,
  effect: (span: Tracer.Span | undefined) => Effect.Effect<A, E>
): Effect.Effect<A, E> => {
  const measured = (span: Tracer.Span | undefined) =>
    Effect.suspend(() => Effect.onExit(effect(span), measure(settings, kind, span)))
  return settings.tracing
    ? Effect.useSpan(spanName(kind.method), spanOptions(kind, parent), (span) => Effect.withParentSpan(measured(span), span))
    : measured(undefined)
}
