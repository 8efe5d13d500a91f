/**
 * Calls of every kind made from inside Chromium by the browser-cors test, which bundles this
 * file for browsers and loads it into a page of another origin than the servers it calls. Each
 * call's outcome comes back as plain data: a page hands over JSON, not Effects.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { Compression, ConnectClient, type ConnectError, ConnectTransport } from "connect-effect"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { TestService } from "../gen/connecteffect/test/v1/test_pb.js"

type Outcome<A> = { readonly value: A } | { readonly error: string; readonly details: number }

const outcome = <A>(call: Effect.Effect<A, ConnectError.ConnectError>): Effect.Effect<Outcome<A>> =>
  Effect.match(call, {
    onFailure: (e) => ({ error: `${e.code}: ${e.message}`, details: e.details.length }),
    onSuccess: (value) => ({ value })
  })

const clientOf = (baseUrl: string, options: Partial<ConnectTransport.Options> = {}) =>
  ConnectClient.make(TestService).pipe(
    Effect.provide(ConnectTransport.layer({ baseUrl, ...options })),
    Effect.provide(FetchHttpClient.layer)
  )

/** Every kind of call to `baseUrl` in `protocol` (a unary call by GET too, for Connect), each one's outcome. */
export const everyKind = (baseUrl: string, protocol: "connect" | "grpc-web") =>
  Effect.gen(function*() {
    const client = yield* clientOf(baseUrl, { protocol, sendCompression: Compression.gzip, compressMinBytes: 0 })
    const viaGet = yield* clientOf(baseUrl, { protocol, useHttpGet: true, codec: "json" })
    return {
      unary: yield* outcome(Effect.map(
        client.echo.withResponse({ text: "from Chromium", payload: new Uint8Array(4096).fill(7) }, { headers: { "x-test-page": "1" } }),
        (r) => ({
          text: r.message.text,
          payloadBytes: r.message.payload.byteLength,
          seen: r.message.headers,
          header: r.headers["x-test-header"],
          trailer: r.trailers["x-test-trailer"]
        })
      )),
      get: yield* outcome(Effect.map(viaGet.echo({ text: "by GET" }), (r) => r.text)),
      // Large messages: the server gzips them, and says so in a header the page must be let read.
      serverStream: yield* outcome(Effect.scoped(Effect.flatMap(
        client.serverStream.withResponse({ text: "s", count: 3, size: 3000 }),
        (r) =>
          Effect.map(Stream.runCollect(r.messages), (all) => ({
            sizes: Chunk.toReadonlyArray(all).map((m) => m.payload.byteLength),
            encoding: r.headers[protocol === "connect" ? "connect-content-encoding" : "grpc-encoding"]
          }))
      ))),
      failure: yield* outcome(client.echo({ text: "nope", failWith: "not_found" }))
    }
  }).pipe(Effect.runPromise)

/** One unary call to `baseUrl`. */
export const echo = (baseUrl: string) =>
  Effect.runPromise(Effect.flatMap(clientOf(baseUrl), (client) => outcome(Effect.map(client.echo({ text: "hi" }), (r) => r.text))))

/** A client-streaming and a bidi call to `baseUrl`, whose requests are streams. */
export const requestStreams = (baseUrl: string) =>
  Effect.gen(function*() {
    const client = yield* clientOf(baseUrl)
    return {
      clientStream: yield* outcome(Effect.map(client.clientStream([{ text: "a" }, { text: "b" }]), (r) => r.text)),
      bidi: yield* outcome(Effect.map(Stream.runCollect(client.bidiStream([{ text: "a" }, { text: "b" }])), (all) => Chunk.toReadonlyArray(all).map((r) => r.text)))
    }
  }).pipe(Effect.runPromise)
