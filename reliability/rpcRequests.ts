/**
 * Hostile RPC requests of each protocol, as parts any HTTP version can carry: a method, a path,
 * header fields and a body. Well-formed HTTP, hostile content: content types in odd spellings,
 * bad timeouts and versions, encodings that lie, envelopes with wrong lengths and flags, bombs,
 * and Connect GET query strings. Which rules the answer follows is the server's choice, as it
 * is told by the content type and the route.
 */
import fc from "fast-check"
import { Buffer } from "node:buffer"
import { TestService } from "../test/gen/connecteffect/test/v1/test_pb.js"
import { envelope } from "../test/support/rawHttp.js"
import { anyEncodingName, type Body, bombIn, compress, encoded, jsonBytes, protoBytes, validJson, validProto } from "./bodies.js"

export interface RpcRequest {
  readonly method: string
  /** Path and query. */
  readonly path: string
  readonly headers: ReadonlyArray<readonly [string, string]>
  readonly body: Uint8Array
}

const service = `/${TestService.typeName}`
const unaryPath = `${service}/Echo`
const streamPaths = [`${service}/ServerStream`, `${service}/ClientStream`, `${service}/BidiStream`]

/** Mostly the right route; sometimes another method's, an unknown one, or the right one with a query. */
const pathOf = (right: fc.Arbitrary<string>) =>
  fc.oneof(
    { weight: 8, arbitrary: right },
    { weight: 1, arbitrary: fc.constantFrom(unaryPath, ...streamPaths) },
    { weight: 1, arbitrary: fc.constantFrom(`${service}/Nope`, "/nope.v1.Nope/Echo", "/", `${unaryPath}/extra`, "/%ff%00", `${unaryPath}?x=1`) }
  )

/** Extra header fields a peer may add: harmless, repeated, or the protocol's own with bad values. */
const extraHeaders = fc.array(
  fc.oneof(
    fc.tuple(fc.constantFrom("x-test-a", "accept-encoding", "user-agent", "te", "grpc-accept-encoding"), fc.constantFrom("gzip", "", "trailers", "*", "br, gzip")),
    fc.tuple(fc.constantFrom("connect-protocol-version", "connect-timeout-ms", "grpc-timeout"), fc.constantFrom("1", "2", "", "-1", "99999999999", "1S", "1.5")),
    fc.tuple(fc.stringMatching(/^x-[a-z0-9-]{1,20}$/), fc.stringMatching(/^[\x20-\x7e]{0,40}$/))
  ),
  { maxLength: 3 }
)

const optional = <A>(arb: fc.Arbitrary<A>) => fc.option(arb, { nil: undefined })

const field = (name: string, value: string | undefined): ReadonlyArray<readonly [string, string]> =>
  value === undefined ? [] : [[name, value]]

/** A Connect timeout: digits (up to 10 allowed), too many digits, or not a number. */
const connectTimeout = fc.oneof(fc.stringMatching(/^[0-9]{1,11}$/), fc.constantFrom("", "x", "-1", "1.5", " 5", "0"))

/** A gRPC timeout: 1-8 digits and a unit, or something else. */
const grpcTimeout = fc.oneof(
  fc.tuple(fc.stringMatching(/^[0-9]{1,9}$/), fc.constantFrom("H", "M", "S", "m", "u", "n")).map(([n, u]) => n + u),
  fc.constantFrom("", "1", "1x", "-1S", "1.5S", "S")
)

// ---- Envelopes (Connect streaming, gRPC, gRPC-Web) ----

interface EnvelopeSpec {
  readonly flags: number
  readonly data: Uint8Array
  /** The length prefix written, when it lies. */
  readonly declared: number | undefined
}

/**
 * One envelope around `message`: plain, compressed in `encoding` (flag 1), a bomb, flags
 * that mean something else (end-stream, gRPC-Web's trailers) or nothing, and lengths that
 * lie (short, long, past any limit).
 */
const envelopeOf = (message: fc.Arbitrary<Uint8Array>, encoding: string | undefined): fc.Arbitrary<EnvelopeSpec> =>
  fc.oneof(
    { weight: 6, arbitrary: message.map((data) => ({ flags: 0, data, declared: undefined })) },
    { weight: 2, arbitrary: message.map((data) => ({ flags: 1, data: compress(encoding, data), declared: undefined })) },
    { weight: 1, arbitrary: fc.constant({ flags: 1, data: bombIn(encoding), declared: undefined }) },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom(2, 3, 0x80, 0x81, 0x04, 0xff), message).map(([flags, data]) => ({ flags, data, declared: undefined })) },
    {
      weight: 1,
      arbitrary: fc.tuple(message, fc.oneof(fc.integer({ min: 0, max: 64 }), fc.constantFrom(4 * 2 ** 20 + 1, 2 ** 32 - 1)))
        .map(([data, declared]) => ({ flags: 0, data, declared }))
    }
  )

