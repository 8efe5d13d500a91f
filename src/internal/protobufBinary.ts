/**
 * Protobuf binary encoding measured before it is written, so that a message (or a whole chunk of
 * enveloped messages) is written into one buffer of its exact size. protobuf-es's `toBinary`
 * grows a buffer as it writes (a 1 KiB string reserves 4 KiB) and copies the result out; with
 * the envelope's own copy that was three allocations and two copies of every message, a quarter
 * of a streaming server's CPU.
 *
 * The bytes are the same as `toBinary`'s: fields in number order, then unknown fields. What this
 * encoder does not cover (groups, singular wrapper fields and google.protobuf.Struct fields,
 * which protobuf-es keeps in another shape, and any value it would reject) it declines by
 * measuring -1, and the caller uses `toBinary`, which writes or rejects it as always.
 * @internal
 */
import { type DescField, type DescMessage, protoInt64, ScalarType } from "@bufbuild/protobuf"
import { FeatureSet_FieldPresence, isWrapperDesc } from "@bufbuild/protobuf/wkt"

/**
 * Where a measured message is written. `sizes` holds, in the order the measuring met them, the
 * lengths written before length-delimited parts (nested messages, packed lists, map entries).
 * @internal
 */
export class SizedWriter {
  readonly bytes: Uint8Array
  pos: number
  private view: DataView | undefined
  private next = 0
  constructor(bytes: Uint8Array, pos: number, readonly sizes: ReadonlyArray<number>) {
    this.bytes = bytes
    this.pos = pos
  }
  dataView(): DataView {
    return this.view ??= new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength)
  }
  nextSize(): number {
    return this.sizes[this.next++]!
  }
}

/** @internal */
export interface SizedEncoder {
  /** The message's encoded size, its nested lengths appended to `sizes`; -1 to leave it to `toBinary`. */
  readonly measure: (message: unknown, sizes: Array<number>) => number
  /** Writes a message that `measure` measured, in the same order. */
  readonly write: (message: unknown, writer: SizedWriter) => void
}

type Message = Record<string, unknown> & { readonly $typeName: string; readonly $unknown?: ReadonlyArray<UnknownField> }
interface UnknownField {
  readonly no: number
  readonly wireType: number
  readonly data: Uint8Array
}

interface FieldEncoder {
  readonly measure: (message: Message, sizes: Array<number>) => number
  readonly write: (message: Message, writer: SizedWriter) => void
}

const wireVarint = 0
const wireFixed64 = 1
const wireDelimited = 2
const wireFixed32 = 5

const varintSize = (value: number): number =>
  value < 0x80 ? 1 : value < 0x4000 ? 2 : value < 0x200000 ? 3 : value < 0x10000000 ? 4 : 5

const writeVarint = (writer: SizedWriter, value: number) => {
  const bytes = writer.bytes
  let pos = writer.pos
  while (value > 0x7f) {
    bytes[pos++] = (value & 0x7f) | 0x80
    value >>>= 7
  }
  bytes[pos++] = value
  writer.pos = pos
}

const varint64Size = (lo: number, hi: number): number => {
  if (hi === 0) return varintSize(lo >>> 0)
  let size = 5
  for (let rest = hi >>> 3; rest !== 0; rest >>>= 7) size++
  return size
}

const writeVarint64 = (writer: SizedWriter, lo: number, hi: number) => {
  const bytes = writer.bytes
  let pos = writer.pos
  lo >>>= 0
  hi >>>= 0
  while (hi !== 0 || lo > 0x7f) {
    bytes[pos++] = (lo & 0x7f) | 0x80
    lo = ((lo >>> 7) | (hi << 25)) >>> 0
    hi >>>= 7
  }
  bytes[pos++] = lo
  writer.pos = pos
}

/** UTF-8 length as TextEncoder writes it: a lone surrogate becomes U+FFFD (3 bytes). */
const utf8Size = (text: string): number => {
  let size = text.length
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i)
    if (code < 0x80) continue
    if (code < 0x800) {
      size += 1
    } else if (code >= 0xd800 && code < 0xdc00 && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      size += 2
      i++
    } else {
      size += 2
    }
  }
  return size
}

