/**
 * The server-under-test: reads one size-delimited ServerCompatRequest from stdin, serves the
 * ConformanceService with the library's ConnectServer on a free port of 127.0.0.1, writes a
 * size-delimited ServerCompatResponse with that address, then serves until SIGTERM.
 *
 * HTTP/1.1 and HTTP/2 share the port; with `use_tls` it serves TLS with a certificate signed by a
 * CA made at start (sent back as `pem_cert`), and asks for client certificates when the runner
 * sends the CA to check them against.
 *
 * Run by the conformance runner (see run.mjs): `node --conditions=connect-effect-source --import tsx conformance/server.ts`.
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { ConnectServer } from "connect-effect/node"
import { ConformanceService } from "./gen/connectrpc/conformance/v1/service_pb.js"
import {
  type ServerCompatRequest,
  ServerCompatRequestSchema,
  ServerCompatResponseSchema
} from "./gen/connectrpc/conformance/v1/server_compat_pb.js"
import { testCertificates } from "../test/support/tls.js"
import { ConformanceLive } from "./service.js"
import { runMain } from "./runtime.js"
import { readFrames, writeFrame } from "./stdio.js"

/** The server's certificate over TLS: made at start, its CA handed to the runner as `pem_cert`. */
const certificates = testCertificates()

const tlsOf = (request: ServerCompatRequest): ConnectServer.TlsOptions | undefined => {
  if (!request.useTls) return undefined
  const clientCa = new TextDecoder().decode(request.clientTlsCert)
  return {
    cert: certificates.serverCert,
    key: certificates.serverKey,
    ...(clientCa === "" ? {} : { clientCertificates: { ca: clientCa } })
  }
}

const serverLayer = (request: ServerCompatRequest) => {
  const tls = tlsOf(request)
  return ConnectServer.layer({
    services: [ConformanceService],
    host: "127.0.0.1",
    port: 0,
    ...(tls === undefined ? {} : { tls }),
    ...(request.messageReceiveLimit === 0 ? {} : { readMaxBytes: request.messageReceiveLimit })
  }).pipe(Layer.provide(ConformanceLive))
}

const main = Effect.gen(function*() {
  const frame = yield* Effect.flatMap(
    Stream.runHead(readFrames),
    Option.match({ onNone: () => Effect.dieMessage("stdin ended before a ServerCompatRequest"), onSome: Effect.succeed })
  )
  const request = fromBinary(ServerCompatRequestSchema, frame)
  yield* Effect.gen(function*() {
    const server = yield* ConnectServer.ConnectServer
    const pemCert = request.useTls ? new TextEncoder().encode(certificates.ca) : new Uint8Array(0)
    yield* writeFrame(toBinary(ServerCompatResponseSchema, create(ServerCompatResponseSchema, { host: server.host, port: server.port, pemCert })))
    return yield* Effect.never
  }).pipe(Effect.provide(serverLayer(request)))
})

runMain(main)
