/**
 * Hostile responses for the client fuzzers, as parts: a status, header fields, a body and
 * trailers, in each protocol's shape or just off it (content types, encodings that lie, bombs,
 * envelopes with wrong lengths and flags, end-stream messages and gRPC trailers that are
 * invalid, missing or early), then carried by HTTP/1.1 bytes or by node:http2.
 */
import { create, toBinary } from "@bufbuild/protobuf"
import { Code } from "connect-effect"
import fc from "fast-check"
import { Buffer } from "node:buffer"
import { EchoResponseSchema } from "../test/gen/connecteffect/test/v1/test_pb.js"
import { envelope } from "../test/support/rawHttp.js"
import { anyEncodingName, bombIn, compress } from "./bodies.js"
import { mutated } from "./mutate.js"

export type Protocol = "connect" | "grpc" | "grpc-web"

export interface HostileResponse {
  readonly status: number
  readonly headers: ReadonlyArray<readonly [string, string]>
  readonly body: Uint8Array
  /** HTTP trailers (gRPC's home for its status; HTTP/1.1 sends them after a chunked body). */
  readonly trailers: ReadonlyArray<readonly [string, string]>
}

const enc = new TextEncoder()

const message = fc.oneof(
  { weight: 4, arbitrary: fc.string({ maxLength: 16 }).map((text) => toBinary(EchoResponseSchema, create(EchoResponseSchema, { text }))) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 32 }) }
)

const code = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...Code.all) }, { weight: 1, arbitrary: fc.constantFrom("nope", "", "OK", "0") })

const jsonError = fc.oneof(
  fc.record({ code, message: fc.string({ maxLength: 16 }) }).map((e) => enc.encode(JSON.stringify(e))),
  fc.record({ code, details: fc.array(fc.record({ type: fc.string({ maxLength: 8 }), value: fc.string({ maxLength: 8 }) }), { maxLength: 2 }) })
    .map((e) => enc.encode(JSON.stringify(e))),
  fc.json({ maxDepth: 2 }).map((j) => enc.encode(j))
)

/** A Connect end-stream message: success, an error, metadata, or not JSON at all. */
const endStream = fc.oneof(
  fc.constant(enc.encode("{}")),
  fc.record({ error: fc.record({ code, message: fc.string({ maxLength: 8 }) }) }).map((e) => enc.encode(JSON.stringify(e))),
  fc.record({ metadata: fc.dictionary(fc.string({ maxLength: 6 }), fc.array(fc.string({ maxLength: 6 }), { maxLength: 2 })) }).map((e) => enc.encode(JSON.stringify(e))),
  fc.json({ maxDepth: 2 }).map((j) => enc.encode(j)),
  fc.uint8Array({ maxLength: 16 })
)

/** A gRPC status line set: a known status, an unknown one, none, or garbage. */
const grpcStatus = fc.oneof(
  { weight: 5, arbitrary: fc.integer({ min: 0, max: 16 }).map((n) => [["grpc-status", String(n)], ["grpc-message", "m%20x"]] as ReadonlyArray<readonly [string, string]>) },
  { weight: 1, arbitrary: fc.constantFrom<ReadonlyArray<readonly [string, string]>>([["grpc-status", "17"]], [["grpc-status", "x"]], [["grpc-status", ""]], [], [["grpc-message", "%zz"]]) }
)

