/**
 * GrpcHealth on our server, called over Connect by our client and by @connectrpc/connect-node's,
 * and over gRPC and gRPC-Web by our client:
 * Check, List and Watch, statuses set by the program as the calls run, Watch calls cleaned up
 * when their client goes away, shutdown and resume, and hostile input.
 */
import { Code as NodeCode, ConnectError as NodeConnectError, createClient } from "@connectrpc/connect"
import { createConnectTransport } from "@connectrpc/connect-node"
import { describe, expect, it } from "@effect/vitest"
import { ConnectClient, GrpcHealth, Transport } from "connect-effect"
import { ConnectServer, NodeTransport } from "connect-effect/node"
import * as Chunk from "effect/Chunk"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { TestService } from "./gen/connecteffect/test/v1/test_pb.js"

const { SERVING, NOT_SERVING, SERVICE_UNKNOWN } = GrpcHealth.HealthCheckResponse_ServingStatus

/** The server of every test but the last: each test builds its own, as each sets statuses of its own. */
const HealthServer = ConnectServer.layer({ services: [GrpcHealth.Health] }).pipe(
  Layer.provideMerge(GrpcHealth.layer({ services: [TestService, "svc.A"] }))
)

/** Our client of Health on the server, over undici (HTTP/1.1), owned by the Scope. */
const ourClient = Effect.gen(function*() {
  const { url } = yield* ConnectServer.ConnectServer
  const context = yield* Layer.build(NodeTransport.layerUndici({ baseUrl: url }))
  return ConnectClient.makeWith(GrpcHealth.Health, Context.get(context, Transport.Transport))
})

/** connect-node's client of Health on the server (Connect over HTTP/1.1). */
const nodeClient = Effect.map(ConnectServer.ConnectServer, ({ url }) =>
  createClient(GrpcHealth.Health, createConnectTransport({ baseUrl: url, httpVersion: "1.1" })))

const setStatus = (service: GrpcHealth.ServiceName, status: GrpcHealth.ServingStatus) =>
  Effect.flatMap(GrpcHealth.GrpcHealth, (health) => health.setStatus(service, status))

/** Watch `service` with our client in a fiber of the Scope; its statuses arrive in the queue. */
const watch = (service: string) =>
  Effect.gen(function*() {
    const client = yield* ourClient
    const received = yield* Queue.unbounded<GrpcHealth.HealthCheckResponse_ServingStatus>()
    const fiber = yield* client.watch({ service }).pipe(
      Stream.runForEach((response) => Queue.offer(received, response.status)),
      Effect.forkScoped
    )
    return { next: Queue.take(received).pipe(Effect.timeout("3 seconds")), received, fiber }
  })

/** Waits (up to 3 s) until the server has no call in flight: a Watch whose client left is gone. */
const noCallInFlight = Effect.flatMap(ConnectServer.ConnectServer, (server) =>
  server.activity.pipe(
    Effect.filterOrFail((activity) => activity.callsInFlight === 0, () => "calls still in flight"),
    Effect.retry(Schedule.spaced("20 millis").pipe(Schedule.upTo("3 seconds")))
  ))

/** A test with a server of its own. */
const test = <A, E>(name: string, body: () => Effect.Effect<A, E, ServerContext>) =>
  // The test's own Scope (its clients and Watch fibers) closes before the server's, whose
  // graceful shutdown would otherwise wait for the Watch calls still open.
  it.live(name, () => Effect.provide(Effect.scoped(body()), HealthServer))

type ServerContext = ConnectServer.ConnectServer | GrpcHealth.GrpcHealth | Scope.Scope

