/**
 * Observability on the server, as an interceptor: a server span per call, continuing the trace
 * of the client's `traceparent` (or b3), and the server's metrics.
 * @internal
 */
import * as HttpTraceContext from "@effect/platform/HttpTraceContext"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as Tracer from "effect/Tracer"
import type { ServerInterceptor } from "../interceptor/server.js"
import type { HandlerContext } from "../server/service.js"
import type { RpcSystem } from "./conventions.js"
import { callKind, observeEffect, observeScoped, type Settings } from "./observe.js"

/** gRPC and gRPC-Web requests say so in their content type; anything else came over Connect. */
const systemOf = (context: HandlerContext): RpcSystem =>
  context.requestHeaders["content-type"]?.startsWith("application/grpc") === true ? "grpc" : "connect_rpc"

const kindOf = (context: HandlerContext) => {
  const system = systemOf(context)
  return callKind("server", context.method, system, undefined)
}

const parentOf = (settings: Settings, context: HandlerContext) =>
  settings.tracing ? Option.getOrUndefined(HttpTraceContext.fromHeaders(context.requestHeaders)) : undefined

/** @internal */
export const serverObservability = (settings: Settings): ServerInterceptor => ({
  unary: (request, context, next) => observeEffect(settings, kindOf(context), parentOf(settings, context), () => next(request)),
  stream: (requests, context, next) =>
    Stream.unwrapScoped(Effect.map(observeScoped(settings, kindOf(context), parentOf(settings, context)), ({ end, span }) => {
      const responses = Stream.ensuringWith(next(requests), end)
      return span === undefined ? responses : Stream.provideService(responses, Tracer.ParentSpan, span)
    }))
})
