/**
 * Request messages that are ready together go out together: a chunk of a request Stream is one
 * write (one HTTP/1.1 chunk), not a write per message. Besides the syscalls, this matters to
 * servers that answer after the first message: Go's HTTP/1.1 server closes the rest of a request
 * body once it writes its response headers (grpc-go's gRPC-Web server did so to the conformance
 * suite's half-duplex calls, whose second message came a millisecond after the first).
 */
import { create } from "@bufbuild/protobuf"
import { NodeHttpClient } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { ConnectClient, ConnectTransport, type Transport } from "connect-effect"
import { NodeTransport } from "connect-effect/node"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import * as Net from "node:net"
import { EchoRequestSchema, TestService } from "./gen/connecteffect/test/v1/test_pb.js"

/**
 * A server that reads one request, answers 500, and reports the sizes of its body's chunks (a
 * body of declared length, which a client may send when it has it whole, is one).
 */
const chunkRecorder = Effect.acquireRelease(
  Effect.async<{ readonly port: number; readonly chunks: Promise<ReadonlyArray<number>>; readonly server: Net.Server }>((resume) => {
    let report: (sizes: ReadonlyArray<number>) => void = () => {}
    const chunks = new Promise<ReadonlyArray<number>>((resolve) => report = resolve)
    const server = Net.createServer((socket) => {
      let text = ""
      socket.on("data", (bytes: Buffer) => {
        text += bytes.toString("latin1")
        const bodyAt = text.indexOf("\r\n\r\n") + 4
        if (bodyAt < 4) return
        const length = /\r\ncontent-length: (\d+)\r\n/i.exec(text.slice(0, bodyAt))
        if (length !== null ? text.length < bodyAt + Number(length[1]) : !text.endsWith("\r\n0\r\n\r\n")) return
        const sizes: Array<number> = length === null ? [] : [Number(length[1])]
        for (let at = bodyAt; length === null;) {
          const lineEnd = text.indexOf("\r\n", at)
          const size = parseInt(text.slice(at, lineEnd), 16)
          if (size === 0) break
          sizes.push(size)
          at = lineEnd + 2 + size + 2
        }
        report(sizes)
        socket.end("HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
      })
      socket.on("error", () => {})
    })
    server.listen(0, "127.0.0.1", () => resume(Effect.succeed({ port: (server.address() as Net.AddressInfo).port, chunks, server })))
  }),
  ({ server }) => Effect.sync(() => server.close())
)

const transports: ReadonlyArray<{ readonly name: string; readonly layer: (baseUrl: string) => Layer.Layer<Transport.Transport> }> = [
  { name: "Connect on node:http", layer: (baseUrl) => ConnectTransport.layer({ baseUrl }).pipe(Layer.provide(NodeHttpClient.layer)) },
  {
    name: "gRPC-Web on node:http",
    layer: (baseUrl) => ConnectTransport.layer({ baseUrl, protocol: "grpc-web" }).pipe(Layer.provide(NodeHttpClient.layer))
  },
  { name: "Connect on undici", layer: (baseUrl) => NodeTransport.layerUndici({ baseUrl }) }
]

describe("a request stream's chunk is one write", () => {
  it.scopedLive.each(transports)("$name: three messages in one chunk, one HTTP/1.1 chunk of three envelopes", ({ layer }) =>
    Effect.gen(function*() {
      const server = yield* chunkRecorder
      const texts = ["one", "two", "three"]
      const requests = Stream.fromIterable(texts.map((text) => create(EchoRequestSchema, { text })))
      yield* Effect.either(
        Effect.flatMap(ConnectClient.make(TestService), (client) => client.clientStream(requests)).pipe(
          Effect.provide(layer(`http://127.0.0.1:${server.port}`))
        )
      )
      const sizes = yield* Effect.promise(() => server.chunks)
      // Each envelope: 5 bytes of prefix, then the field's tag, length and text.
      expect(sizes).toEqual([texts.reduce((size, text) => size + 5 + 2 + text.length, 0)])
    }))
})
