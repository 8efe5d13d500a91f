/**
 * A call answered before its request has all arrived (here: a message larger than readMaxBytes,
 * refused from its length prefix), to a client that stops sending once it sees the answer and
 * ends its request short of the Content-Length it declared, as connect-go's clients do. node:http2
 * resets such a stream with PROTOCOL_ERROR as soon as the short end arrives, so the answer must
 * be whole on the wire by then: END_STREAM on its one DATA frame, or gRPC's trailers-only
 * HEADERS, never an END_STREAM or trailers sent a moment after the rest (on a quiet machine the
 * late END_STREAM still wins the race, so the frames' shape is what is checked). The client here is
 * frames on a socket, so that it answers the server's headers at once, as a Go client does.
 */
import { describe, expect, it } from "@effect/vitest"
import { ConnectServer } from "connect-effect/node"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { Buffer } from "node:buffer"
import * as Net from "node:net"
import * as F from "../reliability/h2Frames.js"
import { TestService } from "./gen/connecteffect/test/v1/test_pb.js"
import { ourServer } from "./support/servers.js"

const readMaxBytes = 1024
const declared = 256 * 1024

const serve = Effect.map(Layer.build(ourServer({ readMaxBytes })), (context) => Context.get(context, ConnectServer.ConnectServer))

interface Answer {
  /** The server's frames on the call's stream, up to its END_STREAM or RST_STREAM. */
  readonly frames: ReadonlyArray<F.Frame>
}

/** One call on a new connection: headers declaring `declared` bytes, 4 KiB of them, and END_STREAM once the server's headers come. */
const callEndingShort = (port: number, path: string, contentType: string) =>
  Effect.async<Answer, Error>((resume) => {
    const socket = Net.connect(port, "127.0.0.1")
    const frames: Array<F.Frame> = []
    let pending = Buffer.alloc(0)
    const timer = setTimeout(() => finish(new Error(`no end of the stream; frames: ${JSON.stringify(frames.map((f) => [f.type, f.flags]))}`)), 8000)
    const finish = (outcome: Answer | Error) => {
      clearTimeout(timer)
      socket.destroy()
      resume(outcome instanceof Error ? Effect.fail(outcome) : Effect.succeed(outcome))
    }
    socket.on("error", (error) => finish(error))
    socket.on("data", (bytes: Buffer) => {
      pending = Buffer.concat([pending, bytes])
      const { frames: read, rest } = F.parseFrames(pending)
      pending = pending.subarray(pending.byteLength - rest)
      for (const frame of read) {
        if (frame.type === F.frameType.settings && (frame.flags & F.flag.ack) === 0) socket.write(F.settingsAck())
        if (frame.streamId !== 1) continue
        frames.push(frame)
        if (frame.type === F.frameType.headers && frames.length === 1) socket.write(F.data(1, new Uint8Array(0), true))
        if (frame.type === F.frameType.rstStream || (frame.flags & F.flag.endStream) !== 0) return finish({ frames })
      }
    })
    const head = Buffer.alloc(4096)
    head.writeUInt32BE(declared - 5, 1)
    socket.write(Buffer.concat([
      F.preface,
      F.settings(),
      F.headers(
        1,
        F.headerBlock([
          [":method", "POST"],
          [":scheme", "http"],
          [":authority", "localhost"],
          [":path", path],
          ["content-type", contentType],
          ["content-length", String(declared)],
          ["te", "trailers"]
        ]),
        false
      ),
      F.data(1, head, false)
    ]))
    return Effect.sync(() => socket.destroy())
  })

const cases = [
  { name: "Connect unary", method: "Echo", contentType: "application/proto" },
  { name: "Connect server stream", method: "ServerStream", contentType: "application/connect+proto" },
  { name: "gRPC unary", method: "Echo", contentType: "application/grpc" },
  { name: "gRPC server stream", method: "ServerStream", contentType: "application/grpc" },
  { name: "gRPC-Web server stream", method: "ServerStream", contentType: "application/grpc-web+proto" }
] as const

describe("a client that ends its request short once it is answered", () => {
  it.scopedLive.each(cases)("$name: the answer ends its stream before the client's short end can reset it", ({ method, contentType }) =>
    Effect.gen(function*() {
      const server = yield* serve
      for (let round = 0; round < 10; round++) {
        const { frames } = yield* callEndingShort(server.port, `/${TestService.typeName}/${method}`, contentType)
        const last = frames[frames.length - 1]!
        const reset = last.type === F.frameType.rstStream ? last.payload.readUInt32BE(0) : undefined
        expect(reset, `round ${round}: RST_STREAM instead of the end of the answer`).toBeUndefined()
        // The frame that ends the stream carries the answer (or its trailers): no empty DATA
        // frame ends it a moment later, which a loaded server sends late enough to be reset first.
        expect([last.flags & F.flag.endStream, last.payload.byteLength > 0], `round ${round}`).toEqual([F.flag.endStream, true])
        if (contentType === "application/grpc") {
          expect(frames.length, `round ${round}: gRPC's error before any message is trailers-only`).toBe(1)
        }
      }
    }))
})