/**
 * A body of up to four envelopes, possibly cut short or followed by a few stray bytes, and the
 * encoding header sent with it (the one the envelopes use, another, or none).
 */
const envelopes = (message: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Body> =>
  fc.oneof(fc.constant(undefined), fc.constantFrom("gzip", "br"), anyEncodingName).chain((encoding) =>
    fc.record({
      list: fc.array(envelopeOf(message, encoding), { minLength: 0, maxLength: 4 }),
      end: fc.oneof({ weight: 8, arbitrary: fc.constant("whole" as const) }, { weight: 1, arbitrary: fc.constant("cut" as const) }, {
        weight: 1,
        arbitrary: fc.constant("stray" as const)
      }),
      cutAt: fc.nat()
    }).map(({ cutAt, end, list }): Body => {
      const bytes = Buffer.concat(list.map((e) => envelope(e.flags, e.data, e.declared ?? e.data.byteLength)))
      if (end === "cut" && bytes.byteLength > 0) return { bytes: bytes.subarray(0, cutAt % bytes.byteLength), encoding }
      if (end === "stray") return { bytes: Buffer.concat([bytes, Buffer.from([0, 0, 0])]), encoding }
      return { bytes, encoding }
    })
  )

/** A message of the codec, valid more often than not. */
const messageOf = (codec: "proto" | "json") =>
  codec === "proto"
    ? fc.oneof({ weight: 3, arbitrary: validProto }, { weight: 2, arbitrary: protoBytes })
    : fc.oneof({ weight: 3, arbitrary: validJson }, { weight: 2, arbitrary: jsonBytes })

// ---- Connect unary and streaming POSTs ----

type Codec = "proto" | "json"

const unaryTypes: ReadonlyArray<readonly [string, Codec]> = [
  ["application/proto", "proto"],
  ["application/json", "json"],
  ["application/json; charset=utf-8", "json"],
  ["APPLICATION/PROTO", "proto"],
  ["application/proto; x=y", "proto"],
  ["application/connect+proto", "proto"],
  ["text/plain", "json"],
  ["application/x-protobuf", "proto"],
  ["", "proto"]
]

const streamTypes: ReadonlyArray<readonly [string, Codec]> = [
  ["application/connect+proto", "proto"],
  ["application/connect+json", "json"],
  ["application/connect+json; charset=utf-8", "json"],
  ["APPLICATION/CONNECT+PROTO", "proto"],
  ["application/connect+xml", "proto"],
  ["application/proto", "proto"]
]

/**
 * A Connect POST: unary (the message as the body, Content-Encoding) or streaming (envelopes,
 * Connect-Content-Encoding), with the content type, protocol version and timeout in any state.
 */
const connectPost = (streaming: boolean): fc.Arbitrary<RpcRequest> =>
  fc.constantFrom(...(streaming ? streamTypes : unaryTypes)).chain(([type, codec]) =>
    fc.record({
      path: pathOf(streaming ? fc.constantFrom(...streamPaths) : fc.constant(unaryPath)),
      method: streaming ? fc.constant("POST") : fc.oneof({ weight: 9, arbitrary: fc.constant("POST") }, { weight: 1, arbitrary: fc.constantFrom("PUT", "DELETE", "PATCH") }),
      body: streaming ? envelopes(messageOf(codec)) : encoded(codec === "proto" ? protoBytes : jsonBytes),
      version: optional(fc.constantFrom("1", "1", "1", "2", "")),
      timeout: optional(connectTimeout),
      extra: extraHeaders
    }).map((r): RpcRequest => ({
      method: r.method,
      path: r.path,
      headers: [
        ...field("content-type", type === "" ? undefined : type),
        ...field("connect-protocol-version", r.version),
        ...field("connect-timeout-ms", r.timeout),
        ...field(streaming ? "connect-content-encoding" : "content-encoding", r.body.encoding),
        ...r.extra
      ],
      body: r.body.bytes
    }))
  )

// ---- Connect GET ----

const base64url = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64url")

/** A `message` parameter: base64url (padded or not) of a body, percent-encoded JSON, or garbage. */
const messageParam = fc.oneof(
  encoded(protoBytes).map((b) => ({ value: base64url(b.bytes), encoding: b.encoding, base64: "1" as string | undefined })),
  validJson.map((b) => ({ value: encodeURIComponent(Buffer.from(b).toString()), encoding: undefined, base64: undefined })),
  validProto.map((b) => ({ value: encodeURIComponent(Buffer.from(b).toString("base64")), encoding: undefined, base64: "1" })),
  fc.stringMatching(/^[A-Za-z0-9%_\-=+/]{0,40}$/).map((value) => ({ value, encoding: undefined, base64: "1" }))
)

const connectGet: fc.Arbitrary<RpcRequest> = fc.record({
  path: pathOf(fc.constant(unaryPath)),
  message: optional(messageParam),
  codec: optional(fc.constantFrom("proto", "json", "xml", "")),
  base64: optional(fc.constantFrom("1", "0", "true", "")),
  compression: optional(fc.oneof(fc.constantFrom("gzip", "br", "identity"), anyEncodingName)),
  connect: optional(fc.constantFrom("v1", "v1", "v2", "")),
  extra: fc.array(fc.constantFrom("message=", "encoding=proto", "x=%zz", "connect=v1", "&&", "base64"), { maxLength: 2 })
}).map((r): RpcRequest => {
  const params = [
    ...(r.message === undefined ? [] : [`message=${r.message.value}`]),
    ...(r.codec === undefined ? [] : [`encoding=${r.codec}`]),
    ...(r.base64 ?? r.message?.base64) === undefined ? [] : [`base64=${r.base64 ?? r.message?.base64}`],
    ...(r.compression ?? r.message?.encoding) === undefined ? [] : [`compression=${encodeURIComponent(r.compression ?? r.message!.encoding!)}`],
    ...(r.connect === undefined ? [] : [`connect=${r.connect}`]),
    ...r.extra
  ]
  return { method: "GET", path: `${r.path.split("?")[0]}?${params.join("&")}`, headers: [], body: new Uint8Array(0) }
})

// ---- gRPC and gRPC-Web ----

const grpcTypes: Record<"web" | "grpc", ReadonlyArray<readonly [string, Codec]>> = {
  web: [["application/grpc-web", "proto"], ["application/grpc-web+proto", "proto"], ["application/grpc-web+json", "json"], ["application/GRPC-WEB", "proto"], [
    "application/grpc-web-text",
    "proto"
  ]],
  grpc: [["application/grpc", "proto"], ["application/grpc+proto", "proto"], ["application/grpc+json", "json"], ["application/GRPC", "proto"], [
    "application/grpc+xml",
    "proto"
  ]]
}

const grpcLike = (web: boolean): fc.Arbitrary<RpcRequest> =>
  fc.constantFrom(...grpcTypes[web ? "web" : "grpc"]).chain(([type, codec]) =>
    fc.record({
      path: pathOf(fc.constantFrom(unaryPath, ...streamPaths)),
      body: envelopes(messageOf(codec)),
      timeout: optional(grpcTimeout),
      te: optional(fc.constantFrom("trailers", "gzip", "")),
      extra: extraHeaders
    }).map((r): RpcRequest => ({
      method: "POST",
      path: r.path,
      headers: [
        ["content-type", type],
        ...field("grpc-timeout", r.timeout),
        ...field("grpc-encoding", r.body.encoding),
        ...field("te", web ? undefined : r.te),
        ...r.extra
      ],
      body: r.body.bytes
    }))
  )

/** Requests every HTTP version carries (gRPC needs HTTP/2: see `rpcOverHttp2`). */
export const connectRequests = fc.oneof(connectPost(false), connectPost(true), connectGet)
export const grpcWebRequests = grpcLike(true)
/** Everything, gRPC included, for HTTP/2. */
export const rpcOverHttp2 = fc.oneof(connectPost(false), connectPost(true), connectGet, grpcLike(true), grpcLike(false))

/**
 * Whether the server serves `request` as a stream: it goes by the route's method (Echo is the
 * unary one; the others stream), whatever the request's content type says.
 */
export const isStreamingRoute = (request: RpcRequest) => request.method !== "GET" && request.path.split("?")[0] !== unaryPath

/** The request, briefly: method, path, header fields, and the body's size and first bytes. */
export const showRpc = (r: RpcRequest) =>
  `${r.method} ${r.path.slice(0, 120)} ${JSON.stringify(r.headers)} body ${r.body.byteLength} bytes ${Buffer.from(r.body.subarray(0, 32)).toString("hex")}`
