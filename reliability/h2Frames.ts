/**
 * HTTP/2 as bytes (RFC 9113), for peers no HTTP/2 library would be: frames of any type, flags,
 * stream and length, header blocks in HPACK's plainest form (literals, no Huffman, no index),
 * and a reader that splits what a peer sent back into frames.
 */
import { Buffer } from "node:buffer"

export const preface = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1")

export const frameType = {
  data: 0x0,
  headers: 0x1,
  priority: 0x2,
  rstStream: 0x3,
  settings: 0x4,
  pushPromise: 0x5,
  ping: 0x6,
  goaway: 0x7,
  windowUpdate: 0x8,
  continuation: 0x9
} as const

export const flag = { endStream: 0x1, ack: 0x1, endHeaders: 0x4, padded: 0x8, priority: 0x20 } as const

/** A frame: 9 bytes of header (the length written is the payload's unless `declaredLength` lies), then the payload. */
export const frame = (type: number, flags: number, streamId: number, payload: Uint8Array, declaredLength = payload.byteLength): Buffer => {
  const out = Buffer.alloc(9 + payload.byteLength)
  out.writeUIntBE(declaredLength & 0xffffff, 0, 3)
  out[3] = type
  out[4] = flags
  out.writeUInt32BE(streamId >>> 0, 5)
  out.set(payload, 9)
  return out
}

const uint32s = (...values: Array<number>) => {
  const out = Buffer.alloc(4 * values.length)
  values.forEach((v, i) => out.writeUInt32BE(v >>> 0, 4 * i))
  return out
}

export const settings = (entries: ReadonlyArray<readonly [number, number]> = []) => {
  const payload = Buffer.alloc(6 * entries.length)
  entries.forEach(([id, value], i) => {
    payload.writeUInt16BE(id & 0xffff, 6 * i)
    payload.writeUInt32BE(value >>> 0, 6 * i + 2)
  })
  return frame(frameType.settings, 0, 0, payload)
}
export const settingsAck = () => frame(frameType.settings, flag.ack, 0, new Uint8Array(0))
export const rstStream = (streamId: number, code: number) => frame(frameType.rstStream, 0, streamId, uint32s(code))
export const windowUpdate = (streamId: number, increment: number) => frame(frameType.windowUpdate, 0, streamId, uint32s(increment))
export const goaway = (lastStreamId: number, code: number) => frame(frameType.goaway, 0, 0, uint32s(lastStreamId, code))
export const ping = (data: Uint8Array = new Uint8Array(8), ack = false) => frame(frameType.ping, ack ? flag.ack : 0, 0, data)
export const data = (streamId: number, bytes: Uint8Array, endStream: boolean) =>
  frame(frameType.data, endStream ? flag.endStream : 0, streamId, bytes)

/** HPACK's integer with an `prefixBits`-bit prefix (RFC 7541, 5.1), the prefix's other bits 0. */
const hpackInteger = (value: number, prefixBits: number): Array<number> => {
  const max = (1 << prefixBits) - 1
  if (value < max) return [value]
  const out = [max]
  let rest = value - max
  while (rest >= 128) {
    out.push((rest % 128) + 128)
    rest = Math.floor(rest / 128)
  }
  out.push(rest)
  return out
}

const hpackString = (text: string) => {
  const bytes = Buffer.from(text, "latin1")
  return [...hpackInteger(bytes.byteLength, 7), ...bytes]
}

/** A header block of literal fields without indexing and with literal names (RFC 7541, 6.2.2), in order. */
export const headerBlock = (fields: ReadonlyArray<readonly [string, string]>): Buffer =>
  Buffer.from(fields.flatMap(([name, value]) => [0x00, ...hpackString(name), ...hpackString(value)]))

export const headers = (streamId: number, block: Uint8Array, endStream: boolean, endHeaders = true) =>
  frame(frameType.headers, (endStream ? flag.endStream : 0) | (endHeaders ? flag.endHeaders : 0), streamId, block)

export interface Frame {
  readonly type: number
  readonly flags: number
  readonly streamId: number
  readonly payload: Buffer
}

/** The whole frames at the start of `bytes`, and how many bytes are left over (a frame cut short). */
export const parseFrames = (bytes: Buffer): { readonly frames: ReadonlyArray<Frame>; readonly rest: number } => {
  const frames: Array<Frame> = []
  let at = 0
  while (at + 9 <= bytes.byteLength) {
    const length = bytes.readUIntBE(at, 3)
    if (at + 9 + length > bytes.byteLength) break
    frames.push({ type: bytes[at + 3]!, flags: bytes[at + 4]!, streamId: bytes.readUInt32BE(at + 5) & 0x7fffffff, payload: bytes.subarray(at + 9, at + 9 + length) })
    at += 9 + length
  }
  return { frames, rest: bytes.byteLength - at }
}
