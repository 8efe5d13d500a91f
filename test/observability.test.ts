/**
 * Tracing and metrics: our client calling our server over the network, both with
 * Observability's interceptors, exported by @effect/opentelemetry to an in-memory span exporter
 * with no other glue. A call and its handler share one trace; spans carry the RPC semantic
 * conventions' attributes, in Connect and in gRPC; metrics count calls by code.
 */
import { NodeSdk } from "@effect/opentelemetry"
import { describe, expect, layer } from "@effect/vitest"
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import { ClientInterceptor, ConnectClient, ConnectError, ConnectService, Observability, Transport } from "connect-effect"
import { ConnectServer, NodeTransport } from "connect-effect/node"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as Stream from "effect/Stream"
import { TestService } from "./gen/connecteffect/test/v1/test_pb.js"

const exporter = new InMemorySpanExporter()
const TracingLive = NodeSdk.layer(() => ({
  resource: { serviceName: "observability-test" },
  spanProcessor: new SimpleSpanProcessor(exporter)
}))

const Handlers = ConnectService.toLayer(TestService, {
  echo: (request) =>
    request.failWith === ""
      ? Effect.withSpan(Effect.succeed({ text: request.text }), "handler work")
      : Effect.fail(ConnectError.make("not_found", "no such thing")),
  serverStream: (request) => Stream.map(Stream.range(1, request.count), (i) => ({ text: String(i) })),
  clientStream: () => Effect.succeed({}),
  bidiStream: (requests) => Stream.map(requests, (r) => ({ text: r.text }))
})

const ServerLive = ConnectServer.layer({ services: [TestService], interceptors: [Observability.server()] }).pipe(
  Layer.provide(Handlers)
)

const clientOf = (protocol: "connect" | "grpc") =>
  Effect.gen(function*() {
    const { url } = yield* ConnectServer.ConnectServer
    const context = yield* Layer.build(
      NodeTransport.layerHttp2({ baseUrl: url, protocol }).pipe(ClientInterceptor.intercept(Observability.client()))
    )
    return ConnectClient.makeWith(TestService, Context.get(context, Transport.Transport))
  })

const spansNamed = (name: string): Array<ReadableSpan> => exporter.getFinishedSpans().filter((s) => s.name === name)

/** OpenTelemetry's SpanKind: 1 server, 2 client. */
const kind = { server: 1, client: 2 }

describe("observability", () => {
  layer(Layer.provideMerge(ServerLive, TracingLive), { excludeTestServices: true })((it) => {
    it.scoped("a client call and its handler share one trace: client span, server span, the handler's own", () =>
      Effect.gen(function*() {
        exporter.reset()
        const client = yield* clientOf("connect")
        expect((yield* client.echo({ text: "hi" })).text).toBe("hi")
        const [clientSpan] = spansNamed("connecteffect.test.v1.TestService/Echo").filter((s) => s.kind === kind.client)
        const [serverSpan] = spansNamed("connecteffect.test.v1.TestService/Echo").filter((s) => s.kind === kind.server)
        const [work] = spansNamed("handler work")
        expect(clientSpan).toBeDefined()
        expect(serverSpan).toBeDefined()
        expect(serverSpan!.spanContext().traceId).toBe(clientSpan!.spanContext().traceId)
        expect(serverSpan!.parentSpanContext?.spanId).toBe(clientSpan!.spanContext().spanId)
        expect(work!.parentSpanContext?.spanId).toBe(serverSpan!.spanContext().spanId)
        const { url } = yield* ConnectServer.ConnectServer
        expect(clientSpan!.attributes).toEqual({
          "rpc.system": "connect_rpc",
          "rpc.service": "connecteffect.test.v1.TestService",
          "rpc.method": "Echo",
          "server.address": "127.0.0.1",
          "server.port": Number(new URL(url).port)
        })
        expect(serverSpan!.attributes).toEqual({
          "rpc.system": "connect_rpc",
          "rpc.service": "connecteffect.test.v1.TestService",
          "rpc.method": "Echo"
        })
      }))

    it.scoped("an error's code is on both spans; gRPC's numeric status too", () =>
      Effect.gen(function*() {
        exporter.reset()
        for (const protocol of ["connect", "grpc"] as const) {
          const client = yield* clientOf(protocol)
          expect((yield* Effect.flip(client.echo({ text: "x", failWith: "not_found" }))).code).toBe("not_found")
          yield* client.echo({ text: "ok" })
        }
        const echo = spansNamed("connecteffect.test.v1.TestService/Echo")
        const codes = echo.map((s) => [
          s.kind === kind.client ? "client" : "server",
          s.attributes["rpc.system"],
          s.attributes["rpc.connect_rpc.error_code"] ?? s.attributes["rpc.grpc.status_code"] ?? "-",
          s.status.code
        ])
        // SpanStatusCode: 1 ok (or unset), 2 error
        expect(codes.sort()).toEqual([
          ["client", "connect_rpc", "-", 1],
          ["client", "connect_rpc", "not_found", 2],
          ["client", "grpc", 0, 1],
          ["client", "grpc", 5, 2],
          ["server", "connect_rpc", "-", 1],
          ["server", "connect_rpc", "not_found", 2],
          ["server", "grpc", 0, 1],
          ["server", "grpc", 5, 2]
        ].sort())
      }))

    it.scoped("a streaming call's spans cover its messages, and share the trace", () =>
      Effect.gen(function*() {
        exporter.reset()
        const client = yield* clientOf("connect")
        expect((yield* Stream.runCollect(client.serverStream({ count: 3 }))).length).toBe(3)
        const spans = spansNamed("connecteffect.test.v1.TestService/ServerStream")
        expect(spans.map((s) => s.kind).sort()).toEqual([kind.server, kind.client])
        expect(new Set(spans.map((s) => s.spanContext().traceId)).size).toBe(1)
      }))

    it.scoped("metrics: calls started and finished by code, with durations", () =>
      Effect.gen(function*() {
        /** The count of metric `name` over its series with these labels, and the histogram's. */
        const count = (name: string, labels: Record<string, string>) =>
          Effect.map(Metric.snapshot, (pairs) => {
            let total = 0
            for (const { metricKey, metricState } of pairs) {
              if (metricKey.name !== name) continue
              const tags = Object.fromEntries(metricKey.tags.map((t) => [t.key, t.value]))
              if (!Object.entries(labels).every(([k, v]) => tags[k] === v)) continue
              total += "count" in metricState ? Number(metricState.count) : 0
            }
            return total
          })
        const echo = { "rpc.method": "Echo", "rpc.system": "connect_rpc" }
        const counts = Effect.all([
          count("rpc.client.calls_started", echo),
          count("rpc.client.calls_finished", { ...echo, "rpc.code": "ok" }),
          count("rpc.server.calls_finished", { ...echo, "rpc.code": "ok" }),
          count("rpc.server.calls_finished", { ...echo, "rpc.code": "not_found" }),
          count("rpc.server.duration", echo)
        ])
        const before = yield* counts
        const client = yield* clientOf("connect")
        yield* client.echo({ text: "a" })
        yield* client.echo({ text: "b" })
        yield* Effect.flip(client.echo({ text: "c", failWith: "not_found" }))
        const after = yield* counts
        expect(after.map((n, i) => n - before[i]!)).toEqual([3, 2, 2, 1, 3])
      }))
  })
})
