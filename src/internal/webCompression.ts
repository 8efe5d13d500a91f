/**
 * gzip on the Compression Streams API, which browsers, Deno, Bun, edge runtimes and Node all
 * have, so that the main entry compresses without node:zlib. Decompression reads the output a
 * chunk at a time and stops at the reader's limit, so a small bomb cannot expand without bound.
 * @internal
 */
import * as Effect from "effect/Effect"
import { ByteAccumulator } from "./bytes.js"
import { type Compression, decompressedTooLarge } from "./compression.js"
import { ConnectError } from "./connectError.js"

type Format = "gzip" | "deflate" | "deflate-raw"

const tooLargeMark = Symbol("tooLarge")

const transform = (
  data: Uint8Array,
  stream: TransformStream<BufferSource, Uint8Array>,
  outputLimit: number
): Promise<Uint8Array | typeof tooLargeMark> => {
  const writer = stream.writable.getWriter()
  // Write errors surface on the reader as well; this only keeps them from being unhandled.
  writer.write(data as BufferSource).then(() => writer.close()).catch(() => {})
  const reader = stream.readable.getReader()
  const output = new ByteAccumulator(outputLimit)
  const pump = (): Promise<Uint8Array | typeof tooLargeMark> =>
    reader.read().then(({ done, value }) => {
      if (done) return output.take()
      if (output.size + value.byteLength > outputLimit) {
        return reader.cancel().then(() => tooLargeMark)
      }
      output.append(value)
      return pump()
    })
  return pump()
}

/** @internal */
export const webCompression = (name: string, format: Format): Compression => ({
  name,
  compress: (data) =>
    Effect.tryPromise({
      try: () => transform(data, new CompressionStream(format), Number.MAX_SAFE_INTEGER) as Promise<Uint8Array>,
      catch: (cause) => new ConnectError({ code: "internal", message: `${name} compression failed`, cause })
    }),
  decompress: (data, readMaxBytes) =>
    Effect.tryPromise({
      try: () => transform(data, new DecompressionStream(format), readMaxBytes),
      catch: (cause) =>
        new ConnectError({ code: "invalid_argument", message: `invalid ${name} data: ${String(cause)}`, cause })
    }).pipe(Effect.flatMap((out) => out === tooLargeMark ? Effect.fail(decompressedTooLarge(readMaxBytes)) : Effect.succeed(out)))
})
