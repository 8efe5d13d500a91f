/**
 * Clients that vanish at every stage of a call, over HTTP/1.1 (Connect, gRPC-Web) and HTTP/2
 * (Connect, gRPC), by closing or resetting the connection or (HTTP/2) resetting the stream:
 * before the headers are complete, after the headers with no body, mid-request-stream, while a
 * unary handler runs, mid-response-stream. Each stage is repeated; every handler that started
 * must have been interrupted and its finalizer run (100%, counted), and afterwards the server
 * holds no call, connection or session and still serves.
 */
import { create, toBinary } from "@bufbuild/protobuf"
import { describe, expect, it } from "@effect/vitest"
import { ConnectClient, ConnectService } from "connect-effect"
import { ConnectServer, NodeTransport } from "connect-effect/node"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { Buffer } from "node:buffer"
import * as Http2 from "node:http2"
import * as Net from "node:net"
import * as F from "../reliability/h2Frames.js"
import { postHeaders, rawH2 } from "../reliability/rawH2.js"
import { EchoRequestSchema, ServerStreamRequestSchema, TestService } from "./gen/connecteffect/test/v1/test_pb.js"
import { callProbe, type CallProbe } from "./support/callProbe.js"
import { eventually } from "./support/h2Servers.js"
import { envelope } from "./support/rawHttp.js"

/** Vanishings per stage; DISCONNECT_RUNS sets more for a longer measurement. */
const runs = Number(process.env.DISCONNECT_RUNS ?? 5)

interface Harness {
  readonly server: ConnectServer.ConnectServer["Type"]
  readonly probe: CallProbe
}

const serve = Effect.gen(function*() {
  const { layer, probe } = callProbe()
  const context = yield* Layer.build(ConnectServer.layer({ services: [TestService] }).pipe(Layer.provide(layer)))
  return { server: Context.get(context, ConnectServer.ConnectServer), probe } satisfies Harness
})

const path = (method: string) => `/${TestService.typeName}/${method}`
const echo = (text: string) => toBinary(EchoRequestSchema, create(EchoRequestSchema, { text }))
const streamRequest = toBinary(ServerStreamRequestSchema, create(ServerStreamRequestSchema, { text: "s", size: 100 }))

type Protocol = "connect" | "grpc-web" | "grpc"

/** Content types by protocol, for unary and streaming methods. */
const contentType = (protocol: Protocol, streaming: boolean) =>
  protocol === "connect" ? (streaming ? "application/connect+proto" : "application/proto") : `application/${protocol}+proto`

/** A unary body: the message, in an envelope except in Connect. */
const unaryBody = (protocol: Protocol, message: Uint8Array) => protocol === "connect" ? message : envelope(0, message)

/**
 * A stage of a call, as a client gets there: the bytes or frames that open it, and whether the
 * handler runs by then (a unary handler needs the whole body; a streaming one starts with the
 * headers).
 */
interface Stage {
  readonly name: string
  readonly handlerRuns: boolean
  readonly method: string
  readonly streaming: boolean
  /** What the client sends, given the protocol: `undefined` body means the headers are not even complete. */
  readonly body: (protocol: Protocol) => { readonly bytes: Uint8Array; readonly declared: number | "chunked" } | undefined
  /** Whether to wait for the first response bytes before vanishing. */
  readonly awaitResponse: boolean
}

