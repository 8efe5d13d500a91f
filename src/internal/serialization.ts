/**
 * Message codecs: protobuf binary and protobuf JSON, for one message type.
 * @internal
 */
import type { DescMessage, MessageShape, Registry } from "@bufbuild/protobuf"
import { create, fromBinary, fromJsonString, toBinary, toJsonString } from "@bufbuild/protobuf"
import { ConnectError } from "./connectError.js"
import { type SizedEncoder, sizedEncoder, SizedWriter } from "./protobufBinary.js"

/** @internal */
export interface Serialization<A> {
  /** Throws a ConnectError (invalid_argument) on bytes that are not a valid message. */
  readonly parse: (bytes: Uint8Array) => A
  /** Throws a ConnectError (internal) on a message that cannot be encoded. */
  readonly serialize: (message: unknown) => Uint8Array
  /**
   * Binary only: the encoder that measures messages before writing them, so that several go
   * into one buffer (JSON is only measured by writing it), and what it takes (`toMessage`).
   */
  readonly sized?: {
    readonly encoder: SizedEncoder
    readonly toMessage: (value: unknown) => unknown
  }
}

const textEncoder = new TextEncoder()
const textDecoder = new TextDecoder("utf-8", { fatal: true })

const describe = (e: unknown) => (e instanceof Error ? e.message : String(e))

/**
 * How deeply JSON may nest (as protojson's default in Go is 10,000, this leaves room for any
 * real message). JSON.parse nests without limit, and a body of a million brackets holds the
 * event loop for most of a second: such a body is refused before it is parsed.
 */
const maxJsonDepth = 1000

const openBracket = 0x5b
const closeBracket = 0x5d
const openBrace = 0x7b
const closeBrace = 0x7d
const quote = 0x22
const backslash = 0x5c

/** The JSON text nests deeper than `maxJsonDepth` (a linear scan, strings skipped). */
const nestsTooDeep = (bytes: Uint8Array): boolean => {
  let depth = 0
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i]!
    if (byte === quote) {
      for (i++; i < bytes.length && bytes[i] !== quote; i++) {
        if (bytes[i] === backslash) i++
      }
    } else if (byte === openBracket || byte === openBrace) {
      if (++depth > maxJsonDepth) return true
    } else if (byte === closeBracket || byte === closeBrace) {
      depth--
    }
  }
  return false
}

/** Accepts a message or its init shape, as protoc-gen-es users write them. */
const toMessage = <Desc extends DescMessage>(schema: Desc, value: unknown): MessageShape<Desc> =>
  create(schema, value as never)

/** @internal */
export const makeSerialization = <Desc extends DescMessage>(
  schema: Desc,
  json: boolean,
  registry: Registry | undefined
): Serialization<MessageShape<Desc>> => json ? jsonSerialization(schema, registry) : binarySerialization(schema)

const jsonSerialization = <Desc extends DescMessage>(
  schema: Desc,
  registry: Registry | undefined
): Serialization<MessageShape<Desc>> => {
  const readOptions = { ignoreUnknownFields: true, ...(registry === undefined ? {} : { registry }) }
  const writeOptions = registry === undefined ? {} : { registry }
  return {
    parse: (bytes) => {
      if (nestsTooDeep(bytes)) {
        throw new ConnectError({
          code: "invalid_argument",
          message: `cannot decode message ${schema.typeName} from JSON: nested deeper than ${maxJsonDepth}`
        })
      }
      try {
        return fromJsonString(schema, textDecoder.decode(bytes), readOptions)
      } catch (e) {
        throw new ConnectError({ code: "invalid_argument", message: `cannot decode message ${schema.typeName} from JSON: ${describe(e)}`, cause: e })
      }
    },
    serialize: (message) => {
      try {
        return textEncoder.encode(toJsonString(schema, toMessage(schema, message), writeOptions))
      } catch (e) {
        throw new ConnectError({ code: "internal", message: `cannot encode message ${schema.typeName} to JSON: ${describe(e)}`, cause: e })
      }
    }
  }
}

/** Messages the sized encoder declines (see protobufBinary) are written by `toBinary`. */
const binarySerialization = <Desc extends DescMessage>(schema: Desc): Serialization<MessageShape<Desc>> => {
  const encoder = sizedEncoder(schema)
  return {
    sized: { encoder, toMessage: (value) => toMessage(schema, value) },
    parse: (bytes) => {
      try {
        return fromBinary(schema, bytes)
      } catch (e) {
        throw new ConnectError({ code: "invalid_argument", message: `cannot decode message ${schema.typeName} from binary: ${describe(e)}`, cause: e })
      }
    },
    serialize: (message) => {
      try {
        const value = toMessage(schema, message)
        const sizes: Array<number> = []
        const size = encoder.measure(value, sizes)
        if (size < 0) return toBinary(schema, value)
        const bytes = new Uint8Array(size)
        encoder.write(value, new SizedWriter(bytes, 0, sizes))
        return bytes
      } catch (e) {
        throw new ConnectError({ code: "internal", message: `cannot encode message ${schema.typeName} to binary: ${describe(e)}`, cause: e })
      }
    }
  }
}