const textEncoder = new TextEncoder()

const writeString = (text: string, writer: SizedWriter) => {
  const size = writer.nextSize()
  writeVarint(writer, size)
  const bytes = writer.bytes
  const start = writer.pos
  if (size === text.length && size < 64) {
    // ASCII, short: a loop costs less than encodeInto's call.
    for (let i = 0; i < size; i++) bytes[start + i] = text.charCodeAt(i)
  } else {
    textEncoder.encodeInto(text, bytes.subarray(start, start + size))
  }
  writer.pos = start + size
}

const int32Max = 0x7fffffff
const uint32Max = 0xffffffff
const float32Max = 3.4028234663852886e38

const isInt32 = (value: unknown): value is number =>
  typeof value === "number" && Number.isInteger(value) && value <= int32Max && value >= -int32Max - 1
const isUint32 = (value: unknown): value is number =>
  typeof value === "number" && Number.isInteger(value) && value <= uint32Max && value >= 0

/** A 64-bit value as protobuf-es holds it (bigint or decimal string), or undefined if invalid. */
const int64Parts = (value: unknown, unsigned: boolean): { readonly lo: number; readonly hi: number } | undefined => {
  if (typeof value !== "bigint" && typeof value !== "string" && typeof value !== "number") return undefined
  try {
    return unsigned ? protoInt64.uEnc(value) : protoInt64.enc(value)
  } catch {
    return undefined
  }
}

interface ScalarEncoder {
  readonly wireType: number
  /** The value's size, pushing what `write` needs to `sizes`; -1 if invalid. */
  readonly measure: (value: unknown, sizes: Array<number>) => number
  readonly write: (value: any, writer: SizedWriter) => void
}

const varint64Encoder = (unsigned: boolean, zigzag: boolean): ScalarEncoder => {
  const parts = (value: unknown) => {
    const tc = int64Parts(value, unsigned)
    if (tc === undefined || !zigzag) return tc
    const sign = tc.hi >> 31
    return { lo: (tc.lo << 1) ^ sign, hi: ((tc.hi << 1) | (tc.lo >>> 31)) ^ sign }
  }
  return {
    wireType: wireVarint,
    measure: (value) => {
      const tc = parts(value)
      return tc === undefined ? -1 : varint64Size(tc.lo >>> 0, tc.hi >>> 0)
    },
    write: (value, writer) => {
      const tc = parts(value)!
      writeVarint64(writer, tc.lo, tc.hi)
    }
  }
}

const fixed64Encoder = (unsigned: boolean): ScalarEncoder => ({
  wireType: wireFixed64,
  measure: (value) => (int64Parts(value, unsigned) === undefined ? -1 : 8),
  write: (value, writer) => {
    const tc = int64Parts(value, unsigned)!
    const view = writer.dataView()
    view.setInt32(writer.pos, tc.lo, true)
    view.setInt32(writer.pos + 4, tc.hi, true)
    writer.pos += 8
  }
})

const fixed32Encoder = (valid: (value: unknown) => boolean, set: "setUint32" | "setInt32" | "setFloat32"): ScalarEncoder => ({
  wireType: wireFixed32,
  measure: (value) => (valid(value) ? 4 : -1),
  write: (value, writer) => {
    writer.dataView()[set](writer.pos, value, true)
    writer.pos += 4
  }
})