const stages: ReadonlyArray<Stage> = [
  { name: "before the headers are complete", handlerRuns: false, method: "Echo", streaming: false, body: () => undefined, awaitResponse: false },
  {
    name: "after the headers, before the body (unary)",
    handlerRuns: false,
    method: "Echo",
    streaming: false,
    body: () => ({ bytes: new Uint8Array(0), declared: 100 }),
    awaitResponse: false
  },
  {
    name: "after the headers, before the body (client stream)",
    handlerRuns: true,
    method: "ClientStream",
    streaming: true,
    body: () => ({ bytes: new Uint8Array(0), declared: "chunked" }),
    awaitResponse: false
  },
  {
    name: "mid-request-stream (client stream, half an envelope)",
    handlerRuns: true,
    method: "ClientStream",
    streaming: true,
    body: () => ({ bytes: Buffer.concat([envelope(0, echo("one")), envelope(0, echo("two")).subarray(0, 4)]), declared: "chunked" }),
    awaitResponse: false
  },
  {
    name: "mid-request-stream (bidi, answered so far)",
    handlerRuns: true,
    method: "BidiStream",
    streaming: true,
    body: () => ({ bytes: envelope(0, echo("one")), declared: "chunked" }),
    awaitResponse: false
  },
  {
    name: "while the unary handler runs",
    handlerRuns: true,
    method: "Echo",
    streaming: false,
    body: (protocol) => {
      const bytes = unaryBody(protocol, echo("wait"))
      return { bytes, declared: bytes.byteLength }
    },
    awaitResponse: false
  },
  {
    name: "mid-response-stream",
    handlerRuns: true,
    method: "ServerStream",
    streaming: true,
    body: () => {
      const bytes = envelope(0, streamRequest)
      return { bytes, declared: bytes.byteLength }
    },
    awaitResponse: true
  }
]

/** What a test does with a call opened at a stage: wait for its first response bytes, then vanish. */
interface Opened {
  readonly firstResponseBytes: Effect.Effect<void>
  readonly vanish: () => void
}

const firstBytes = (arrived: () => boolean) =>
  Effect.flatMap(eventually(arrived, 10_000), (held) => held ? Effect.void : Effect.dieMessage("no response bytes within 10 s"))

/** A raw HTTP/1.1 connection with the stage's bytes written, vanishing by closing or resetting the socket. */
const openHttp1 = (port: number, stage: Stage, protocol: Protocol, group: string, how: "close" | "reset") =>
  Effect.map(
    Effect.acquireRelease(
      Effect.async<{ socket: Net.Socket; received: () => boolean }>((resume) => {
        let received = false
        const socket = Net.connect({ port, host: "127.0.0.1" }, () => resume(Effect.succeed({ socket, received: () => received })))
        socket.on("error", () => {})
        socket.on("data", () => received = true)
        const body = stage.body(protocol)
        const head = [
          `POST ${path(stage.method)} HTTP/1.1`,
          "Host: 127.0.0.1",
          `Content-Type: ${contentType(protocol, stage.streaming)}`,
          `X-Probe: ${group}`,
          ...(protocol === "connect" ? ["Connect-Protocol-Version: 1"] : [])
        ]
        if (body === undefined) return void socket.write(head.join("\r\n")) // no blank line: the headers go on
        const framing = body.declared === "chunked" ? "Transfer-Encoding: chunked" : `Content-Length: ${body.declared}`
        socket.write(`${[...head, framing].join("\r\n")}\r\n\r\n`)
        if (body.bytes.byteLength === 0) return
        socket.write(
          body.declared === "chunked"
            ? Buffer.concat([Buffer.from(`${body.bytes.byteLength.toString(16)}\r\n`), body.bytes, Buffer.from("\r\n")])
            : body.bytes
        )
      }),
      ({ socket }) => Effect.sync(() => socket.destroy())
    ),
    ({ received, socket }): Opened => ({
      firstResponseBytes: firstBytes(received),
      vanish: () => how === "close" ? socket.destroy() : socket.resetAndDestroy()
    })
  )

/**
 * A raw HTTP/2 connection with the stage's frames on stream 1 (a header block left unfinished
 * when the stage has no body; END_STREAM only after a whole unary body), vanishing by
 * RST_STREAM alone, or by closing or resetting the socket.
 */
const openHttp2 = (port: number, stage: Stage, protocol: Protocol, group: string, how: "rst-stream" | "close" | "reset") =>
  Effect.map(rawH2(port), ({ frames, socket }): Opened => {
    const block = postHeaders(path(stage.method), [
      ["content-type", contentType(protocol, stage.streaming)],
      ["x-probe", group],
      protocol === "grpc" ? ["te", "trailers"] : ["connect-protocol-version", "1"]
    ])
    const body = stage.body(protocol)
    if (body === undefined) {
      socket.write(F.headers(1, block, false, false))
    } else {
      const whole = typeof body.declared === "number" && body.declared === body.bytes.byteLength
      socket.write(Buffer.concat([F.headers(1, block, false), ...(body.bytes.byteLength > 0 || whole ? [F.data(1, body.bytes, whole)] : [])]))
    }
    return {
      firstResponseBytes: firstBytes(() => frames().some((f) => f.type === F.frameType.data && f.streamId === 1)),
      vanish: () => how === "rst-stream" ? socket.write(F.rstStream(1, Http2.constants.NGHTTP2_CANCEL)) : how === "close" ? socket.destroy() : socket.resetAndDestroy()
    }
  })

