// The benchmark workload, shared by the three servers, the load generators and the runner.
// Say echoes its sentence unchanged. Introduce's only field, `name`, encodes the stream's
// shape as "<count>x<size>": `count` messages whose sentence is `size` bytes long.
import { create, toBinary, toJsonString } from "@bufbuild/protobuf"
import {
  IntroduceRequestSchema,
  IntroduceResponseSchema,
  PontificateRequestSchema,
  SayRequestSchema
} from "../examples/eliza/gen/connectrpc/eliza/v1/eliza_pb.js"

export const sayPath = "/connectrpc.eliza.v1.ElizaService/Say"
export const introducePath = "/connectrpc.eliza.v1.ElizaService/Introduce"
export const pontificatePath = "/connectrpc.eliza.v1.ElizaService/Pontificate"

/** A Connect request's headers. */
export const connectHeaders = (contentType: string): Record<string, string> => ({
  "content-type": contentType,
  "connect-protocol-version": "1"
})

/** A gRPC request's headers (binary protobuf): what the gRPC spec asks every client to send. */
export const grpcHeaders: Record<string, string> = { "content-type": "application/grpc", te: "trailers" }

/**
 * A Say request with this header gets its response from the raw server without content-length
 * (a chunked body), to measure clients on responses of unknown length.
 */
export const chunkedHeader = "x-bench-chunked"

/** The sentence every Say request carries (a tiny unary call). */
export const saySentence = "Hello Eliza, how are you feeling today?"

export interface IntroduceShape {
  readonly count: number
  readonly sentence: string
}

const shapes = new Map<string, IntroduceShape>()

/** Parses an Introduce `name` ("100x1024"); the result is cached, so every server pays the same. */
export const parseIntroduce = (name: string): IntroduceShape => {
  let shape = shapes.get(name)
  if (shape === undefined) {
    const match = /^(\d+)x(\d+)$/.exec(name)
    if (match === null) throw new Error(`Introduce name must be "<count>x<size>", got ${JSON.stringify(name)}`)
    shape = { count: Number(match[1]), sentence: "x".repeat(Number(match[2])) }
    shapes.set(name, shape)
  }
  return shape
}

/** A Connect streaming (and gRPC) envelope: flags byte, big-endian length, payload. */
const envelope = (flags: number, payload: Uint8Array): Uint8Array<ArrayBuffer> => {
  const out = new Uint8Array(5 + payload.length)
  new DataView(out.buffer).setUint32(1, payload.length)
  out[0] = flags
  out.set(payload, 5)
  return out
}

const endStream = envelope(2, new TextEncoder().encode("{}"))

/**
 * Request bodies, built once. A streaming request is one envelope, the same in the Connect
 * streaming protocol and in gRPC, so `introduce` serves both; gRPC frames a unary request too.
 */
export const requestBodies = (introduceName: string) => {
  const sayBinary = toBinary(SayRequestSchema, create(SayRequestSchema, { sentence: saySentence }))
  return {
    sayBinary,
    sayJson: new TextEncoder().encode(toJsonString(SayRequestSchema, create(SayRequestSchema, { sentence: saySentence }))),
    sayGrpc: envelope(0, sayBinary),
    introduce: envelope(0, toBinary(IntroduceRequestSchema, create(IntroduceRequestSchema, { name: introduceName })))
  }
}

/**
 * The large message of the tiny-chunks row: one Pontificate request of about 3 MB, which a
 * hostile or careless client may send in 20-byte HTTP chunks.
 */
export const largePontificateBody = (): Uint8Array =>
  envelope(0, toBinary(PontificateRequestSchema, create(PontificateRequestSchema, { sentence: "x".repeat(3_000_000) })))

/**
 * The exact response body of a successful Introduce call in the binary Connect streaming
 * protocol, or in gRPC (the same messages, and no end-of-stream message: the status goes in the
 * HTTP trailers).
 */
export const introduceResponseBody = (name: string, grpc = false): Uint8Array => {
  const { count, sentence } = parseIntroduce(name)
  const message = envelope(0, toBinary(IntroduceResponseSchema, create(IntroduceResponseSchema, { sentence })))
  const end = grpc ? new Uint8Array(0) : endStream
  const out = new Uint8Array(count * message.length + end.length)
  for (let i = 0; i < count; i++) out.set(message, i * message.length)
  out.set(end, count * message.length)
  return out
}
