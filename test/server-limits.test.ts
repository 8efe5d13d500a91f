/**
 * The server's limits on calls and connections, each seen doing its work over the wire: the
 * longest a handler may run, how many calls and connections are served at once, and how long
 * an idle connection stays open.
 */
import { create, toBinary } from "@bufbuild/protobuf"
import { describe, expect, it } from "@effect/vitest"
import { ConnectClient, type ConnectError, ConnectService } from "connect-effect"
import { ConnectServer, NodeTransport } from "connect-effect/node"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as Http2 from "node:http2"
import * as Net from "node:net"
import * as F from "../reliability/h2Frames.js"
import { rawExchange } from "../reliability/rawExchange.js"
import { postHeaders } from "../reliability/rawH2.js"
import { ServerStreamRequestSchema, TestService } from "./gen/connecteffect/test/v1/test_pb.js"
import { parseResponse } from "./support/chunkedWire.js"
import { peerThatStopsReading, rawConnection, rawSession, streamFate } from "./support/peers.js"
import { envelope, jsonOf } from "./support/rawHttp.js"
import { ourServer } from "./support/servers.js"

/**
 * TestService whose Echo waits `delayMs` and then tells what deadline it had (`none`, or how
 * many milliseconds were left), and whose ServerStream sends a message every `delayMs`.
 */
const DeadlineEchoLive = ConnectService.toLayer(TestService, {
  echo: (request, ctx) =>
    Effect.delay(
      Effect.sync(() => ({ text: Option.match(ctx.deadline, { onNone: () => "none", onSome: (at) => String(at - Date.now()) }) })),
      request.delayMs
    ),
  serverStream: (request) =>
    Stream.range(1, request.count).pipe(Stream.map((i) => ({ text: String(i) })), Stream.tap(() => Effect.sleep(request.delayMs))),
  clientStream: (requests) => Effect.map(Stream.runCount(requests), (n) => ({ text: String(n) })),
  bidiStream: (requests) => Stream.map(requests, (r) => ({ text: r.text }))
})

type Options = Omit<ConnectServer.ServeOptions<[typeof TestService]>, "services">

const serve = (options: Options) =>
  Effect.map(
    Layer.build(ConnectServer.layer({ ...options, services: [TestService] }).pipe(Layer.provide(DeadlineEchoLive))),
    (context) => Context.get(context, ConnectServer.ConnectServer)
  )

const protocols = ["connect", "grpc", "grpc-web"] as const

/** A raw connection to `port`, once connected. */
const connected = (port: number) =>
  Effect.async<Net.Socket>((resume) => {
    const socket = Net.connect(port, "127.0.0.1", () => resume(Effect.succeed(socket)))
    socket.on("error", () => {})
  })

/** Our client of TestService over HTTP/2 in `protocol`. */
const clientOf = (url: string, protocol: (typeof protocols)[number]) =>
  Effect.flatMap(Layer.build(NodeTransport.layerHttp2({ baseUrl: url, protocol })), (context) =>
    Effect.provide(ConnectClient.make(TestService), context))

describe("handlerTimeoutMs", () => {
  it.scopedLive("a server stream still running at handlerTimeoutMs ends with deadline_exceeded after its messages so far", () =>
    Effect.gen(function*() {
      const client = yield* clientOf((yield* serve({ handlerTimeoutMs: 400 })).url, "grpc")
      const received: Array<string> = []
      const error = yield* Stream.runForEach(client.serverStream({ count: 1000, delayMs: 100 }), (r) => Effect.sync(() => received.push(r.text))).pipe(
        Effect.timeout("10 seconds"),
        Effect.flip
      )
      expect(error._tag).toBe("ConnectError")
      expect((error as ConnectError.ConnectError).code).toBe("deadline_exceeded")
      expect(received.length).toBeGreaterThan(0)
      expect(received.length).toBeLessThan(1000)
    }))

  it.scopedLive.each(protocols)("%s: a handler with no client timeout ends with deadline_exceeded, having seen it as its deadline", (protocol) =>
    Effect.gen(function*() {
      const server = yield* serve({ handlerTimeoutMs: 300 })
      const client = yield* clientOf(server.url, protocol)
      const left = Number((yield* client.echo({ delayMs: 0 })).text)
      expect(left).toBeGreaterThan(0)
      expect(left).toBeLessThanOrEqual(300)
      const start = Date.now()
      const error = yield* Effect.flip(client.echo({ delayMs: 20_000 }))
      expect(error.code).toBe("deadline_exceeded")
      expect(error.message).toContain("handlerTimeoutMs")
      expect(Date.now() - start).toBeLessThan(10_000)
    }))

  it.scopedLive("a client's shorter timeout is the deadline; without handlerTimeoutMs a handler has none", () =>
    Effect.gen(function*() {
      const limited = yield* clientOf((yield* serve({ handlerTimeoutMs: 60_000 })).url, "connect")
      const left = Number((yield* limited.echo({ delayMs: 0 }, { timeout: "2 seconds" })).text)
      expect(left).toBeGreaterThan(0)
      expect(left).toBeLessThanOrEqual(2000)
      const unlimited = yield* clientOf((yield* serve({})).url, "connect")
      expect((yield* unlimited.echo({ delayMs: 0 })).text).toBe("none")
    }))
})

