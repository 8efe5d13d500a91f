/**
 * The sized binary encoder against protobuf-es's `toBinary`, on random messages of every field
 * shape (proto3 and proto2): the same bytes whenever it encodes, and every message it must
 * encode (no group, wrapper or Struct field set) it does encode. What it declines or what is
 * invalid still comes out as `toBinary` has it, through the serialization that falls back.
 */
import { create, type DescField, type DescMessage, fromBinary, ScalarType, setExtension, toBinary } from "@bufbuild/protobuf"
import { FeatureSet_FieldPresence } from "@bufbuild/protobuf/wkt"
import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import fc from "fast-check"
import { ConnectError } from "connect-effect"
import { concatBytes } from "../src/internal/bytes.js"
import { encodeEnvelope } from "../src/internal/envelope.js"
import { envelopeChunk } from "../src/internal/messages.js"
import { sizedEncoder, SizedWriter } from "../src/internal/protobufBinary.js"
import { makeSerialization } from "../src/internal/serialization.js"
import { ext_string, LegacySchema } from "./gen/connecteffect/encoding/v1/legacy_pb.js"
import { EverythingSchema } from "./gen/connecteffect/encoding/v1/scalars_pb.js"

/** Code units of any kind, lone surrogates included, so that UTF-8 sizing meets every case. */
const text = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), maxLength: 40 }),
  fc.string({ unit: "binary", minLength: 100, maxLength: 300 })
)

const int64 = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n })
const uint64 = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n })

const scalar = (type: ScalarType, longAsString: boolean): fc.Arbitrary<unknown> => {
  const long = (arb: fc.Arbitrary<bigint>) => (longAsString ? arb.map(String) : arb)
  switch (type) {
    case ScalarType.DOUBLE:
      return fc.double()
    case ScalarType.FLOAT:
      return fc.float()
    case ScalarType.INT32:
    case ScalarType.SINT32:
    case ScalarType.SFIXED32:
      return fc.integer()
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return fc.integer({ min: 0, max: 0xffffffff })
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
      return long(int64)
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return long(uint64)
    case ScalarType.BOOL:
      return fc.boolean()
    case ScalarType.STRING:
      return text
    case ScalarType.BYTES:
      return fc.uint8Array({ maxLength: 200 })
  }
}

/** Map keys as protobuf-es holds them: strings. */
const mapKey = (type: ScalarType): fc.Arbitrary<string> =>
  type === ScalarType.STRING ? text : scalar(type, false).map(String)

const json: fc.Arbitrary<unknown> = fc.dictionary(
  fc.string({ maxLength: 8 }),
  fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.string({ maxLength: 8 }), fc.boolean(), fc.constant(null)),
  { maxKeys: 3 }
)

const isDeclined = (field: DescField) =>
  field.message !== undefined &&
  (field.message.typeName === "google.protobuf.Struct" && field.parent.typeName !== "google.protobuf.Value" ||
    field.message.typeName.endsWith("Value") && field.message.typeName !== "google.protobuf.Value" &&
      field.fieldKind === "message" && field.oneof === undefined ||
    (field.fieldKind === "message" && field.delimitedEncoding))

/**
 * A value of one field, as protobuf-es holds it. `plain`: only what the sized encoder must
 * encode itself.
 */
const fieldValue = (field: DescField, depth: number, plain: boolean): fc.Arbitrary<unknown> | undefined => {
  if (isDeclined(field)) {
    if (plain) return undefined
    if (field.message!.typeName === "google.protobuf.Struct") return field.fieldKind === "map" ? fc.dictionary(fc.string(), json, { maxKeys: 2 }) : json
    if (field.fieldKind === "message" && field.delimitedEncoding) return depth > 0 ? message(field.message!, depth - 1, plain) : undefined
    return scalar(field.message!.fields[0]!.scalar!, false)
  }
  const element = (kind: "scalar" | "enum" | "message"): fc.Arbitrary<unknown> | undefined =>
    kind === "enum"
      ? fc.constantFrom(...field.enum!.values.map((v) => v.number), 99)
      : kind === "message"
      ? (depth > 0 ? message(field.message!, depth - 1, plain) : undefined)
      : scalar(field.scalar!, "longAsString" in field && field.longAsString)
  switch (field.fieldKind) {
    case "list": {
      const item = element(field.listKind)
      return item === undefined ? fc.constant([]) : fc.array(item, { maxLength: 4 })
    }
    case "map": {
      const value = element(field.mapKind)
      return value === undefined ? fc.constant({}) : fc.dictionary(mapKey(field.mapKey), value, { maxKeys: 3 })
    }
    default:
      return element(field.fieldKind)
  }
}

