/**
 * An HTTP/1.1 server that answers a call before reading its request body (connect-node refuses
 * a bidi stream over HTTP/1.1 with 505) gives the client the error that response says, never
 * the socket error of the body it could not finish writing (`write EPIPE`, a reset).
 */
import { describe, expect, it } from "@effect/vitest"
import { ConnectClient } from "connect-effect"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import { TestService } from "./gen/connecteffect/test/v1/test_pb.js"
import { connectNodeServer } from "./support/servers.js"
import { clientTransports } from "./support/transports.js"

describe.each(clientTransports)("over $name", (transport) => {
  const clientOf = (baseUrl: string) =>
    Effect.flatMap(Layer.build(transport.layer({ baseUrl })), (context) => Effect.provide(ConnectClient.make(TestService), context))

  it.scopedLive("a bidi call connect-node refuses over HTTP/1.1 (505) fails with the code of its status (unknown), never EPIPE", () =>
    Effect.gen(function*() {
      const client = yield* clientOf(yield* connectNodeServer())
      for (let i = 0; i < 30; i++) for (const requests of [
        Stream.make({ text: "big", payload: new Uint8Array(1024 * 1024) }),
        Stream.make({ text: "a" }),
        Stream.repeatValue({ text: "endless", payload: new Uint8Array(64 * 1024) }),
        Stream.concat(Stream.make({ text: "then nothing" }), Stream.never)
      ]) {
        const error = yield* Effect.flip(Stream.runDrain(client.bidiStream(requests)).pipe(Effect.timeout("5 seconds")))
        expect(error._tag).toBe("ConnectError")
        if (error._tag !== "ConnectError") continue
        // The Connect specification maps 505 to unknown (Code.fromHttpStatus).
        expect({ code: error.code, message: error.message }).toEqual({ code: "unknown", message: "HTTP 505" })
      }
    }))
})
