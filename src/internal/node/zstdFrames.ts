/**
 * Whether bytes are whole zstd frames (RFC 8878, section 3.1), read from the frames' and blocks'
 * headers alone. Node 22's zstd decoder returns what it has of a cut frame without an error
 * (nodejs/node#64592, fixed in later releases), so a message cut short would pass for a shorter
 * one, or for an empty one.
 * @internal
 */

const frameMagic = 0xfd2fb528
const isSkippableMagic = (magic: number) => (magic & 0xfffffff0) >>> 0 === 0x184d2a50

/** Bytes of the Dictionary_ID field by its flag, and of Frame_Content_Size by its flag. */
const dictionaryIdBytes = [0, 1, 2, 4] as const
const contentSizeBytes = [0, 2, 4, 8] as const

/**
 * True when `data` is one or more complete zstd frames (skippable frames allowed) and nothing
 * else: every frame has its header, its blocks up to the one marked last, and its checksum.
 * The content of blocks is the decoder's to judge.
 * @internal
 */
export const isWholeZstd = (data: Uint8Array): boolean => {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength)
  const end = data.byteLength
  let at = 0
  while (at < end) {
    if (at + 4 > end) return false
    const magic = view.getUint32(at, true)
    at += 4
    if (isSkippableMagic(magic)) {
      if (at + 4 > end) return false
      at += 4 + view.getUint32(at, true)
      continue
    }
    if (magic !== frameMagic || at + 1 > end) return false
    const descriptor = data[at]!
    at += 1
    const singleSegment = (descriptor & 0x20) !== 0
    const contentSizeFlag = descriptor >> 6
    at += (singleSegment ? 0 : 1) + dictionaryIdBytes[descriptor & 0x03]! +
      (contentSizeFlag === 0 && singleSegment ? 1 : contentSizeBytes[contentSizeFlag]!)
    for (let last = false; !last;) {
      if (at + 3 > end) return false
      const header = data[at]! | (data[at + 1]! << 8) | (data[at + 2]! << 16)
      at += 3
      last = (header & 1) === 1
      const type = (header >> 1) & 3
      // Reserved; an RLE block holds one byte, repeated.
      if (type === 3) return false
      at += type === 1 ? 1 : header >>> 3
    }
    if ((descriptor & 0x04) !== 0) at += 4
    if (at > end) return false
  }
  return end > 0 && at === end
}
