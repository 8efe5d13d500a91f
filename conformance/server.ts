/**
 * The server-under-test: reads one size-delimited ServerCompatRequest from stdin, serves the
 * ConformanceService with the library's ConnectServer on a free port of 127.0.0.1, writes a
 * size-delimited ServerCompatResponse with that address, then serves until SIGTERM.
 *
 * Run by the conformance runner (see run.mjs): `node --conditions=connect-effect-source --import tsx conformance/server.ts`.
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { ConnectServer } from "connect-effect"
import { HTTPVersion, Protocol } from "./gen/connectrpc/conformance/v1/config_pb.js"
import { ConformanceService } from "./gen/connectrpc/conformance/v1/service_pb.js"
import {
  type ServerCompatRequest,
  ServerCompatRequestSchema,
  ServerCompatResponseSchema
} from "./gen/connectrpc/conformance/v1/server_compat_pb.js"
import { ConformanceLive } from "./service.js"
import { runMain } from "./runtime.js"
import { readFrames, writeFrame } from "./stdio.js"

const serverLayer = (request: ServerCompatRequest) =>
  ConnectServer.layer({
    services: [ConformanceService],
    host: "127.0.0.1",
    port: 0,
    ...(request.messageReceiveLimit === 0 ? {} : { readMaxBytes: request.messageReceiveLimit })
  }).pipe(Layer.provide(ConformanceLive))

const checkSupported = (request: ServerCompatRequest) =>
  request.protocol !== Protocol.CONNECT || request.httpVersion !== HTTPVersion.HTTP_VERSION_1 || request.useTls
    ? Effect.dieMessage(
      `unsupported server configuration: ${Protocol[request.protocol]}, ${HTTPVersion[request.httpVersion]}, TLS ${request.useTls}`
    )
    : Effect.void

const main = Effect.gen(function*() {
  const frame = yield* Effect.flatMap(
    Stream.runHead(readFrames),
    Option.match({ onNone: () => Effect.dieMessage("stdin ended before a ServerCompatRequest"), onSome: Effect.succeed })
  )
  const request = fromBinary(ServerCompatRequestSchema, frame)
  yield* checkSupported(request)
  yield* Effect.gen(function*() {
    const server = yield* ConnectServer.ConnectServer
    yield* writeFrame(toBinary(ServerCompatResponseSchema, create(ServerCompatResponseSchema, { host: server.host, port: server.port })))
    return yield* Effect.never
  }).pipe(Effect.provide(serverLayer(request)))
})

runMain(main)
