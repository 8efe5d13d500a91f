/**
 * HTTP/1.1 itself, hostile: request lines with odd methods, targets and versions; header lines
 * with bad names, control characters, folding, huge or many values; bodies framed by lying or
 * conflicting lengths and chunkings; requests hidden in bodies behind ambiguous framing; and
 * all of that mutated byte by byte. The server (node:http, then ours) must answer with HTTP or
 * close, never hang once the peer is done, and never read one request as two.
 */
import * as Effect from "effect/Effect"
import fc from "fast-check"
import { Buffer } from "node:buffer"
import { TestService } from "../../test/gen/connecteffect/test/v1/test_pb.js"
import { validProto } from "../bodies.js"
import { serializeRequest, type WireRequest } from "../http1Wire.js"
import type { Kind } from "../kind.js"
import type { Answer, Judgement } from "../oracles.js"
import { mutated } from "../mutate.js"
import { exchangeOne } from "./http1Exchange.js"

const echoPath = `/${TestService.typeName}/Echo`

const method = fc.oneof(
  { weight: 6, arbitrary: fc.constant("POST") },
  { weight: 2, arbitrary: fc.constantFrom("GET", "PUT", "HEAD", "OPTIONS", "DELETE", "CONNECT", "TRACE", "PRI", "PATCH") },
  { weight: 1, arbitrary: fc.constantFrom("post", "G ET", "", "POST\0", "P\u00d3ST", "POST\t") },
  { weight: 1, arbitrary: fc.stringMatching(/^[A-Z]{1,12}$/) }
)

const target = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(echoPath, `/${TestService.typeName}/ClientStream`) },
  { weight: 2, arbitrary: fc.constantFrom("*", "/", "//", `http://127.0.0.1${echoPath}`, "/../../etc/passwd", "/%2e%2e/%00", `${echoPath}#x`, `${echoPath}?a=%zz`) },
  { weight: 1, arbitrary: fc.integer({ min: 8 * 1024, max: 80 * 1024 }).map((n) => `/${"a".repeat(n)}`) },
  { weight: 1, arbitrary: fc.stringMatching(/^\/[\x20-\x7e]{0,80}$/) }
)

const version = fc.oneof(
  { weight: 8, arbitrary: fc.constant("HTTP/1.1") },
  { weight: 2, arbitrary: fc.constantFrom("HTTP/1.0", "HTTP/2.0", "HTTP/1.2", "HTTP/0.9", "http/1.1", "HTTP/1.1 x", "", "HTTP/11") }
)

/** Header lines: the protocol's own, and lines no parser should take. */
const headerLine: fc.Arbitrary<readonly [string, string]> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(["Content-Type", "application/proto"], ["Connect-Protocol-Version", "1"], ["Host", "127.0.0.1"], ["Expect", "100-continue"]) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom("X-A", "Content-Type", "Host", "Connection"), fc.constantFrom("a\rb", "a\nb", "a\0b", "\u00ff", " leading", "close, upgrade", "keep-alive")) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom("X Y", "", ":", "X-A:", "X\u00e9", "\tX", "X-A\r\n X-B"), fc.constant("1")) },
  { weight: 1, arbitrary: fc.tuple(fc.constant("X-Folded"), fc.constant("a\r\n continued")) },
  { weight: 1, arbitrary: fc.integer({ min: 1024, max: 40 * 1024 }).map((n) => ["X-Big", "b".repeat(n)] as const) }
)

const headerLines = fc.oneof(
  { weight: 9, arbitrary: fc.array(headerLine, { maxLength: 6 }) },
  { weight: 1, arbitrary: fc.integer({ min: 100, max: 2000 }).map((n) => Array.from({ length: n }, (_, i) => [`X-${i}`, "v"] as const)) }
)

const framing: fc.Arbitrary<WireRequest["framing"]> = fc.oneof(
  { weight: 6, arbitrary: fc.constant({ kind: "length" as const, lengthDelta: 0 }) },
  { weight: 2, arbitrary: fc.integer({ min: -8, max: 8 }).map((lengthDelta) => ({ kind: "length" as const, lengthDelta })) },
  { weight: 2, arbitrary: fc.integer({ min: 1, max: 64 }).map((chunkSize) => ({ kind: "chunked" as const, chunkSize })) },
  { weight: 1, arbitrary: fc.constant({ kind: "none" as const }) }
)

