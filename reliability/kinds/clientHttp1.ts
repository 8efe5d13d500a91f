/**
 * Our client against a hostile HTTP/1.1 server: a raw node:net server that answers each call
 * with the bytes of a hostile response (any status, headers, framing that lies or breaks, a
 * body of the wrong shape, then maybe mutated byte by byte), and closes the connection or
 * leaves it open. Every call, over both HTTP/1.1 transports in Connect and gRPC-Web, unary
 * and server streaming, must end with a message or a ConnectError with a code, by its timeout.
 */
import { ConnectClient } from "connect-effect"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import fc from "fast-check"
import { Buffer } from "node:buffer"
import * as Net from "node:net"
import { TestService } from "../../test/gen/connecteffect/test/v1/test_pb.js"
import { clientTransports } from "../../test/support/transports.js"
import { judgeHostileCall } from "../clientCalls.js"
import type { Kind } from "../kind.js"
import { mutated } from "../mutate.js"
import { type HostileResponse, hostileResponse, showResponse } from "../responses.js"

interface Input {
  readonly transport: number
  readonly protocol: "connect" | "grpc-web"
  readonly streaming: boolean
  readonly response: HostileResponse
  readonly framing: "length" | "short" | "long" | "chunked" | "broken-chunks" | "close"
  /** Bytes to send instead of the response's, when mutated. */
  readonly mutation: Uint8Array | undefined
  /** Close the connection after the response, or leave it open (the client's timeout must end the call). */
  readonly close: boolean
}

/** The response's bytes on the wire, framed as `framing` says. */
const wire = (r: HostileResponse, framing: Input["framing"]): Buffer => {
  const head = [`HTTP/1.1 ${r.status} Hostile`, ...r.headers.map(([n, v]) => `${n}: ${v}`)]
  const body = Buffer.from(r.body)
  const length = (n: number) => Buffer.concat([Buffer.from(`${[...head, `content-length: ${n}`].join("\r\n")}\r\n\r\n`, "latin1"), body])
  switch (framing) {
    case "length":
      return length(body.byteLength)
    case "short":
      return length(Math.max(0, body.byteLength - 3))
    case "long":
      return length(body.byteLength + 10)
    case "close":
      return Buffer.concat([Buffer.from(`${[...head, "connection: close"].join("\r\n")}\r\n\r\n`, "latin1"), body])
    case "chunked":
    case "broken-chunks": {
      const size = framing === "chunked" ? body.byteLength.toString(16) : "zz"
      const trailers = r.trailers.map(([n, v]) => `${n}: ${v}\r\n`).join("")
      return Buffer.concat([
        Buffer.from(`${[...head, "transfer-encoding: chunked"].join("\r\n")}\r\n\r\n`, "latin1"),
        ...(body.byteLength > 0 ? [Buffer.from(`${size}\r\n`, "latin1"), body, Buffer.from("\r\n", "latin1")] : []),
        Buffer.from(`0\r\n${trailers}\r\n`, "latin1")
      ])
    }
  }
}

/** The raw server: answers each request with the input registered under its x-fuzz-id. */
const hostileServer = (inputs: Map<string, Input>) =>
  Effect.acquireRelease(
    Effect.async<{ server: Net.Server; sockets: Set<Net.Socket>; port: number }>((resume) => {
      const sockets = new Set<Net.Socket>()
      const server = Net.createServer((socket) => {
        sockets.add(socket)
        socket.on("close", () => sockets.delete(socket))
        socket.on("error", () => {})
        let seen = ""
        const onData = (chunk: Buffer) => {
          seen += chunk.toString("latin1")
          if (!seen.includes("\r\n\r\n")) return
          socket.off("data", onData)
          socket.resume()
          const id = /^x-fuzz-id: *(\S+)/im.exec(seen)?.[1]
          const input = id === undefined ? undefined : inputs.get(id)
          if (input === undefined) return void socket.destroy()
          socket.write(input.mutation ?? wire(input.response, input.framing))
          if (input.close) socket.end()
        }
        socket.on("data", onData)
      })
      server.listen(0, "127.0.0.1", () => resume(Effect.succeed({ server, sockets, port: (server.address() as Net.AddressInfo).port })))
    }),
    ({ server, sockets }) =>
      Effect.sync(() => {
        for (const socket of sockets) socket.destroy()
        server.close()
      })
  )

const inputs: fc.Arbitrary<Input> = fc.record({
  transport: fc.integer({ min: 0, max: clientTransports.length - 1 }),
  protocol: fc.constantFrom("connect" as const, "grpc-web" as const),
  streaming: fc.boolean()
}).chain(({ protocol, streaming, transport }) =>
  hostileResponse(protocol, streaming).chain((response) =>
    fc.record({
      framing: fc.constantFrom("length" as const, "length" as const, "short" as const, "long" as const, "chunked" as const, "broken-chunks" as const, "close" as const),
      mutate: fc.oneof({ weight: 4, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
      close: fc.oneof({ weight: 9, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) })
    }).chain(({ close, framing, mutate }) =>
      (mutate ? mutated(fc.constant(new Uint8Array(wire(response, framing)))) : fc.constant(undefined)).map((mutation): Input => ({
        transport,
        protocol,
        streaming,
        response,
        framing,
        mutation,
        close
      }))
    )
  )
)

interface Env {
  readonly inputs: Map<string, Input>
  readonly clients: ReadonlyArray<Record<Input["protocol"], ConnectClient.Client<typeof TestService>>>
  next: number
}

export const clientHttp1: Kind<Input, Env> = {
  name: "client-h1",
  share: 6,
  about: "our client (both HTTP/1.1 transports, Connect and gRPC-Web, unary and server streaming) against a server answering hostile HTTP/1.1 bytes",
  inputs,
  environment: () =>
    Effect.gen(function*() {
      const registered = new Map<string, Input>()
      const { port } = yield* hostileServer(registered)
      const baseUrl = `http://127.0.0.1:${port}`
      const clients = yield* Effect.forEach(clientTransports, (transport) =>
        Effect.all({
          connect: Effect.flatMap(Layer.build(transport.layer({ baseUrl, readMaxBytes: 64 * 1024 })), (context) => Effect.provide(ConnectClient.make(TestService), context)),
          "grpc-web": Effect.flatMap(
            Layer.build(transport.layer({ baseUrl, readMaxBytes: 64 * 1024, protocol: "grpc-web" })),
            (context) => Effect.provide(ConnectClient.make(TestService), context)
          )
        }))
      return { inputs: registered, clients, next: 0 } satisfies Env
    }),
  run: (env, input) =>
    Effect.suspend(() => {
      const id = String(env.next++)
      env.inputs.set(id, input)
      const client = env.clients[input.transport]![input.protocol]
      return Effect.ensuring(judgeHostileCall(client, input.streaming, { "x-fuzz-id": id }), Effect.sync(() => env.inputs.delete(id)))
    }),
  show: (input) =>
    `${clientTransports[input.transport]!.name} ${input.protocol} ${input.streaming ? "server stream" : "unary"}: ${showResponse(input.response)} framed ${input.framing}${input.mutation === undefined ? "" : " then mutated"}${input.close ? "" : ", left open"}`
}
