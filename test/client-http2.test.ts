/**
 * What the HTTP/2 transport (`NodeTransport.layerHttp2`) does with its connections and with
 * the network's failures: a second connection past the peer's SETTINGS_MAX_CONCURRENT_STREAMS,
 * GOAWAY, dropped connections, RST_STREAM codes, flow control, keep-alive PINGs, idle close, and
 * TLS with server and client certificates. Every test ends with no session left on the server.
 */
import { describe, expect, it } from "@effect/vitest"
import { ConnectClient } from "connect-effect"
import { NodeTransport } from "connect-effect/node"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Http2 from "node:http2"
import * as Net from "node:net"
import { TestService } from "./gen/connecteffect/test/v1/test_pb.js"
import { connectNodeH2, eventually, type H2Server, h2Server } from "./support/h2Servers.js"
import { testCertificates } from "./support/tls.js"

type ClientOptions = Omit<NodeTransport.Http2Options, "baseUrl">

const clientOf = (server: H2Server, options: ClientOptions = {}) =>
  Effect.gen(function*() {
    const context = yield* Layer.build(NodeTransport.layerHttp2({ baseUrl: server.url, ...options }))
    return yield* Effect.provide(ConnectClient.make(TestService), context)
  })

/** Runs `test` against `server`, then checks that releasing the client left no session open on it. */
const leakChecked = <A, E, E2>(
  server: Effect.Effect<H2Server, E2, Scope.Scope>,
  test: (server: H2Server) => Effect.Effect<A, E, Scope.Scope>
) =>
  Effect.scoped(Effect.gen(function*() {
    const s = yield* server
    const result = yield* Effect.scoped(test(s))
    expect(yield* eventually(() => s.open() === 0)).toBe(true)
    return result
  }))

/** A raw server answering every stream with `respond`. */
const rawServer = (respond: (stream: Http2.ServerHttp2Stream) => void, settings?: Http2.Settings) =>
  h2Server({ stream: respond }, settings === undefined ? {} : { settings })