const within = (condition: () => boolean, what: string, ms = 10_000) =>
  Effect.flatMap(eventually(condition, ms), (held) => held ? Effect.void : Effect.dieMessage(`${what}: not within ${ms} ms`))

/** The server holds nothing: no call in flight, no connection, no session. */
const idle = (harness: Harness) =>
  Effect.gen(function*() {
    const until = Date.now() + 10_000
    for (;;) {
      const activity = yield* harness.server.activity
      if (activity.callsInFlight === 0 && activity.http1Connections === 0 && activity.http2Sessions === 0) return
      if (Date.now() > until) return yield* Effect.dieMessage(`the server still holds ${JSON.stringify(activity)} 10 s later`)
      yield* Effect.sleep("10 millis")
    }
  })

const healthy = (harness: Harness) =>
  Effect.promise(() =>
    fetch(`${harness.server.url}${path("Echo")}`, {
      method: "POST",
      headers: { "content-type": "application/json", "connect-protocol-version": "1" },
      body: JSON.stringify({ text: "health" })
    }).then((r) => r.json() as Promise<{ text?: string }>)
  ).pipe(Effect.tap((answer) => expect(answer.text).toBe("ok")))

/**
 * Runs a stage `runs` times: open it (in a Scope of its own), wait until the server has the
 * call (its handler started; or, where no handler runs yet, the call or the connection is
 * counted), vanish, and wait until the handler has ended and the server holds nothing. Then
 * every handler that started must have been interrupted, its finalizer run.
 */
const vanishRepeatedly = (
  harness: Harness,
  group: string,
  stage: Stage,
  protocol: Protocol,
  open: Effect.Effect<Opened, never, Scope.Scope>
) =>
  Effect.gen(function*() {
    const counts = harness.probe.of(group)
    const activity = () => Effect.runSync(harness.server.activity)
    const taken = stage.body(protocol) === undefined
      ? () => activity().http1Connections + activity().http2Sessions > 0
      : () => activity().callsInFlight > 0
    for (let i = 1; i <= runs; i++) {
      yield* Effect.scoped(Effect.gen(function*() {
        const opened = yield* open
        if (stage.awaitResponse) yield* opened.firstResponseBytes
        yield* stage.handlerRuns ? within(() => counts.started >= i, `handler ${i} started`) : within(taken, "the server took the call")
        opened.vanish()
        if (stage.handlerRuns) {
          yield* within(() => counts.interrupted + counts.canceled + counts.failed + counts.succeeded >= i, `handler ${i} ended`)
        }
      }))
      yield* idle(harness)
    }
    if (process.env.DISCONNECT_RUNS !== undefined) console.log(`${group}: ${JSON.stringify(counts)}`)
    const started = stage.handlerRuns ? runs : 0
    expect({ ...counts, ended: counts.interrupted + counts.canceled }).toEqual({
      started,
      interrupted: counts.interrupted,
      canceled: counts.canceled,
      ended: started,
      failed: 0,
      succeeded: 0
    })
    yield* healthy(harness)
  })

