/**
 * A client as a browser program would write it: the main entry, `ConnectTransport.layer` on
 * `FetchHttpClient`, gzip from the Compression Streams API. The browser-bundle test bundles this
 * file for `--platform=browser` and runs the bundle.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { Compression, ConnectClient, ConnectTransport } from "connect-effect"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { TestService } from "../gen/connecteffect/test/v1/test_pb.js"

export const callEveryKind = (baseUrl: string) =>
  Effect.gen(function*() {
    const client = yield* ConnectClient.make(TestService)
    const echo = yield* client.echo({ text: "from a browser bundle", payload: new Uint8Array(4096).fill(7) })
    const streamed = yield* Stream.runCollect(client.serverStream({ text: "s", count: 3, size: 2000 }))
    const failure = yield* Effect.flip(client.echo({ text: "nope", failWith: "not_found" }))
    return {
      text: echo.text,
      payloadBytes: echo.payload.byteLength,
      streamed: Chunk.toReadonlyArray(streamed).map((m) => m.payload.byteLength),
      failure: `${failure.code}: ${failure.message}`
    }
  }).pipe(
    Effect.provide(ConnectTransport.layer({ baseUrl, sendCompression: Compression.gzip, compressMinBytes: 0 })),
    Effect.provide(FetchHttpClient.layer),
    Effect.runPromise
  )