describe("NodeTransport.layerHttp2: connections", () => {
  it.live("opens a second connection when the peer's max concurrent streams is reached", () =>
    leakChecked(connectNodeH2({ settings: { maxConcurrentStreams: 2 } }), (server) =>
      Effect.gen(function*() {
        const client = yield* clientOf(server)
        const slow = Stream.runCollect(client.serverStream({ text: "s", count: 2, delayMs: 150 }))
        const results = yield* Effect.all([slow, slow, slow], { concurrency: "unbounded" })
        expect(results.map(Chunk.size)).toEqual([2, 2, 2])
        expect(server.accepted()).toBe(2)
        // Later calls fit on the connections already open.
        yield* Effect.all([slow, slow], { concurrency: "unbounded" })
        expect(server.accepted()).toBe(2)
      })))

  it.live("calls that start together while the first connection is made fill as few connections as they need", () =>
    leakChecked(connectNodeH2({ settings: { maxConcurrentStreams: 2 } }), (server) =>
      Effect.gen(function*() {
        const client = yield* clientOf(server)
        const slow = Stream.runCollect(client.serverStream({ text: "s", count: 2, delayMs: 150 }))
        const results = yield* Effect.all(Array.from({ length: 9 }, () => slow), { concurrency: "unbounded" })
        expect(results.map(Chunk.size)).toEqual(Array.from({ length: 9 }, () => 2))
        // Those the first had no room for waited for a second, and so on: two calls on each.
        expect(server.accepted()).toBe(5)
      })))

  it.live("GOAWAY mid-call: the call in flight finishes, the next one goes on a new connection", () =>
    leakChecked(connectNodeH2(), (server) =>
      Effect.gen(function*() {
        const client = yield* clientOf(server)
        const received: Array<string> = []
        const fiber = yield* Effect.fork(Stream.runForEach(
          client.serverStream({ text: "g", count: 5, delayMs: 40 }),
          (m) => Effect.sync(() => received.push(m.text))
        ))
        yield* eventually(() => received.length > 0)
        for (const session of server.sessions) session.goaway(Http2.constants.NGHTTP2_NO_ERROR, 1)
        yield* Effect.sleep("20 millis")
        expect((yield* client.echo({ text: "after goaway" })).text).toBe("after goaway")
        const exit = yield* Fiber.await(fiber)
        // Graceful: the stream already accepted (id 1) runs to its end.
        expect(Exit.isSuccess(exit)).toBe(true)
        expect(received).toHaveLength(5)
        expect(server.accepted()).toBe(2)
      })))

  it.live("a connection dropped mid-stream fails the call with unavailable; the next call reconnects", () =>
    leakChecked(connectNodeH2(), (server) =>
      Effect.gen(function*() {
        const client = yield* clientOf(server)
        let received = 0
        const fiber = yield* Effect.fork(Stream.runForEach(
          client.serverStream({ text: "d", count: 100, delayMs: 20 }),
          () => Effect.sync(() => received++)
        ))
        yield* eventually(() => received > 0)
        server.dropConnections()
        const error = yield* Effect.flip(Fiber.join(fiber))
        expect(error.code).toBe("unavailable")
        const unaryDropped = yield* Effect.fork(client.echo({ text: "x", delayMs: 500 }))
        yield* Effect.sleep("100 millis")
        server.dropConnections()
        expect((yield* Effect.flip(Fiber.join(unaryDropped))).code).toBe("unavailable")
        expect((yield* client.echo({ text: "again" })).text).toBe("again")
      })))

  it.live("an unreachable server fails with unavailable", () =>
    Effect.gen(function*() {
      const context = yield* Layer.build(NodeTransport.layerHttp2({ baseUrl: "http://127.0.0.1:1" }))
      const client = yield* Effect.provide(ConnectClient.make(TestService), context)
      expect((yield* Effect.flip(client.echo({ text: "x" }))).code).toBe("unavailable")
    }).pipe(Effect.scoped))

  it.live("a connection with no call for idleTimeoutMs is closed; the next call opens another", () =>
    leakChecked(connectNodeH2(), (server) =>
      Effect.gen(function*() {
        const client = yield* clientOf(server, { idleTimeoutMs: 100 })
        yield* client.echo({ text: "x" })
        expect(server.open()).toBe(1)
        expect(yield* eventually(() => server.open() === 0)).toBe(true)
        yield* client.echo({ text: "y" })
        expect(server.accepted()).toBe(2)
      })))

  it.live("keep-alive: PINGs while a call is open, none on an idle connection unless asked", () =>
    Effect.gen(function*() {
      let pings = 0
      const server = yield* connectNodeH2()
      const count = Effect.sync(() => {
        for (const session of server.sessions) {
          if (session.listenerCount("ping") === 0) session.on("ping", () => pings++)
        }
      })
      const busy = yield* clientOf(server, { pingIntervalMs: 30 })
      const fiber = yield* Effect.fork(Stream.runDrain(busy.bidiStream(Stream.never)))
      yield* Effect.sleep("30 millis")
      yield* count
      yield* Effect.sleep("300 millis")
      expect(pings).toBeGreaterThanOrEqual(3)
      yield* Fiber.interrupt(fiber)
      yield* Effect.sleep("50 millis")
      const idle = pings
      yield* Effect.sleep("200 millis")
      expect(pings).toBe(idle)
    }).pipe(Effect.scoped))

  it.live("a peer that stops answering (no PING ACK) fails the open call with unavailable within the PING timeout", () =>
    Effect.gen(function*() {
      // Speaks just enough HTTP/2 to take a request (its SETTINGS and an ACK of the client's),
      // then falls silent without closing: only keep-alive can tell the connection is dead.
      const sockets = new Set<Net.Socket>()
      const server = Net.createServer((socket) => {
        sockets.add(socket)
        socket.write(Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]))
        socket.once("data", () => socket.write(Buffer.from([0, 0, 0, 4, 1, 0, 0, 0, 0])))
        socket.on("error", () => {})
      })
      yield* Effect.acquireRelease(
        Effect.async<void>((resume) => void server.listen(0, "127.0.0.1", () => resume(Effect.void))),
        () => Effect.sync(() => { for (const s of sockets) s.destroy(); server.close() })
      )
      const url = `http://127.0.0.1:${(server.address() as Net.AddressInfo).port}`
      const context = yield* Layer.build(NodeTransport.layerHttp2({ baseUrl: url, pingIntervalMs: 50, pingTimeoutMs: 100 }))
      const client = yield* Effect.provide(ConnectClient.make(TestService), context)
      const started = Date.now()
      const error = yield* Effect.flip(client.echo({ text: "anyone there?" }))
      expect(error.code).toBe("unavailable")
      expect(error.message).toContain("PING")
      expect(Date.now() - started).toBeLessThan(2_000)
      expect(sockets.size).toBe(1)
    }).pipe(Effect.scoped))

  it.live("GOAWAY ENHANCE_YOUR_CALM too_many_pings halves the rate of PINGs", () =>
    Effect.gen(function*() {
      const pings = new Map<Http2.ServerHttp2Session, number>()
      const server = yield* connectNodeH2()
      const client = yield* clientOf(server, { pingIntervalMs: 40, pingIdleConnection: true })
      const watch = Effect.sync(() => {
        for (const session of server.sessions) {
          if (!pings.has(session)) {
            pings.set(session, 0)
            session.on("ping", () => pings.set(session, pings.get(session)! + 1))
          }
        }
      })
      yield* client.echo({ text: "1" })
      yield* watch
      yield* Effect.sleep("400 millis")
      const [first] = [...pings.values()]
      for (const session of server.sessions) {
        session.goaway(Http2.constants.NGHTTP2_ENHANCE_YOUR_CALM, 1, Buffer.from("too_many_pings"))
      }
      // Node destroys a session that receives a GOAWAY with an error; the next call opens another.
      yield* Effect.sleep("50 millis")
      yield* client.echo({ text: "2" })
      expect(server.accepted()).toBe(2)
      yield* watch
      yield* Effect.sleep("400 millis")
      const [, second] = [...pings.values()]
      expect(first).toBeGreaterThanOrEqual(6)
      expect(second).toBeLessThanOrEqual(Math.ceil(first! * 0.75))
    }).pipe(Effect.scoped))
})