describe("GrpcHealth with our client", () => {
  test("Check: the server, the services given, one set later; an unknown one is not_found", () =>
    Effect.gen(function*() {
      const client = yield* ourClient
      expect((yield* client.check({ service: "" })).status).toBe(SERVING)
      expect((yield* client.check({ service: TestService.typeName })).status).toBe(SERVING)
      expect((yield* client.check({})).status).toBe(SERVING)
      const unknown = yield* Effect.flip(client.check({ service: "svc.Unknown" }))
      expect([unknown.code, unknown.message]).toEqual(["not_found", "unknown service \"svc.Unknown\""])
      yield* setStatus("svc.Unknown", "not_serving")
      expect((yield* client.check({ service: "svc.Unknown" })).status).toBe(NOT_SERVING)
      const health = yield* GrpcHealth.GrpcHealth
      yield* health.clearStatus("svc.Unknown")
      expect((yield* Effect.flip(client.check({ service: "svc.Unknown" }))).code).toBe("not_found")
    }))

  test("List: every status", () =>
    Effect.gen(function*() {
      const client = yield* ourClient
      yield* setStatus("svc.A", "not_serving")
      const { statuses } = yield* client.list({})
      expect(Object.fromEntries(Object.entries(statuses).map(([name, r]) => [name, r.status]))).toEqual({
        "": SERVING,
        [TestService.typeName]: SERVING,
        "svc.A": NOT_SERVING
      })
    }))

  test("Watch: the status now, then each change, never the same twice in a row", () =>
    Effect.gen(function*() {
      const { next, received } = yield* watch("svc.A")
      expect(yield* next).toBe(SERVING)
      yield* setStatus("svc.A", "serving")
      yield* setStatus("svc.Other", "not_serving")
      yield* setStatus("svc.A", "not_serving")
      expect(yield* next).toBe(NOT_SERVING)
      yield* setStatus("svc.A", "serving")
      expect(yield* next).toBe(SERVING)
      expect(yield* Queue.size(received)).toBe(0)
    }))

  test("Watch of an unknown service: SERVICE_UNKNOWN, and the call stays open until the service is known", () =>
    Effect.gen(function*() {
      const { next } = yield* watch("svc.Later")
      expect(yield* next).toBe(SERVICE_UNKNOWN)
      yield* setStatus("svc.Later", "serving")
      expect(yield* next).toBe(SERVING)
      const health = yield* GrpcHealth.GrpcHealth
      yield* health.clearStatus("svc.Later")
      expect(yield* next).toBe(SERVICE_UNKNOWN)
    }))

  test("a Watch call whose client goes away is cleaned up on the server, 50 at once too", () =>
    Effect.gen(function*() {
      const watches = yield* Effect.all(Array.from({ length: 50 }, () => watch("")), { concurrency: "unbounded" })
      for (const w of watches) expect(yield* w.next).toBe(SERVING)
      const { callsInFlight } = yield* Effect.flatMap(ConnectServer.ConnectServer, (s) => s.activity)
      expect(callsInFlight).toBe(50)
      yield* Fiber.interruptAll(watches.map((w) => w.fiber))
      yield* noCallInFlight
    }))

  test("shutdown: every service NOT_SERVING, Watch calls end, setStatus ignored until resume", () =>
    Effect.gen(function*() {
      const client = yield* ourClient
      const health = yield* GrpcHealth.GrpcHealth
      const { next, fiber } = yield* watch("svc.A")
      expect(yield* next).toBe(SERVING)
      yield* health.shutdown
      expect(yield* next).toBe(NOT_SERVING)
      yield* Fiber.join(fiber)
      yield* setStatus("svc.A", "serving")
      expect((yield* client.check({ service: "svc.A" })).status).toBe(NOT_SERVING)
      expect((yield* client.check({ service: "" })).status).toBe(NOT_SERVING)
      // A Watch during shutdown answers NOT_SERVING and ends: the client retries later.
      expect(Chunk.toArray(yield* Stream.runCollect(client.watch({ service: "" }))).map((r) => r.status)).toEqual([NOT_SERVING])
      yield* health.resume
      expect((yield* client.check({ service: "svc.A" })).status).toBe(SERVING)
      const after = yield* watch("svc.A")
      expect(yield* after.next).toBe(SERVING)
      yield* setStatus("svc.A", "not_serving")
      expect(yield* after.next).toBe(NOT_SERVING)
    }))

  test("hostile: a 1 MiB service name is not_found and not echoed whole; bytes that are not a request are invalid_argument", () =>
    Effect.gen(function*() {
      const client = yield* ourClient
      const error = yield* Effect.flip(client.check({ service: "x".repeat(1024 * 1024) }))
      expect(error.code).toBe("not_found")
      expect(error.message.length).toBeLessThan(300)
      const { url } = yield* ConnectServer.ConnectServer
      const response = yield* Effect.promise(() =>
        fetch(`${url}/grpc.health.v1.Health/Check`, {
          method: "POST",
          headers: { "content-type": "application/proto" },
          body: new Uint8Array([0x0a, 0x7f, 0x61])
        })
      )
      expect(response.status).toBe(400)
      expect(((yield* Effect.promise(() => response.json())) as { code: string }).code).toBe("invalid_argument")
      expect((yield* client.check({ service: "" })).status).toBe(SERVING)
    }))
})

