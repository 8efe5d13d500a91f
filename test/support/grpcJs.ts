/**
 * TestService on @grpc/grpc-js (the gRPC library most Node programs use), with the behaviour of
 * test/support/testService.ts, and a grpc-js client of any server: both built from the service
 * descriptor (grpcJsDefinition.ts), so that no generated grpc-js code is needed.
 */
import * as Grpc from "@grpc/grpc-js"
import { Code } from "connect-effect"
import * as Effect from "effect/Effect"
import { type EchoRequest, TestService } from "../gen/connecteffect/test/v1/test_pb.js"
import { payloadOf } from "./bytes.js"
import { grpcJsDefinition } from "./grpcJsDefinition.js"

/** TestService's methods as a grpc-js service definition. */
export const testServiceDefinition = grpcJsDefinition(TestService)

const testHeaders = (metadata: Grpc.Metadata) =>
  Object.entries(metadata.getMap()).filter(([name]) => name.startsWith("x-test")).map(([n, v]) => `${n}: ${String(v)}`).sort()

const failure = (code: string, text: string): Grpc.ServiceError => {
  const error = new Error(`failed: ${text}`) as Grpc.ServiceError
  error.code = Code.isCode(code) ? Code.toNumber(code) : Grpc.status.INTERNAL
  error.details = `failed: ${text}`
  error.metadata = new Grpc.Metadata()
  error.metadata.set("x-test-trailer", "done")
  return error
}

/** What every kind of grpc-js server call has. */
type AnyCall = Pick<Grpc.ServerUnaryCall<unknown, unknown>, "metadata" | "sendMetadata">

const withMetadata = (call: AnyCall, text: string) => {
  const headers = new Grpc.Metadata()
  // grpc-js refuses non-ASCII metadata values.
  headers.set("x-test-header", /^[\x20-\x7e]*$/.test(text) ? text : encodeURIComponent(text))
  call.sendMetadata(headers)
}

const trailers = () => {
  const t = new Grpc.Metadata()
  t.set("x-test-trailer", "done")
  return t
}

const later = (ms: number, f: () => void) => (ms > 0 ? setTimeout(f, ms) : f())

/** Calls each handler saw cancelled (the client went away or its deadline passed). */
export interface GrpcJsServer {
  readonly url: string
  readonly cancelled: () => number
}

/** TestService on a grpc-js server (h2c) on a free port, shut down with the Scope. */
export const grpcJsServer = (options: Grpc.ServerOptions = {}) =>
  Effect.acquireRelease(
    Effect.async<{ server: Grpc.Server; info: GrpcJsServer }>((resume) => {
      let cancelled = 0
      const server = new Grpc.Server(options)
      const echo = (request: EchoRequest, call: AnyCall) => ({
        text: request.text,
        payload: request.payload,
        headers: testHeaders(call.metadata)
      })
      server.addService(testServiceDefinition, {
        echo: (call: Grpc.ServerUnaryCall<EchoRequest, unknown>, callback: Grpc.sendUnaryData<unknown>) => {
          call.on("cancelled", () => cancelled++)
          withMetadata(call, call.request.text)
          later(call.request.delayMs, () =>
            call.request.failWith === ""
              ? callback(null, echo(call.request, call), trailers())
              : callback(failure(call.request.failWith, call.request.text)))
        },
        serverStream: (call: Grpc.ServerWritableStream<any, unknown>) => {
          call.on("cancelled", () => cancelled++)
          withMetadata(call, call.request.text)
          const { text, count, size, failWith, delayMs } = call.request
          let i = 0
          const next = () => {
            if (call.cancelled) return
            if (i < count) {
              call.write({ text: `${text} ${i}`, payload: payloadOf(size, i) })
              i++
              return later(delayMs, next)
            }
            if (failWith !== "") return call.emit("error", failure(failWith, text))
            call.end(trailers())
          }
          later(delayMs, next)
        },
        clientStream: (call: Grpc.ServerReadableStream<EchoRequest, unknown>, callback: Grpc.sendUnaryData<unknown>) => {
          call.on("cancelled", () => cancelled++)
          const list: Array<EchoRequest> = []
          call.on("data", (r: EchoRequest) => list.push(r))
          call.on("end", () => {
            const text = list.map((r) => r.text).join(",")
            withMetadata(call, text)
            const last = list[list.length - 1]
            if (last !== undefined && last.failWith !== "") return callback(failure(last.failWith, text))
            callback(null, { text, payload: new Uint8Array(0), headers: testHeaders(call.metadata) }, trailers())
          })
        },
        bidiStream: (call: Grpc.ServerDuplexStream<EchoRequest, unknown>) => {
          call.on("cancelled", () => cancelled++)
          let first = true
          call.on("data", (r: EchoRequest) => {
            if (first) withMetadata(call, r.text)
            first = false
            if (r.failWith !== "") return call.emit("error", failure(r.failWith, r.text))
            call.write(echo(r, call))
          })
          call.on("end", () => call.end(trailers()))
        }
      })
      server.bindAsync("127.0.0.1:0", Grpc.ServerCredentials.createInsecure(), (error, port) => {
        if (error !== null) return resume(Effect.die(error))
        resume(Effect.succeed({ server, info: { url: `http://127.0.0.1:${port}`, cancelled: () => cancelled } }))
      })
    }),
    ({ server }) => Effect.sync(() => server.forceShutdown())
  ).pipe(Effect.map(({ info }) => info))

/** A grpc-js client of TestService at `url` (h2c), closed with the Scope. */
export const grpcJsClient = (url: string, options: Grpc.ClientOptions = {}) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const Client = Grpc.makeGenericClientConstructor(testServiceDefinition as Grpc.ServiceDefinition<any>, "TestService")
      return new Client(new URL(url).host, Grpc.credentials.createInsecure(), options) as unknown as Grpc.Client & Record<string, any>
    }),
    (client) => Effect.sync(() => client.close())
  )