describe("NodeTransport.layerHttp2: streams", () => {
  const resetWith = (code: number) =>
    rawServer((stream) => stream.close(code))

  it.live("RST_STREAM codes map to Connect codes", () =>
    Effect.gen(function*() {
      for (
        const [code, expected] of [
          [Http2.constants.NGHTTP2_REFUSED_STREAM, "unavailable"],
          [Http2.constants.NGHTTP2_CANCEL, "canceled"],
          [Http2.constants.NGHTTP2_ENHANCE_YOUR_CALM, "resource_exhausted"],
          [Http2.constants.NGHTTP2_INTERNAL_ERROR, "internal"]
        ] as const
      ) {
        yield* leakChecked(resetWith(code), (server) =>
          Effect.gen(function*() {
            const client = yield* clientOf(server)
            expect((yield* Effect.flip(client.echo({ text: "x" }))).code).toBe(expected)
            expect((yield* Effect.flip(Stream.runDrain(client.bidiStream([{ text: "x" }])))).code).toBe(expected)
          }))
      }
    }))

  it.live("a server that stops reading (flow control): the call's timeout fires, and the stream is reset", () => {
    let resetSeen = false
    return leakChecked(
      rawServer((stream) => {
        stream.respond({ ":status": 200, "content-type": "application/connect+proto" })
        stream.pause()
        stream.on("close", () => resetSeen = stream.rstCode === Http2.constants.NGHTTP2_CANCEL)
      }),
      (server) =>
        Effect.gen(function*() {
          const client = yield* clientOf(server)
          const big = new Uint8Array(1024 * 1024)
          const requests = Stream.repeatValue({ text: "x", payload: big }).pipe(Stream.take(20))
          const error = yield* Effect.flip(client.clientStream(requests, { timeout: "300 millis" }))
          expect(error.code).toBe("deadline_exceeded")
          expect(yield* eventually(() => resetSeen)).toBe(true)
        })
    )
  })
})

describe("NodeTransport.layerHttp2: TLS", () => {
  const certs = testCertificates()
  const serverTls = { cert: certs.serverCert, key: certs.serverKey }

  it.live("https: with the certificate's CA given as ca", () =>
    leakChecked(connectNodeH2({ tls: serverTls }), (server) =>
      Effect.gen(function*() {
        expect(server.url.startsWith("https:")).toBe(true)
        const client = yield* clientOf(server, { ca: certs.ca })
        expect((yield* client.echo({ text: "tls" })).text).toBe("tls")
        expect(Chunk.size(yield* Stream.runCollect(client.bidiStream([{ text: "a" }, { text: "b" }])))).toBe(2)
        const untrusted = yield* clientOf(server)
        expect((yield* Effect.flip(untrusted.echo({ text: "x" }))).code).toBe("unavailable")
        const unchecked = yield* clientOf(server, { rejectUnauthorized: false })
        expect((yield* unchecked.echo({ text: "insecure" })).text).toBe("insecure")
      })))

  it.live("mutual TLS: a client certificate the server asks for", () =>
    leakChecked(connectNodeH2({ tls: { ...serverTls, clientCa: certs.ca } }), (server) =>
      Effect.gen(function*() {
        const client = yield* clientOf(server, { ca: certs.ca, cert: certs.clientCert, key: certs.clientKey })
        expect((yield* client.echo({ text: "mtls" })).text).toBe("mtls")
        const anonymous = yield* clientOf(server, { ca: certs.ca })
        expect((yield* Effect.flip(anonymous.echo({ text: "x" }))).code).toBe("unavailable")
      })))
})
