/**
 * HTTP/2 frames no library would send, over node:net after the connection preface: SETTINGS
 * with values out of range, HEADERS on even, zero or reused stream ids, padding that lies, HPACK
 * garbage, CONTINUATION floods, DATA on streams that are not open, WINDOW_UPDATE overflows,
 * PUSH_PROMISE from a client, unknown types, lengths that lie, and streams opened and reset in a
 * loop (rapid reset). The server must answer (frames, GOAWAY) or close, and never hang once the
 * peer is done; the session must not outlive the connection (the campaign checks sessions).
 */
import * as Effect from "effect/Effect"
import fc from "fast-check"
import { Buffer } from "node:buffer"
import { TestService } from "../../test/gen/connecteffect/test/v1/test_pb.js"
import { envelope } from "../../test/support/rawHttp.js"
import { validProto } from "../bodies.js"
import * as F from "../h2Frames.js"
import { hang, type Kind } from "../kind.js"
import { mutated } from "../mutate.js"
import { rawExchange } from "../rawExchange.js"
import { postHeaders } from "../rawH2.js"

const streamId = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 20 }).map((n) => 2 * n + 1) },
  { weight: 1, arbitrary: fc.constantFrom(0, 2, 4, 0x7fffffff, 0xffffffff) }
)

const paths = [`/${TestService.typeName}/Echo`, `/${TestService.typeName}/BidiStream`, `/${TestService.typeName}/ServerStream`, "/nope"]

/** A request header block: valid, with fields a server must refuse, or HPACK garbage. */
const headerBlock = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.tuple(fc.constantFrom(...paths), fc.constantFrom("application/proto", "application/grpc", "application/connect+proto", "application/grpc-web")).map(
      ([path, type]) => postHeaders(path, [["content-type", type], ["te", "trailers"], ["connect-protocol-version", "1"]])
    )
  },
  {
    weight: 2,
    arbitrary: fc.constantFrom<ReadonlyArray<readonly [string, string]>>(
      [[":method", "POST"], [":path", paths[0]!]],
      [[":path", paths[0]!], [":method", "POST"], [":scheme", "http"], [":authority", "x"], [":method", "GET"]],
      [[":method", "POST"], [":scheme", "http"], [":path", ""], [":authority", "x"]],
      [[":method", "POST"], [":scheme", "http"], [":path", paths[0]!], [":authority", "x"], ["connection", "close"]],
      [[":method", "POST"], [":scheme", "http"], [":path", paths[0]!], [":authority", "x"], ["Content-Type", "application/proto"]],
      [[":method", "POST"], [":scheme", "http"], [":path", paths[0]!], [":authority", "x"], ["x", "a\r\nb"]],
      [[":method", "POST"], [":scheme", "http"], [":path", paths[0]!], [":authority", "x"], [":status", "200"]],
      [[":method", "CONNECT"], [":authority", "x"]]
    ).map((fields) => F.headerBlock(fields))
  },
  { weight: 2, arbitrary: fc.uint8Array({ maxLength: 64 }) },
  { weight: 2, arbitrary: mutated(fc.constant(postHeaders(paths[0]!, [["content-type", "application/proto"]]))) }
)

const flags = fc.oneof(fc.constantFrom(0, F.flag.endStream, F.flag.endHeaders, F.flag.endStream | F.flag.endHeaders), fc.integer({ min: 0, max: 255 }))

const oneFrame: fc.Arbitrary<Uint8Array> = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(streamId, headerBlock, flags).map(([id, block, f]) => F.frame(F.frameType.headers, f | F.flag.endHeaders, id, block)) },
  { weight: 1, arbitrary: fc.tuple(streamId, headerBlock, flags).map(([id, block, f]) => F.frame(F.frameType.headers, f, id, block)) },
  { weight: 1, arbitrary: fc.tuple(streamId, fc.uint8Array({ maxLength: 32 }), flags).map(([id, block, f]) => F.frame(F.frameType.continuation, f, id, block)) },
  {
    weight: 3,
    arbitrary: fc.tuple(streamId, fc.oneof(validProto.map((m) => envelope(0, m)), validProto, fc.uint8Array({ maxLength: 64 })), flags).map(([id, bytes, f]) =>
      F.frame(F.frameType.data, f, id, bytes)
    )
  },
  {
    weight: 1,
    arbitrary: fc.array(fc.tuple(fc.integer({ min: 0, max: 10 }), fc.oneof(fc.nat(), fc.constantFrom(0, 2 ** 31, 2 ** 32 - 1, 16383, 2 ** 24))), { maxLength: 4 }).map((entries) =>
      F.settings(entries)
    )
  },
  { weight: 1, arbitrary: fc.tuple(streamId, fc.oneof(fc.integer({ min: 0, max: 14 }), fc.nat())).map(([id, code]) => F.rstStream(id, code)) },
  { weight: 1, arbitrary: fc.tuple(streamId, fc.oneof(fc.constantFrom(0, 1, 2 ** 31 - 1), fc.nat())).map(([id, n]) => F.windowUpdate(id, n)) },
  { weight: 1, arbitrary: fc.uint8Array({ minLength: 0, maxLength: 12 }).map((data) => F.frame(F.frameType.ping, 0, 0, data)) },
  { weight: 1, arbitrary: fc.tuple(streamId, fc.uint8Array({ maxLength: 8 })).map(([id, p]) => F.frame(F.frameType.priority, 0, id, p)) },
  { weight: 1, arbitrary: fc.tuple(streamId, fc.uint8Array({ maxLength: 16 })).map(([id, p]) => F.frame(F.frameType.pushPromise, F.flag.endHeaders, id, p)) },
  { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 10, max: 255 }), streamId, fc.uint8Array({ maxLength: 16 })).map(([type, id, p]) => F.frame(type, 0, id, p)) },
  {
    weight: 1,
    arbitrary: fc.tuple(fc.constantFrom(F.frameType.data, F.frameType.headers, F.frameType.settings), streamId, fc.uint8Array({ maxLength: 16 }), fc.integer({ min: 0, max: 2 ** 24 - 1 }))
      .map(([type, id, p, declared]) => F.frame(type, 0, id, p, declared))
  },
  { weight: 1, arbitrary: fc.tuple(fc.nat(), fc.nat()).map(([last, code]) => F.goaway(last, code)) }
)

