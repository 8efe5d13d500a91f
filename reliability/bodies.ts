/**
 * Message bodies for the fuzzers, as bytes: TestService requests in binary protobuf and JSON,
 * valid, mutated or random; JSON that is deep, wrong in type or not UTF-8; and the same bytes
 * compressed, compressed wrongly, labelled with the wrong encoding, or as bombs that expand to
 * many times the server's limit.
 */
import { create, toBinary, toJsonString } from "@bufbuild/protobuf"
import { Code } from "connect-effect"
import fc from "fast-check"
import type { Buffer } from "node:buffer"
import * as zlib from "node:zlib"
import { EchoRequestSchema, ServerStreamRequestSchema } from "../test/gen/connecteffect/test/v1/test_pb.js"
import { mutated } from "./mutate.js"

const enc = new TextEncoder()

/** A message body and how the fuzzer tells the server it is encoded (undefined: no header). */
export interface Body {
  readonly bytes: Uint8Array
  readonly encoding: string | undefined
}

/** A valid EchoRequest's fields: small, with a `fail_with` that is sometimes a code and sometimes not. */
const echoInit = fc.record({
  text: fc.string({ maxLength: 24 }),
  payload: fc.uint8Array({ maxLength: 64 }),
  failWith: fc.oneof(fc.constant(""), fc.constantFrom(...Code.all), fc.string({ maxLength: 8 })),
  delayMs: fc.integer({ min: 0, max: 20 }),
  tags: fc.array(fc.string({ maxLength: 8 }), { maxLength: 3 })
})

/** A valid ServerStreamRequest's fields, within what the bounded service sends. */
const serverStreamInit = fc.record({
  text: fc.string({ maxLength: 24 }),
  count: fc.integer({ min: -2, max: 12 }),
  size: fc.integer({ min: -1, max: 2048 }),
  failWith: fc.oneof(fc.constant(""), fc.constantFrom(...Code.all)),
  delayMs: fc.integer({ min: 0, max: 5 })
})

/** Valid binary requests of either method's input (the other's bytes are valid protobuf too). */
export const validProto: fc.Arbitrary<Uint8Array> = fc.oneof(
  echoInit.map((init) => toBinary(EchoRequestSchema, create(EchoRequestSchema, init))),
  serverStreamInit.map((init) => toBinary(ServerStreamRequestSchema, create(ServerStreamRequestSchema, init)))
)

/** Valid JSON requests of either method's input. */
export const validJson: fc.Arbitrary<Uint8Array> = fc.oneof(
  echoInit.map((init) => enc.encode(toJsonString(EchoRequestSchema, create(EchoRequestSchema, init)))),
  serverStreamInit.map((init) => enc.encode(toJsonString(ServerStreamRequestSchema, create(ServerStreamRequestSchema, init))))
)

/** Binary bodies: valid, mutated, random, or varint soup (field keys and lengths that lie). */
export const protoBytes: fc.Arbitrary<Uint8Array> = fc.oneof(
  { weight: 3, arbitrary: validProto },
  { weight: 4, arbitrary: mutated(validProto) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 256 }) },
  { weight: 1, arbitrary: fc.array(fc.constantFrom(0x08, 0x0a, 0x12, 0x80, 0xff, 0x01, 0x7f, 0x00), { maxLength: 64 }).map((b) => Uint8Array.from(b)) }
)

const depth = (n: number, open: string, close: string) => enc.encode(open.repeat(n) + close.repeat(n))

/** JSON bodies: valid, mutated, any JSON, wrong field types, very deep, not UTF-8. */
export const jsonBytes: fc.Arbitrary<Uint8Array> = fc.oneof(
  { weight: 3, arbitrary: validJson },
  { weight: 3, arbitrary: mutated(validJson) },
  { weight: 1, arbitrary: fc.json({ maxDepth: 3 }).map((j) => enc.encode(j)) },
  {
    weight: 1,
    arbitrary: fc.record({
      text: fc.oneof(fc.integer(), fc.constant(null), fc.array(fc.string()), fc.string()),
      delayMs: fc.oneof(fc.string(), fc.double(), fc.constant("1e999"), fc.integer()),
      payload: fc.oneof(fc.string(), fc.constant("!!not base64"), fc.integer())
    }, { requiredKeys: [] }).map((o) => enc.encode(JSON.stringify(o)))
  },
  { weight: 1, arbitrary: fc.integer({ min: 900, max: 5000 }).chain((n) => fc.constantFrom(depth(n, "[", "]"), depth(n, "{\"a\":", "}"))) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((b) => Uint8Array.from([0x7b, 0x22, ...b, 0x22, 0x7d])) }
)

type Compress = (bytes: Uint8Array) => Buffer
const { zstdCompressSync } = zlib as unknown as { zstdCompressSync?: Compress }
const compressors: Record<string, Compress> = {
  gzip: (b) => zlib.gzipSync(b),
  br: (b) => zlib.brotliCompressSync(b),
  ...(zstdCompressSync === undefined ? {} : { zstd: zstdCompressSync })
}

/** 16 MiB of zeros in each encoding: a few KiB on the wire, four times the server's default limit. */
const bombs: ReadonlyArray<Body> = Object.entries(compressors).map(([encoding, compress]) => ({
  encoding,
  bytes: compress(new Uint8Array(16 * 2 ** 20))
}))

/** An encoding this Node can write: `name` if it is one, gzip otherwise. */
const writable = (name: string | undefined) => name !== undefined && compressors[name] !== undefined ? name : "gzip"

/** `bytes` compressed in `encoding`, or in gzip when this Node cannot write that one (the label lies then). */
export const compress = (encoding: string | undefined, bytes: Uint8Array): Uint8Array => compressors[writable(encoding)]!(bytes)

/** The bomb in `encoding` (gzip's when this Node cannot write that one). */
export const bombIn = (encoding: string | undefined): Uint8Array => bombs.find((b) => b.encoding === writable(encoding))!.bytes

/** Encoding names as a peer may write them: known, in other cases, unknown, or a list. */
const encodingName = fc.oneof(
  fc.constantFrom(...Object.keys(compressors), "identity"),
  fc.constantFrom("GZIP", "Br", "deflate", "snappy", "gzip, br", "", " gzip", "x-gzip", "*")
)

/**
 * `plain` as a body: sent as it is (with or without an `identity` label), compressed and
 * labelled right, compressed and then mutated, labelled with an encoding it is not in,
 * or replaced by a bomb.
 */
export const encoded = (plain: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Body> =>
  fc.oneof(
    { weight: 6, arbitrary: plain.map((bytes) => ({ bytes, encoding: undefined })) },
    { weight: 1, arbitrary: plain.map((bytes) => ({ bytes, encoding: "identity" })) },
    {
      weight: 3,
      arbitrary: fc.tuple(plain, fc.constantFrom(...Object.keys(compressors))).map(([bytes, encoding]) => ({
        bytes: compressors[encoding]!(bytes),
        encoding
      }))
    },
    {
      weight: 2,
      arbitrary: fc.constantFrom(...Object.keys(compressors)).chain((encoding) =>
        mutated(plain.map((bytes) => new Uint8Array(compressors[encoding]!(bytes)))).map((bytes) => ({ bytes, encoding }))
      )
    },
    { weight: 1, arbitrary: fc.tuple(plain, encodingName).map(([bytes, encoding]) => ({ bytes, encoding })) },
    { weight: 1, arbitrary: fc.constantFrom(...bombs) }
  )

/** Any of the encoding names above. */
export const anyEncodingName = encodingName