const scalarEncoders: Record<ScalarType, ScalarEncoder> = {
  [ScalarType.STRING]: {
    wireType: wireDelimited,
    measure: (value, sizes) => {
      if (typeof value !== "string") return -1
      const size = utf8Size(value)
      sizes.push(size)
      return varintSize(size) + size
    },
    write: writeString
  },
  [ScalarType.BYTES]: {
    wireType: wireDelimited,
    measure: (value) => (value instanceof Uint8Array ? varintSize(value.byteLength) + value.byteLength : -1),
    write: (value: Uint8Array, writer) => {
      writeVarint(writer, value.byteLength)
      writer.bytes.set(value, writer.pos)
      writer.pos += value.byteLength
    }
  },
  [ScalarType.BOOL]: {
    wireType: wireVarint,
    measure: (value) => (typeof value === "boolean" ? 1 : -1),
    write: (value: boolean, writer) => {
      writer.bytes[writer.pos++] = value ? 1 : 0
    }
  },
  [ScalarType.INT32]: {
    wireType: wireVarint,
    // A negative int32 is sign-extended to 64 bits: ten bytes.
    measure: (value) => (isInt32(value) ? (value < 0 ? 10 : varintSize(value)) : -1),
    write: (value: number, writer) => value < 0 ? writeVarint64(writer, value, -1) : writeVarint(writer, value)
  },
  [ScalarType.UINT32]: {
    wireType: wireVarint,
    measure: (value) => (isUint32(value) ? varintSize(value) : -1),
    write: (value: number, writer) => writeVarint(writer, value)
  },
  [ScalarType.SINT32]: {
    wireType: wireVarint,
    measure: (value) => (isInt32(value) ? varintSize(((value << 1) ^ (value >> 31)) >>> 0) : -1),
    write: (value: number, writer) => writeVarint(writer, ((value << 1) ^ (value >> 31)) >>> 0)
  },
  [ScalarType.FIXED32]: fixed32Encoder(isUint32, "setUint32"),
  [ScalarType.SFIXED32]: fixed32Encoder(isInt32, "setInt32"),
  [ScalarType.FLOAT]: fixed32Encoder(
    (value) => typeof value === "number" && (!Number.isFinite(value) || Math.abs(value) <= float32Max),
    "setFloat32"
  ),
  [ScalarType.DOUBLE]: {
    wireType: wireFixed64,
    measure: (value) => (typeof value === "number" ? 8 : -1),
    write: (value: number, writer) => {
      writer.dataView().setFloat64(writer.pos, value, true)
      writer.pos += 8
    }
  },
  [ScalarType.INT64]: varint64Encoder(false, false),
  [ScalarType.UINT64]: varint64Encoder(true, false),
  [ScalarType.SINT64]: varint64Encoder(false, true),
  [ScalarType.FIXED64]: fixed64Encoder(true),
  [ScalarType.SFIXED64]: fixed64Encoder(false)
}

const tagBytes = (fieldNo: number, wireType: number): Uint8Array => {
  const bytes = new Uint8Array(varintSize(((fieldNo << 3) | wireType) >>> 0))
  const writer = new SizedWriter(bytes, 0, [])
  writeVarint(writer, ((fieldNo << 3) | wireType) >>> 0)
  return bytes
}

const writeTag = (writer: SizedWriter, tag: Uint8Array) => {
  for (let i = 0; i < tag.length; i++) writer.bytes[writer.pos++] = tag[i]!
}

/** A length-delimited part: its length first (from `sizes`), then what `body` writes. */
const measureDelimited = (sizes: Array<number>, body: () => number): number => {
  const slot = sizes.length
  sizes.push(0)
  const size = body()
  if (size < 0) return -1
  sizes[slot] = size
  return varintSize(size) + size
}

const writeDelimited = (writer: SizedWriter, body: () => void) => {
  writeVarint(writer, writer.nextSize())
  body()
}

const encoders = new WeakMap<DescMessage, SizedEncoder>()

/** The encoder of a message type, compiled on first use. @internal */
export const sizedEncoder = (desc: DescMessage): SizedEncoder => {
  const known = encoders.get(desc)
  if (known !== undefined) return known
  const fields: Array<FieldEncoder> = []
  const typeName = desc.typeName
  const encoder: SizedEncoder = {
    measure: (value, sizes) => {
      if (typeof value !== "object" || value === null) return -1
      const message = value as Message
      if (message.$typeName !== typeName) return -1
      let size = 0
      for (let i = 0; i < fields.length; i++) {
        const field = fields[i]!.measure(message, sizes)
        if (field < 0) return -1
        size += field
      }
      const unknown = message.$unknown
      if (unknown !== undefined) {
        for (let i = 0; i < unknown.length; i++) {
          const { data, no, wireType } = unknown[i]!
          size += varintSize(((no << 3) | wireType) >>> 0) + data.byteLength
        }
      }
      return size
    },
    write: (value, writer) => {
      const message = value as Message
      for (let i = 0; i < fields.length; i++) fields[i]!.write(message, writer)
      const unknown = message.$unknown
      if (unknown !== undefined) {
        for (let i = 0; i < unknown.length; i++) {
          const { data, no, wireType } = unknown[i]!
          writeVarint(writer, ((no << 3) | wireType) >>> 0)
          writer.bytes.set(data, writer.pos)
          writer.pos += data.byteLength
        }
      }
    }
  }
  // Registered before its fields compile: a recursive type finds itself.
  encoders.set(desc, encoder)
  for (const field of [...desc.fields].sort((a, b) => a.number - b.number)) fields.push(fieldEncoder(field))
  return encoder
}

