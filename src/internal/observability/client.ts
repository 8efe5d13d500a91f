/**
 * Observability on the client, as an interceptor: a client span per call carrying the W3C
 * `traceparent` to the server, and the client's metrics.
 * @internal
 */
import * as Headers from "@effect/platform/Headers"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Stream from "effect/Stream"
import type * as Tracer from "effect/Tracer"
import type { CallInfo, ClientInterceptor } from "../interceptor/client.js"
import type { DescMethod } from "@bufbuild/protobuf"
import { rpcSystemOf } from "./conventions.js"
import { callKind, observeEffect, observeScoped, type Settings } from "./observe.js"

const traceparent = (span: Tracer.Span) => `00-${span.traceId}-${span.spanId}-${span.sampled ? "01" : "00"}`

const withTraceparent = (headers: Headers.Headers, span: Tracer.Span | undefined) =>
  span === undefined ? headers : Headers.set(headers, "traceparent", traceparent(span))

const kindOf = (call: CallInfo & { readonly method: DescMethod }) => {
  const system = call.peer === undefined ? undefined : rpcSystemOf(call.peer.protocol)
  return callKind("client", call.method, system, call.peer?.baseUrl)
}

/** @internal */
export const clientObservability = (settings: Settings): ClientInterceptor => ({
  unary: (request, next) =>
    observeEffect(settings, kindOf(request), undefined, (span) => next({ ...request, headers: withTraceparent(request.headers, span) })),
  stream: (request, next) =>
    Effect.gen(function*() {
      const { end, span } = yield* observeScoped(settings, kindOf(request), undefined)
      const opened = next({ ...request, headers: withTraceparent(request.headers, span) }).pipe(Effect.tapErrorCause((cause) => end(Exit.failCause(cause))))
      const response = yield* (span === undefined ? opened : Effect.withParentSpan(opened, span))
      return { ...response, messages: Stream.ensuringWith(response.messages, end) }
    })
})
