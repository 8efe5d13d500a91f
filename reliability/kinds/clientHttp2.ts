/**
 * Our HTTP/2 client against a hostile node:http2 server: each call is answered with a hostile
 * response (any status, headers, body, trailers), then the stream is ended, reset with any
 * code, left open, or the whole connection is sent a GOAWAY or dropped. Every call, in Connect,
 * gRPC and gRPC-Web, unary and server streaming, must end with a message or a ConnectError
 * with a code, by its timeout.
 */
import { ConnectClient } from "connect-effect"
import { NodeTransport } from "connect-effect/node"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import fc from "fast-check"
import * as Http2 from "node:http2"
import type * as Net from "node:net"
import { TestService } from "../../test/gen/connecteffect/test/v1/test_pb.js"
import { judgeHostileCall } from "../clientCalls.js"
import type { Kind } from "../kind.js"
import { type HostileResponse, hostileResponse, type Protocol, showResponse } from "../responses.js"

type Ending = "trailers" | "end" | { readonly rst: number } | "goaway" | "drop" | "open"

interface Input {
  readonly protocol: Protocol
  readonly streaming: boolean
  readonly response: HostileResponse
  /** Cut the body short, after this many bytes, before the ending. */
  readonly cutAt: number | undefined
  readonly ending: Ending
}

const answer = (stream: Http2.ServerHttp2Stream, input: Input) => {
  const { response } = input
  const headers: Http2.OutgoingHttpHeaders = { ":status": response.status }
  for (const [name, value] of response.headers) headers[name] = value
  const body = input.cutAt === undefined ? response.body : response.body.subarray(0, input.cutAt)
  const { ending } = input
  try {
    stream.respond(headers, { waitForTrailers: ending === "trailers" })
    if (ending === "trailers") {
      stream.once("wantTrailers", () => {
        const trailers: Http2.OutgoingHttpHeaders = {}
        for (const [name, value] of response.trailers) trailers[name] = value
        try {
          stream.sendTrailers(trailers)
        } catch {
          stream.close(Http2.constants.NGHTTP2_INTERNAL_ERROR)
        }
      })
    }
    if (ending === "trailers" || ending === "end") return void stream.end(body)
    stream.write(body)
    if (typeof ending === "object") stream.close(ending.rst)
    else if (ending === "goaway") stream.session?.goaway(Http2.constants.NGHTTP2_NO_ERROR)
    else if (ending === "drop") stream.session?.destroy()
  } catch {
    // node:http2 refuses some headers itself (a 204 with a body, say): then the stream is reset.
    stream.close(Http2.constants.NGHTTP2_INTERNAL_ERROR)
  }
}

/** The server: answers each stream with the input registered under its x-fuzz-id. */
const hostileServer = (inputs: Map<string, Input>) =>
  Effect.acquireRelease(
    Effect.async<{ server: Http2.Http2Server; sockets: Set<Net.Socket>; url: string }>((resume) => {
      const sockets = new Set<Net.Socket>()
      const server = Http2.createServer()
      server.on("connection", (socket: Net.Socket) => {
        sockets.add(socket)
        socket.on("close", () => sockets.delete(socket))
      })
      server.on("session", (session) => session.on("error", () => {}))
      server.on("stream", (stream, headers) => {
        stream.on("error", () => {})
        stream.resume()
        const input = inputs.get(String(headers["x-fuzz-id"]))
        if (input === undefined) return stream.close(Http2.constants.NGHTTP2_REFUSED_STREAM)
        answer(stream, input)
      })
      server.listen(0, "127.0.0.1", () => resume(Effect.succeed({ server, sockets, url: `http://127.0.0.1:${(server.address() as Net.AddressInfo).port}` })))
    }),
    ({ server, sockets }) =>
      Effect.sync(() => {
        for (const socket of sockets) socket.destroy()
        server.close()
      })
  )

const ending: fc.Arbitrary<Ending> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom("trailers" as const, "end" as const) },
  { weight: 1, arbitrary: fc.oneof(fc.integer({ min: 0, max: 13 }), fc.constant(0xffff)).map((rst) => ({ rst })) },
  { weight: 1, arbitrary: fc.constantFrom("goaway" as const, "drop" as const, "open" as const) }
)

const inputs: fc.Arbitrary<Input> = fc.record({ protocol: fc.constantFrom<Protocol>("connect", "grpc", "grpc-web"), streaming: fc.boolean() }).chain(
  ({ protocol, streaming }) =>
    fc.record({
      response: hostileResponse(protocol, streaming),
      cutAt: fc.oneof({ weight: 5, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.nat({ max: 64 }) }),
      ending
    }).map((r): Input => ({ protocol, streaming, ...r }))
)

interface Env {
  readonly inputs: Map<string, Input>
  readonly url: string
  next: number
}

/**
 * A client with a connection of its own, closed with the Scope: a GOAWAY or a drop meant for one
 * call would otherwise fail every call sharing its connection, and hide what the others test.
 */
const clientOf = (baseUrl: string, protocol: Protocol) =>
  Effect.flatMap(
    Layer.build(NodeTransport.layerHttp2({ baseUrl, protocol, readMaxBytes: 64 * 1024 })),
    (context) => Effect.provide(ConnectClient.make(TestService), context)
  )

export const clientHttp2: Kind<Input, Env> = {
  name: "client-h2",
  share: 5,
  about: "our HTTP/2 client (Connect, gRPC, gRPC-Web; unary and server streaming) against a node:http2 server answering hostile responses, resets, GOAWAYs and drops",
  inputs,
  environment: () =>
    Effect.gen(function*() {
      const registered = new Map<string, Input>()
      const { url } = yield* hostileServer(registered)
      return { inputs: registered, url, next: 0 } satisfies Env
    }),
  run: (env, input) =>
    Effect.scoped(Effect.gen(function*() {
      const id = String(env.next++)
      env.inputs.set(id, input)
      yield* Effect.addFinalizer(() => Effect.sync(() => env.inputs.delete(id)))
      const client = yield* clientOf(env.url, input.protocol)
      return yield* judgeHostileCall(client, input.streaming, { "x-fuzz-id": id })
    })),
  show: (input) =>
    `${input.protocol} ${input.streaming ? "server stream" : "unary"}: ${showResponse(input.response)}${input.cutAt === undefined ? "" : ` cut at ${input.cutAt}`}, then ${JSON.stringify(input.ending)}`
}