/**
 * Framing that RFC 9112 (6.1, 6.3) says a server must refuse, and that parsers have read in
 * different ways (CL.TE, TE.CL, TE.TE): Content-Length beside Transfer-Encoding, lengths that
 * disagree or are not digits, a coding list not ending in chunked, a name with whitespace.
 */
const refusedFraming = fc.constantFrom<ReadonlyArray<readonly [string, string]>>(
  [["Content-Length", "4"], ["Transfer-Encoding", "chunked"]],
  [["Transfer-Encoding", "chunked"], ["Content-Length", "4"]],
  [["Content-Length", "4"], ["Content-Length", "60"]],
  [["Content-Length", "4, 60"]],
  [["Transfer-Encoding", "chunked, identity"]],
  [["Transfer-Encoding", "xchunked"]],
  [["Transfer-Encoding", "chunked"], ["Transfer-Encoding", "identity"]],
  [["Content-Length", "+4"]],
  [["Content-Length", "0x4"]],
  [["Content-Length ", "4"]],
  [["Transfer-Encoding\t", "chunked"]]
)

interface Input {
  readonly bytes: Uint8Array
  readonly label: string
  /** Framing a server must refuse: the one answer must be 400, the hidden request never answered. */
  readonly refused: boolean
}

const hiddenRequest = Buffer.from(`GET ${echoPath}?encoding=json&message=%7B%7D&connect=v1 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`, "latin1")

const wellFramed: fc.Arbitrary<Input> = fc.record({
  method,
  target,
  version,
  headers: headerLines,
  body: validProto,
  framing,
  close: fc.boolean()
}).map((r) => ({
  bytes: serializeRequest({
    method: r.method,
    target: r.target,
    version: r.version,
    headers: [...r.headers, ...(r.close ? [["Connection", "close"] as const] : [])],
    body: r.body,
    framing: r.framing
  }),
  label: `${JSON.stringify(r.method)} ${r.target.slice(0, 60)} ${JSON.stringify(r.version)} ${r.headers.length} headers, ${JSON.stringify(r.framing)}`,
  refused: false
}))

/** A request whose body holds another request, behind framing a server must refuse. */
const smuggling: fc.Arbitrary<Input> = refusedFraming.map((framingLines) => ({
  bytes: Buffer.concat([
    Buffer.from(`POST ${echoPath} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/proto\r\n${framingLines.map(([n, v]) => `${n}: ${v}\r\n`).join("")}\r\n`, "latin1"),
    Buffer.from("0\r\n\r\n", "latin1"),
    hiddenRequest
  ]),
  label: `smuggling behind ${JSON.stringify(framingLines)}`,
  refused: true
}))

const refusal = (answer: Answer): Judgement =>
  answer.status === 400 ? { outcome: "400 (framing refused)" } : { outcome: `${answer.status} (framing taken)`, problem: "framing that must be refused was taken" }

export const http1Syntax: Kind<Input, number> = {
  name: "http1",
  share: 20,
  about: "HTTP/1.1 request lines, header lines and body framing, hostile or mutated byte by byte; requests hidden behind ambiguous framing",
  inputs: fc.oneof(
    { weight: 5, arbitrary: wellFramed },
    { weight: 4, arbitrary: fc.tuple(wellFramed, mutated(wellFramed.map((i) => i.bytes))).map(([i, bytes]) => ({ bytes, label: `mutated ${i.label}`, refused: false })) },
    { weight: 1, arbitrary: smuggling }
  ),
  environment: (target) => Effect.succeed(target.port),
  // Whether these bytes make a whole request is not known: a server waiting for more is fine;
  // a mutation may have made two requests of one, and both may be answered.
  run: (port, input) =>
    exchangeOne(port, input.bytes, { complete: false, single: input.refused, judge: input.refused ? refusal : undefined }),
  show: (input) => `${input.label}: ${input.bytes.byteLength} bytes ${JSON.stringify(Buffer.from(input.bytes.subarray(0, 100)).toString("latin1"))}`
}