describe("clients that vanish at every stage of a call: each handler is interrupted, its finalizer runs", () => {
  for (const protocol of ["connect", "grpc-web"] as const) {
    for (const how of ["close", "reset"] as const) {
      describe(`HTTP/1.1, ${protocol}, connection ${how === "close" ? "closed" : "reset (TCP RST)"}`, () => {
        for (const stage of stages) {
          it.scopedLive(stage.name, () =>
            Effect.flatMap(serve, (harness) => {
              const group = `h1 ${protocol} ${how} ${stage.name}`
              return vanishRepeatedly(harness, group, stage, protocol, openHttp1(harness.server.port, stage, protocol, group, how))
            }))
        }
      })
    }
  }

  for (const protocol of ["connect", "grpc"] as const) {
    for (const how of ["rst-stream", "close", "reset"] as const) {
      const name = how === "rst-stream" ? "stream reset (RST_STREAM CANCEL)" : how === "close" ? "connection closed" : "connection reset (TCP RST)"
      describe(`HTTP/2, ${protocol}, ${name}`, () => {
        // An unfinished header block opens no stream that RST_STREAM could name.
        for (const stage of stages.filter((s) => how !== "rst-stream" || s.body(protocol) !== undefined)) {
          it.scopedLive(stage.name, () =>
            Effect.flatMap(serve, (harness) => {
              const group = `h2 ${protocol} ${how} ${stage.name}`
              return vanishRepeatedly(harness, group, stage, protocol, openHttp2(harness.server.port, stage, protocol, group, how))
            }))
        }
      })
    }
  }

  // The stream is reset in the packet that opens it: node:http2 hands the server a request whose
  // stream is already closed, and a call answered at once (a 404) once left its count behind.
  it.scopedLive("HTTP/2, a stream opened and reset in one packet, answered at once or not: nothing is left counted", () =>
    Effect.gen(function*() {
      const harness = yield* serve
      for (const [target, body] of [["/nope.v1.Nope/Echo", "abc"], [path("Echo"), "{"]] as const) {
        for (let i = 0; i < runs; i++) {
          yield* Effect.scoped(Effect.gen(function*() {
            const socket = yield* Effect.acquireRelease(
              Effect.sync(() => Net.connect({ port: harness.server.port, host: "127.0.0.1" })),
              (socket) => Effect.sync(() => socket.destroy())
            )
            socket.on("error", () => {})
            const block = F.headerBlock([[":method", "POST"], [":path", target], [":scheme", "http"], [":authority", "x"], ["content-type", "application/json"]])
            const received: Array<Buffer> = []
            socket.on("data", (chunk: Buffer) => received.push(chunk))
            socket.write(Buffer.concat([
              F.preface,
              F.settings(),
              F.headers(1, block, false),
              F.data(1, Buffer.from(body), false),
              F.rstStream(1, 8),
              F.ping()
            ]))
            // The PING's answer comes once the server has read every frame before it.
            yield* within(
              () => F.parseFrames(Buffer.concat(received)).frames.some((f) => f.type === F.frameType.ping && (f.flags & F.flag.ack) !== 0),
              "the PING was answered"
            )
          }))
          yield* idle(harness)
        }
      }
      yield* healthy(harness)
    }))
})

// node:http2's close(NGHTTP2_CANCEL) sends END_STREAM before RST_STREAM: our HTTP/2 client gave
// up on client streams that way, and the server read the requests sent so far as all of them.
describe("our HTTP/2 client giving up on a client stream", () => {
  for (const protocol of ["connect", "grpc"] as const) {
    it.scopedLive(`${protocol}: the server's handler never sees the requests end`, () =>
      Effect.gen(function*() {
        const endings: Array<string> = []
        const SummingLive = ConnectService.toLayer(TestService, {
          echo: () => Effect.succeed({}),
          serverStream: () => Stream.empty,
          bidiStream: () => Stream.empty,
          clientStream: (requests) =>
            Stream.runCount(requests).pipe(
              Effect.onExit((exit) => Effect.sync(() => endings.push(Exit.isSuccess(exit) ? `completed after ${exit.value}` : "ended early"))),
              Effect.map((n) => ({ text: String(n) }))
            )
        })
        const context = yield* Layer.build(ConnectServer.layer({ services: [TestService] }).pipe(Layer.provide(SummingLive)))
        const { url } = Context.get(context, ConnectServer.ConnectServer)
        const client = yield* Effect.provide(ConnectClient.make(TestService), yield* Layer.build(NodeTransport.layerHttp2({ baseUrl: url, protocol })))
        for (let i = 1; i <= runs; i++) {
          const error = yield* Effect.flip(client.clientStream(Stream.concat(Stream.make({ text: "a" }, { text: "b" }), Stream.never), { timeout: 300 }))
          expect(error.code).toBe("deadline_exceeded")
          yield* within(() => endings.length >= i, `handler ${i} ended`)
        }
        expect(endings).toEqual(Array.from({ length: runs }, () => "ended early"))
      }))
  }
})