describe("GrpcHealth with our client over gRPC and gRPC-Web", () => {
  const transports = [
    { protocol: "gRPC (HTTP/2)", layer: (baseUrl: string) => NodeTransport.layerHttp2({ baseUrl, protocol: "grpc" }) },
    { protocol: "gRPC-Web (HTTP/1.1)", layer: (baseUrl: string) => NodeTransport.layerUndici({ baseUrl, protocol: "grpc-web" }) }
  ]
  for (const transport of transports) {
    test(`${transport.protocol}: Check, not_found, and a Watch that sees a change and is cleaned up when left`, () =>
      Effect.gen(function*() {
        const { url } = yield* ConnectServer.ConnectServer
        const context = yield* Layer.build(transport.layer(url))
        const client = ConnectClient.makeWith(GrpcHealth.Health, Context.get(context, Transport.Transport))
        expect((yield* client.check({ service: "svc.A" })).status).toBe(SERVING)
        expect((yield* Effect.flip(client.check({ service: "svc.Unknown" }))).code).toBe("not_found")
        const received = yield* Queue.unbounded<GrpcHealth.HealthCheckResponse_ServingStatus>()
        const fiber = yield* client.watch({ service: "svc.A" }).pipe(
          Stream.runForEach((response) => Queue.offer(received, response.status)),
          Effect.forkScoped
        )
        expect(yield* Queue.take(received)).toBe(SERVING)
        yield* setStatus("svc.A", "not_serving")
        expect(yield* Queue.take(received)).toBe(NOT_SERVING)
        yield* Fiber.interrupt(fiber)
        yield* noCallInFlight
      }))
  }
})

describe("GrpcHealth with connect-node's client", () => {
  test("Check, and not_found for an unknown service", () =>
    Effect.gen(function*() {
      const client = yield* nodeClient
      expect((yield* Effect.promise(() => client.check({ service: TestService.typeName }))).status).toBe(SERVING)
      const error = yield* Effect.promise(() => client.check({ service: "svc.Unknown" }).then(() => undefined, (e: unknown) => e))
      expect(error).toBeInstanceOf(NodeConnectError)
      expect((error as NodeConnectError).code).toBe(NodeCode.NotFound)
    }))

  test("Watch sees each change; aborting it ends the call on the server", () =>
    Effect.gen(function*() {
      const client = yield* nodeClient
      const abort = new AbortController()
      const iterator = client.watch({ service: "svc.A" }, { signal: abort.signal })[Symbol.asyncIterator]()
      const next = Effect.promise(() => iterator.next()).pipe(
        Effect.map((result) => (result.done === true ? undefined : result.value.status))
      )
      expect(yield* next).toBe(SERVING)
      yield* setStatus("svc.A", "not_serving")
      expect(yield* next).toBe(NOT_SERVING)
      yield* setStatus("svc.B", "serving")
      yield* setStatus("svc.A", "serving")
      expect(yield* next).toBe(SERVING)
      abort.abort()
      yield* Effect.promise(() => iterator.next().catch(() => undefined))
      yield* noCallInFlight
    }))
})

describe("GrpcHealth.watch", () => {
  it.scopedLive("a reader slower than the changes gets the latest status, not a backlog", () =>
    Effect.gen(function*() {
      const health = yield* GrpcHealth.make({ services: ["svc.A"] })
      const pull = yield* Stream.toPull(health.watch("svc.A"))
      expect(Chunk.toArray(yield* pull)).toEqual([Option.some("serving")])
      for (let i = 0; i < 1000; i++) yield* health.setStatus("svc.A", i % 2 === 0 ? "not_serving" : "serving")
      yield* health.setStatus("svc.A", "unknown")
      // The watch drains its subscription while its reader is away.
      yield* Effect.sleep("100 millis")
      expect(Chunk.toArray(yield* pull)).toEqual([Option.some("unknown")])
    }))
})