/**
 * Fields whose values protobuf-es holds in another shape than the message (singular wrappers as
 * their value, Struct as a JSON object) or encodes as groups: declined whenever they are set.
 */
const declined = (field: DescField): boolean => {
  if (elementKind(field) !== "message") return false
  const message = field.message!
  return ("delimitedEncoding" in field && field.delimitedEncoding === true) ||
    (message.typeName === "google.protobuf.Struct" && field.parent.typeName !== "google.protobuf.Value") ||
    (field.fieldKind === "message" && field.oneof === undefined && isWrapperDesc(message))
}

/** What a field's values are: the field's kind, or its elements' or its map values'. */
const elementKind = (field: DescField): "scalar" | "enum" | "message" =>
  field.fieldKind === "list" ? field.listKind : field.fieldKind === "map" ? field.mapKind : field.fieldKind

/** How a value is sized and written after its tag: a scalar, an enum (an int32) or a message. */
const valueEncoder = (field: DescField): ScalarEncoder => {
  const kind = elementKind(field)
  if (kind === "message") {
    const message = field.message!
    return {
      wireType: wireDelimited,
      measure: (value, sizes) => measureDelimited(sizes, () => sizedEncoder(message).measure(value, sizes)),
      write: (value, writer) => writeDelimited(writer, () => sizedEncoder(message).write(value, writer))
    }
  }
  return scalarEncoders[kind === "enum" ? ScalarType.INT32 : field.scalar!]
}

const fieldEncoder = (field: DescField): FieldEncoder => {
  const name = field.localName
  if (declined(field)) {
    const set = field.fieldKind === "list"
      ? (message: Message) => (message[name] as ReadonlyArray<unknown>).length > 0
      : field.fieldKind === "map"
      ? (message: Message) => Object.keys(message[name] as object).length > 0
      : (message: Message) => valueOf(field, message) !== undefined
    return { measure: (message) => (set(message) ? -1 : 0), write: () => {} }
  }
  if (field.fieldKind === "list") return listEncoder(field, valueEncoder(field))
  if (field.fieldKind === "map") return mapEncoder(field, valueEncoder(field))
  const value = valueEncoder(field)
  const tag = tagBytes(field.number, value.wireType)
  return {
    measure: (message, sizes) => {
      const v = valueOf(field, message)
      if (v === undefined) return 0
      if (v === null) return -1
      const size = value.measure(v, sizes)
      return size < 0 ? -1 : tag.length + size
    },
    write: (message, writer) => {
      const v = valueOf(field, message)
      if (v === undefined) return
      writeTag(writer, tag)
      value.write(v, writer)
    }
  }
}

/**
 * A singular field's value if it is to be written, as protobuf-es decides: the case of its oneof;
 * with explicit presence, an own property (proto2 defaults live on the prototype); otherwise a
 * value other than its type's zero. A required field that is unset is declined (`toBinary`
 * rejects it).
 */
const valueOf = (field: DescField, message: Message): unknown => {
  if (field.oneof !== undefined) {
    const oneof = message[field.oneof.localName] as { readonly case: unknown; readonly value: unknown }
    return oneof.case === field.localName ? oneof.value : undefined
  }
  const value = message[field.localName]
  if (field.presence !== FeatureSet_FieldPresence.IMPLICIT) {
    if (value !== undefined && Object.prototype.hasOwnProperty.call(message, field.localName)) return value
    return field.presence === FeatureSet_FieldPresence.LEGACY_REQUIRED ? null : undefined
  }
  if (field.fieldKind === "enum") return value === field.enum.values[0]!.number ? undefined : value
  switch (field.scalar) {
    case ScalarType.BOOL:
      return value === false ? undefined : value
    case ScalarType.STRING:
      return value === "" ? undefined : value
    case ScalarType.BYTES:
      return value instanceof Uint8Array && value.byteLength === 0 ? undefined : value
    case ScalarType.DOUBLE:
    case ScalarType.FLOAT:
      return Object.is(value, 0) ? undefined : value
    default:
      // Loose, as protobuf-es compares: 0, 0n and "0" are all zero.
      return value == 0 ? undefined : value
  }
}