/** Envelopes: messages (some compressed, some bombs), flags and lengths that lie, the end marker of `protocol`. */
const envelopes = (protocol: Protocol, encoding: string | undefined) =>
  fc.record({
    messages: fc.array(
      fc.oneof(
        { weight: 5, arbitrary: message.map((m) => envelope(0, m)) },
        { weight: 1, arbitrary: message.map((m) => envelope(1, compress(encoding, m))) },
        { weight: 1, arbitrary: fc.constant(envelope(1, bombIn(encoding))) },
        { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 0, max: 255 }), message).map(([flags, m]) => envelope(flags, m)) },
        { weight: 1, arbitrary: fc.tuple(message, fc.constantFrom(0, 3, 100, 2 ** 32 - 1)).map(([m, declared]) => envelope(0, m, declared)) }
      ),
      { maxLength: 3 }
    ),
    end: fc.oneof(
      { weight: 5, arbitrary: protocol === "connect" ? endStream.map((e) => envelope(2, e)) : grpcStatus.map((t) => envelope(0x80, enc.encode(t.map(([n, v]) => `${n}: ${v}\r\n`).join("")))) },
      { weight: 1, arbitrary: fc.constant(new Uint8Array(0)) }
    ),
    after: fc.oneof({ weight: 5, arbitrary: fc.constant(new Uint8Array(0)) }, { weight: 1, arbitrary: message.map((m) => envelope(0, m)) })
  }).map((r) => Buffer.concat([...r.messages, r.end, r.after]))

const contentTypes: Record<Protocol, ReadonlyArray<string>> = {
  connect: ["application/proto", "application/connect+proto", "application/json", "application/connect+json", "text/html"],
  grpc: ["application/grpc", "application/grpc+proto", "application/grpc+json", "text/html", "application/grpc-web"],
  "grpc-web": ["application/grpc-web+proto", "application/grpc-web", "application/grpc+proto", "text/html", "application/grpc-web-text"]
}

/** A response to a call of `protocol` (unary or streaming, which share a shape but for Connect). */
export const hostileResponse = (protocol: Protocol, streaming: boolean): fc.Arbitrary<HostileResponse> =>
  fc.record({
    status: fc.oneof({ weight: 8, arbitrary: fc.constant(200) }, { weight: 2, arbitrary: fc.constantFrom(204, 301, 400, 404, 408, 429, 431, 500, 502, 503, 504) }),
    type: fc.oneof(
      { weight: 6, arbitrary: fc.constant(contentTypes[protocol][protocol === "connect" && streaming ? 1 : 0]!) },
      { weight: 2, arbitrary: fc.constantFrom(...contentTypes[protocol]) },
      { weight: 1, arbitrary: fc.constant(undefined) }
    ),
    encoding: fc.oneof({ weight: 4, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constantFrom("gzip", "br") }, { weight: 1, arbitrary: anyEncodingName })
  }).chain(({ encoding, status, type }) =>
    fc.record({
      body: protocol === "connect" && !streaming
        ? fc.oneof(message.map((m) => (encoding === undefined ? m : compress(encoding, m))), jsonError, fc.constant(bombIn(encoding)), fc.uint8Array({ maxLength: 32 }))
        : fc.oneof({ weight: 4, arbitrary: envelopes(protocol, encoding) }, { weight: 1, arbitrary: jsonError }, { weight: 1, arbitrary: mutated(envelopes(protocol, encoding)) }),
      statusHeaders: protocol === "connect" ? fc.constant([]) : fc.oneof(fc.constant([]), grpcStatus),
      trailers: protocol === "grpc" ? grpcStatus : fc.oneof({ weight: 4, arbitrary: fc.constant([]) }, { weight: 1, arbitrary: grpcStatus }),
      extra: fc.array(fc.tuple(fc.constantFrom("x-a", "trailer-x", "grpc-status-details-bin", "connect-content-encoding"), fc.constantFrom("1", "gzip", "%%", "")), { maxLength: 2 })
    }).map(({ body, extra, statusHeaders, trailers }): HostileResponse => ({
      status,
      headers: [
        ...(type === undefined ? [] : [["content-type", type] as const]),
        ...(encoding === undefined ? [] : [[protocol === "connect" ? (streaming ? "connect-content-encoding" : "content-encoding") : "grpc-encoding", encoding] as const]),
        ...statusHeaders,
        ...extra
      ],
      body,
      trailers
    }))
  )

export const showResponse = (r: HostileResponse) =>
  `${r.status} ${JSON.stringify(r.headers)} body ${r.body.byteLength} bytes ${Buffer.from(r.body.subarray(0, 24)).toString("hex")} trailers ${JSON.stringify(r.trailers)}`