const message = (desc: DescMessage, depth: number, plain: boolean): fc.Arbitrary<unknown> => {
  const fields: Record<string, fc.Arbitrary<unknown>> = {}
  const required: Array<string> = []
  for (const field of desc.fields) {
    if (field.oneof !== undefined) continue
    const value = fieldValue(field, depth, plain)
    if (value === undefined) continue
    fields[field.localName] = value
    if (plain && field.presence === FeatureSet_FieldPresence.LEGACY_REQUIRED) required.push(field.localName)
  }
  for (const oneof of desc.oneofs) {
    const cases = oneof.fields.flatMap((field) => {
      const value = fieldValue(field, depth, plain)
      return value === undefined ? [] : [value.map((v) => ({ case: field.localName, value: v }))]
    })
    fields[oneof.localName] = fc.oneof(fc.constant({ case: undefined }), ...cases)
  }
  return fc.record(fields, { requiredKeys: required }).map((init) => Object.assign(create(desc), init))
}

const sizedBytes = (desc: DescMessage, value: unknown): Uint8Array | undefined => {
  const encoder = sizedEncoder(desc)
  const sizes: Array<number> = []
  const size = encoder.measure(value, sizes)
  if (size < 0) return undefined
  const writer = new SizedWriter(new Uint8Array(size), 0, sizes)
  encoder.write(value, writer)
  expect(writer.pos).toBe(size)
  return writer.bytes
}

const schemas = [EverythingSchema, LegacySchema]

describe("the sized binary encoder", () => {
  for (const schema of schemas) {
    it(`writes ${schema.typeName} as toBinary does, and declines none of its plain messages`, () =>
      fc.assert(
        fc.property(message(schema, 1, true), (value) => {
          expect(sizedBytes(schema, value)).toEqual(toBinary(schema, value as never))
        }),
        { numRuns: 200, seed: 1 }
      ))

    it(`serializes any ${schema.typeName} as toBinary does, declined fields included`, () =>
      fc.assert(
        fc.property(message(schema, 1, false), (value) => {
          let expected: Uint8Array | Error
          try {
            expected = toBinary(schema, value as never)
          } catch (e) {
            expected = e as Error
          }
          const serialization = makeSerialization(schema, false, undefined)
          if (expected instanceof Error) {
            expect(() => serialization.serialize(value)).toThrow(ConnectError.ConnectError)
          } else {
            expect(serialization.serialize(value)).toEqual(expected)
          }
        }),
        { numRuns: 200, seed: 2 }
      ))
  }

  it.effect("frames a chunk of messages into one buffer, each enveloped as toBinary writes it", () =>
    Effect.gen(function*() {
      const values = fc.sample(message(EverythingSchema, 1, true), { numRuns: 20, seed: 3 })
      const serialization = makeSerialization(EverythingSchema, false, undefined) as never
      const framed = yield* envelopeChunk(serialization, Chunk.unsafeFromArray(values), undefined, {
        writeMaxBytes: Number.MAX_SAFE_INTEGER,
        compressMinBytes: Number.MAX_SAFE_INTEGER
      })
      expect(Chunk.size(framed)).toBe(1)
      expect(Chunk.unsafeGet(framed, 0)).toEqual(concatBytes(values.map((v) => encodeEnvelope(0, toBinary(EverythingSchema, v as never)))))
    }))

  it("writes unknown fields and extensions after the known ones", () => {
    const legacy = create(LegacySchema, { reqInt64: 5n, oInt32: 1 })
    setExtension(legacy, ext_string, "ext")
    const reparsed = fromBinary(LegacySchema, concatBytes([toBinary(LegacySchema, legacy), new Uint8Array([0xa8, 0x1f, 0x05])]))
    expect(reparsed.$unknown?.length).toBe(2)
    expect(sizedBytes(LegacySchema, reparsed)).toEqual(toBinary(LegacySchema, reparsed))
  })

  it("declines what toBinary rejects, so that its error is the call's", () => {
    const serialization = makeSerialization(EverythingSchema, false, undefined)
    const invalid = [
      { fInt32: 2 ** 31 },
      { fInt32: 1.5 },
      { fUint32: -1 },
      { fFloat: 1e39 },
      { rInt32: [1, 2 ** 40] },
      { fInt64: "twelve" },
      { mInt32Int64: { "x": 1n } }
    ]
    for (const fields of invalid) {
      const value = Object.assign(create(EverythingSchema), fields)
      expect(sizedEncoder(EverythingSchema).measure(value, [])).toBe(-1)
      expect(() => toBinary(EverythingSchema, value)).toThrow()
      expect(() => serialization.serialize(value)).toThrow(ConnectError.ConnectError)
    }
    // A proto2 required field left unset.
    expect(sizedEncoder(LegacySchema).measure(create(LegacySchema), [])).toBe(-1)
    expect(() => makeSerialization(LegacySchema, false, undefined).serialize(create(LegacySchema))).toThrow(ConnectError.ConnectError)
  })
})