/** Calls that hold their place on the server until the Scope closes (Echo waiting 30 s). */
const holdCalls = (url: string, count: number) =>
  Effect.gen(function*() {
    const client = yield* clientOf(url, "connect")
    for (let i = 0; i < count; i++) yield* Effect.forkScoped(client.echo({ delayMs: 30_000 }))
  })

/** Waits until the server serves `calls` calls. */
const serving = (server: ConnectServer.ConnectServer["Type"], calls: number) =>
  server.activity.pipe(
    Effect.repeat({ until: (activity) => activity.callsInFlight >= calls, schedule: Schedule.spaced("20 millis") }),
    Effect.timeout("10 seconds")
  )

describe("maxConcurrentCalls", () => {
  it.scopedLive.each(protocols)("%s: a call past the limit is resource_exhausted, unary or streaming", (protocol) =>
    Effect.gen(function*() {
      const server = yield* serve({ maxConcurrentCalls: 2 })
      yield* holdCalls(server.url, 2)
      yield* serving(server, 2)
      const client = yield* clientOf(server.url, protocol)
      const error = yield* Effect.flip(client.echo({ text: "one too many" }))
      expect(error.code).toBe("resource_exhausted")
      expect(error.message).toContain("maxConcurrentCalls")
      const stream = yield* Effect.flip(Stream.runDrain(client.serverStream({ count: 1 })))
      expect(stream.code).toBe("resource_exhausted")
    }))

  it.scopedLive("the refusal comes before the body is read: a call whose body never arrives is answered at once", () =>
    Effect.gen(function*() {
      const server = yield* serve({ maxConcurrentCalls: 2 })
      yield* holdCalls(server.url, 2)
      yield* serving(server, 2)
      const fate = yield* rawConnection(
        server.port,
        `POST /${TestService.typeName}/Echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/proto\r\nContent-Length: 100\r\n` +
          "Connection: close\r\n\r\n",
        10_000
      )
      const response = parseResponse(fate.received)
      expect([response.status, jsonOf(response.body).code]).toEqual([429, "resource_exhausted"])
      // Far sooner than readIdleTimeoutMs (30 s), which would answer a call that waited for its body.
      expect(fate.answeredAfter).toBeLessThan(10_000)
    }))

  it.scopedLive("once calls in flight end, new calls are served again", () =>
    Effect.gen(function*() {
      const server = yield* serve({ maxConcurrentCalls: 1 })
      const client = yield* clientOf(server.url, "connect")
      const first = yield* Effect.fork(client.echo({ delayMs: 300 }))
      yield* serving(server, 1)
      expect((yield* Effect.flip(client.echo({}))).code).toBe("resource_exhausted")
      yield* Fiber.join(first)
      expect((yield* client.echo({})).text).toBe("none")
    }))
})

describe("maxConnections", () => {
  it.scopedLive("a connection past the limit is closed at once, before a byte is read; one freed is taken again", () =>
    Effect.gen(function*() {
      const server = yield* serve({ maxConnections: 2 })
      const held = yield* Effect.forEach([1, 2], () => Effect.acquireRelease(connected(server.port), (s) => Effect.sync(() => s.destroy())))
      const refused = yield* rawConnection(server.port, "", 5000)
      expect(refused.closedAfter).toBeDefined()
      expect(refused.received.byteLength).toBe(0)
      held[0]!.destroy()
      yield* server.activity.pipe(
        Effect.repeat({ until: (a) => a.http1Connections + a.http2Sessions < 2, schedule: Schedule.spaced("20 millis") })
      )
      const client = yield* clientOf(server.url, "connect")
      expect((yield* client.echo({}).pipe(Effect.retry({ times: 20, schedule: Schedule.spaced("50 millis") }))).text).toBe("none")
    }))
})