/** A request stream opened and reset at once, `n` times on new stream ids (CVE-2023-44487). */
const rapidReset = fc.integer({ min: 50, max: 300 }).map((n) =>
  Buffer.concat(Array.from({ length: n }, (_, i) => [F.headers(2 * i + 1, postHeaders(paths[1]!, [["content-type", "application/connect+proto"]]), false), F.rstStream(2 * i + 1, 8)]).flat())
)

/** A header block never ended: HEADERS then many CONTINUATIONs without END_HEADERS (CVE-2024-27316). */
const continuationFlood = fc.integer({ min: 100, max: 2000 }).map((n) =>
  Buffer.concat([F.headers(1, postHeaders(paths[0]!, []), false, false), ...Array.from({ length: n }, (_, i) => F.frame(F.frameType.continuation, 0, 1, F.headerBlock([[`x-${i}`, "v".repeat(64)]])))])
)

/**
 * A FIN after 0.5 s; then up to 10 s to close. A close more than 1 s after the FIN is the
 * server's idle timeout (2 s in the fuzz server), not the FIN.
 */
const bounds = { answerMs: 500, closeMs: 10_000 }

interface Input {
  /** The frames after the preface (and, with `settingsFirst`, an empty SETTINGS). */
  readonly frames: Uint8Array
  readonly settingsFirst: boolean
  /** End with GOAWAY(NO_ERROR), so that a server that answered closes once its streams end. */
  readonly goawayLast: boolean
  readonly label: string
}

export const h2Frames: Kind<Input, number> = {
  name: "h2-frames",
  share: 10,
  about: "raw HTTP/2 frames after the preface: invalid settings, stream ids, padding, HPACK, flow control, unknown types, lying lengths, rapid reset and CONTINUATION floods",
  inputs: fc.oneof(
    {
      weight: 38,
      arbitrary: fc.record({ list: fc.array(oneFrame, { minLength: 1, maxLength: 8 }), settingsFirst: fc.boolean(), goawayLast: fc.boolean() }).map((r) => ({
        frames: Buffer.concat(r.list),
        settingsFirst: r.settingsFirst,
        goawayLast: r.goawayLast,
        label: `${r.list.length} frames`
      }))
    },
    // Rare: each costs the server about a second of CPU (a fiber and a handler per stream).
    { weight: 1, arbitrary: rapidReset.map((frames) => ({ frames, settingsFirst: true, goawayLast: true, label: "rapid reset" })) },
    { weight: 1, arbitrary: continuationFlood.map((frames) => ({ frames, settingsFirst: true, goawayLast: false, label: "CONTINUATION flood" })) }
  ),
  // Each input is a socket that mostly waits: many at once cost little.
  concurrency: 256,
  environment: (target) => Effect.succeed(target.port),
  run: (port, input) =>
    Effect.map(
      rawExchange(port, [F.preface, ...(input.settingsFirst ? [F.settings()] : []), input.frames, ...(input.goawayLast ? [F.goaway(0, 0)] : [])], bounds),
      (answer) => {
        if (answer.closed === "never") return hang(`the connection was still open ${bounds.closeMs} ms after the peer's FIN`)
        const sent = F.parseFrames(answer.bytes).frames
        const goaway = sent.find((f) => f.type === F.frameType.goaway)
        const code = goaway === undefined || goaway.payload.byteLength < 8 ? undefined : goaway.payload.readUInt32BE(4)
        // Node 20's sessions that saw a protocol error ignore the FIN: only the idle timeout closes them.
        const closed = answer.closed === "server" ? "by the server" : answer.ms - bounds.answerMs > 1000 ? "late (>1 s after our FIN)" : "after our FIN"
        return { outcome: `${code === undefined ? "no GOAWAY" : `GOAWAY ${code}`}, closed ${closed}` }
      }
    ),
  show: (input) => `${input.label}${input.settingsFirst ? " after SETTINGS" : ""}${input.goawayLast ? ", then GOAWAY" : ""}: ${Buffer.from(input.frames.subarray(0, 120)).toString("hex")}`
}