const listEncoder = (field: Extract<DescField, { readonly fieldKind: "list" }>, value: ScalarEncoder): FieldEncoder => {
  const name = field.localName
  if (field.packed) {
    const tag = tagBytes(field.number, wireDelimited)
    return {
      measure: (message, sizes) => {
        const items = message[name] as ReadonlyArray<unknown>
        if (items.length === 0) return 0
        const size = measureDelimited(sizes, () => {
          let payload = 0
          for (let i = 0; i < items.length; i++) {
            const item = value.measure(items[i], sizes)
            if (item < 0) return -1
            payload += item
          }
          return payload
        })
        return size < 0 ? -1 : tag.length + size
      },
      write: (message, writer) => {
        const items = message[name] as ReadonlyArray<unknown>
        if (items.length === 0) return
        writeTag(writer, tag)
        writeDelimited(writer, () => {
          for (let i = 0; i < items.length; i++) value.write(items[i], writer)
        })
      }
    }
  }
  const tag = tagBytes(field.number, value.wireType)
  return {
    measure: (message, sizes) => {
      const items = message[name] as ReadonlyArray<unknown>
      let size = 0
      for (let i = 0; i < items.length; i++) {
        const item = value.measure(items[i], sizes)
        if (item < 0) return -1
        size += tag.length + item
      }
      return size
    },
    write: (message, writer) => {
      const items = message[name] as ReadonlyArray<unknown>
      for (let i = 0; i < items.length; i++) {
        writeTag(writer, tag)
        value.write(items[i], writer)
      }
    }
  }
}

/**
 * A map key, held as an object key (a string), as the scalar it is; undefined if it is not one
 * (`toBinary` rejects it).
 */
const mapKey = (type: ScalarType, key: string): unknown => {
  switch (type) {
    case ScalarType.STRING:
      return key
    case ScalarType.BOOL:
      return key === "true" ? true : key === "false" ? false : undefined
    case ScalarType.INT64:
    case ScalarType.UINT64:
    case ScalarType.SINT64:
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64:
      return key
    default: {
      const n = Number.parseInt(key)
      return Number.isFinite(n) ? n : undefined
    }
  }
}

/** Each entry a length-delimited message: the key as field 1, the value as field 2, both always written. */
const mapEncoder = (field: Extract<DescField, { readonly fieldKind: "map" }>, value: ScalarEncoder): FieldEncoder => {
  const name = field.localName
  const keyType = field.mapKey
  const key = scalarEncoders[keyType]
  const entryTag = tagBytes(field.number, wireDelimited)
  const keyTag = tagBytes(1, key.wireType)
  const valueTag = tagBytes(2, value.wireType)
  return {
    measure: (message, sizes) => {
      const record = message[name] as Record<string, unknown>
      let size = 0
      for (const k of Object.keys(record)) {
        const entry = measureDelimited(sizes, () => {
          const keyValue = mapKey(keyType, k)
          const keySize = keyValue === undefined ? -1 : key.measure(keyValue, sizes)
          const valueSize = keySize < 0 ? -1 : value.measure(record[k], sizes)
          return valueSize < 0 ? -1 : keyTag.length + keySize + valueTag.length + valueSize
        })
        if (entry < 0) return -1
        size += entryTag.length + entry
      }
      return size
    },
    write: (message, writer) => {
      const record = message[name] as Record<string, unknown>
      for (const k of Object.keys(record)) {
        writeTag(writer, entryTag)
        writeDelimited(writer, () => {
          writeTag(writer, keyTag)
          key.write(mapKey(keyType, k), writer)
          writeTag(writer, valueTag)
          value.write(record[k], writer)
        })
      }
    }
  }
}
