/**
 * A response the server writes faster than the socket takes it is still ended. On Node 24 a
 * corked node:http response whose write asked for a "drain" may never emit it
 * (nodejs/node#60432): a bidi stream echoing a 200 KiB message hung there with its end unsent.
 */
import { create, toBinary } from "@bufbuild/protobuf"
import { expect, it } from "@effect/vitest"
import { ConnectServer } from "connect-effect/node"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { EchoRequestSchema, TestService } from "./gen/connecteffect/test/v1/test_pb.js"
import { chunkedMessage, sendWire } from "./support/chunkedWire.js"
import { envelope, parseStreamBody } from "./support/rawHttp.js"
import { ourServer } from "./support/servers.js"

const head = `POST /${TestService.typeName}/BidiStream HTTP/1.1\r\nHost: test\r\nConnection: close\r\n` +
  "Content-Type: application/connect+proto\r\nConnect-Protocol-Version: 1"

it.scoped("a bidi stream echoing a 200 KiB message ends its response", () =>
  Effect.gen(function*() {
    const context = yield* Layer.build(ourServer())
    const { port } = context.unsafeMap.get(ConnectServer.ConnectServer.key) as ConnectServer.ConnectServer["Type"]
    const body = envelope(0, toBinary(EchoRequestSchema, create(EchoRequestSchema, { payload: new Uint8Array(200 * 1024).fill(7) })))
    // Unfixed, the response never ends and the test times out.
    const response = yield* Effect.promise(() => sendWire(port, chunkedMessage(head, body, 64 * 1024)))
    const parsed = parseStreamBody(response.body)
    expect(parsed.messages).toHaveLength(1)
    expect(parsed.end.error).toBeUndefined()
  }))