describe("http2ResetLimit", () => {
  const echoHeaders = { ":method": "POST", ":path": `/${TestService.typeName}/Echo`, "content-type": "application/json" }

  /** Opens streams and resets them at once, in batches, until the session ends or `max` were sent. */
  const rapidReset = (session: Http2.ClientHttp2Session, max: number) =>
    Effect.async<{ readonly sent: number; readonly goaway: number | undefined }>((resume) => {
      let sent = 0
      let goaway: number | undefined
      session.once("goaway", (code) => goaway = code)
      const loop = () => {
        for (let i = 0; i < 100 && sent < max && !session.closed && !session.destroyed; i++, sent++) {
          const stream = session.request(echoHeaders, { endStream: false })
          stream.on("error", () => {})
          stream.close(Http2.constants.NGHTTP2_CANCEL)
        }
        if (sent < max && !session.closed && !session.destroyed) setImmediate(loop)
      }
      session.once("close", () => resume(Effect.succeed({ sent, goaway })))
      loop()
    })

  it.scopedLive("a client that opens and resets streams in a loop gets GOAWAY ENHANCE_YOUR_CALM; others are served", () =>
    Effect.gen(function*() {
      const server = yield* serve({})
      const attacker = yield* rawSession(server.url)
      const { goaway, sent } = yield* rapidReset(attacker, 20_000).pipe(Effect.timeout("20 seconds"))
      // nghttp2's own limit (about 1,000 resets) would say INTERNAL_ERROR.
      expect(goaway).toBe(Http2.constants.NGHTTP2_ENHANCE_YOUR_CALM)
      expect(sent).toBeLessThan(20_000)
      const client = yield* clientOf(server.url, "grpc")
      expect((yield* client.echo({})).text).toBe("none")
    }))

  it.scopedLive("a client that cancels fewer calls than the limit keeps its connection", () =>
    Effect.gen(function*() {
      const server = yield* serve({ http2ResetLimit: { resets: 100, windowMs: 60_000 } })
      const session = yield* rawSession(server.url)
      yield* rapidReset(session, 50).pipe(Effect.timeoutTo({ duration: "500 millis", onSuccess: () => false, onTimeout: () => true }))
      const stream = session.request(echoHeaders)
      stream.end(JSON.stringify({}))
      expect(jsonOf((yield* streamFate(stream, 10_000)).body).text).toBe("none")
      expect(session.destroyed).toBe(false)
    }))
})

describe("keepAliveTimeoutMs", () => {
  it.scopedLive("an idle HTTP/1.1 connection is closed after it", () =>
    Effect.gen(function*() {
      const server = yield* serve({ keepAliveTimeoutMs: 300 })
      const body = JSON.stringify({})
      const fate = yield* rawConnection(
        server.port,
        `POST /${TestService.typeName}/Echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
        10_000
      )
      expect(parseResponse(fate.received).status).toBe(200)
      expect(fate.closedAfter).toBeDefined()
      expect(fate.closedAfter! - fate.answeredAfter!).toBeGreaterThanOrEqual(250)
    }))

  it.scopedLive("an idle HTTP/2 session is closed after it", () =>
    Effect.gen(function*() {
      const server = yield* serve({ keepAliveTimeoutMs: 300 })
      const session = yield* rawSession(server.url)
      const stream = session.request({ ":method": "POST", ":path": `/${TestService.typeName}/Echo`, "content-type": "application/json" })
      stream.end(JSON.stringify({}))
      expect(jsonOf((yield* streamFate(stream, 10_000)).body).text).toBe("none")
      const start = Date.now()
      yield* Effect.async<void>((resume) => {
        if (session.closed || session.destroyed) return resume(Effect.void)
        session.once("close", () => resume(Effect.void))
      }).pipe(Effect.timeout("10 seconds"))
      expect(Date.now() - start).toBeGreaterThanOrEqual(200)
    }))

  it.scopedLive("an idle HTTP/2 session whose peer does not answer its PING is closed, though a handler is at work", () =>
    Effect.gen(function*() {
      const server = yield* serve({ keepAliveTimeoutMs: 300, shutdownGraceMs: 60_000 })
      const request = envelope(0, toBinary(ServerStreamRequestSchema, create(ServerStreamRequestSchema, { text: "slow", count: 1, delayMs: 20_000 })))
      // Raw frames: a peer that sends a call and then nothing, not even a PING's acknowledgement.
      const answer = yield* rawExchange(server.port, [
        F.preface,
        F.settings(),
        F.headers(1, postHeaders(`/${TestService.typeName}/ServerStream`, [["content-type", "application/connect+proto"]]), false),
        F.data(1, request, true)
      ], { answerMs: 10_000, closeMs: 1000 })
      expect(answer.closed).toBe("server")
      const sent = F.parseFrames(answer.bytes).frames
      expect(sent.some((frame) => frame.type === F.frameType.ping)).toBe(true)
      expect((yield* server.activity).callsInFlight).toBe(0)
    }))

  it.scopedLive("an idle HTTP/2 session whose peer stopped reading is closed, though the server has bytes to send it", () =>
    Effect.gen(function*() {
      const server = Context.get(yield* Layer.build(ourServer({ keepAliveTimeoutMs: 300, shutdownGraceMs: 60_000 })), ConnectServer.ConnectServer)
      yield* peerThatStopsReading(server.port)
      yield* server.activity.pipe(Effect.repeat({ until: (a) => a.callsInFlight === 1, schedule: Schedule.spaced("20 millis") }))
      const closed = yield* server.activity.pipe(
        Effect.repeat({ until: (a) => a.http2Sessions === 0 && a.callsInFlight === 0, schedule: Schedule.spaced("50 millis") }),
        Effect.timeoutTo({ duration: "10 seconds", onSuccess: () => true, onTimeout: () => false })
      )
      expect(closed).toBe(true)
    }))
})
