/**
 * Byte helpers shared by the HTTP adapters.
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { ConnectError } from "../ConnectError.js"
import { tooLarge } from "./http.js"

/** Collects a byte stream, failing with resource_exhausted as soon as it passes `maxBytes`. @internal */
export const collectBounded = <E>(
  stream: Stream.Stream<Uint8Array, E>,
  maxBytes: number
): Effect.Effect<Uint8Array, E | ConnectError> =>
  Effect.suspend(() => {
    const chunks: Array<Uint8Array> = []
    let size = 0
    return stream.pipe(
      Stream.runForEach((chunk) => {
        size += chunk.byteLength
        if (size > maxBytes) {
          return Effect.fail(new ConnectError({ code: "resource_exhausted", message: tooLarge(size, maxBytes) }))
        }
        chunks.push(chunk)
        return Effect.void
      }),
      Effect.map(() => concatBytes(chunks, size))
    )
  })

/** @internal */
export const concatBytes = (chunks: ReadonlyArray<Uint8Array>, size: number): Uint8Array => {
  if (chunks.length === 1) return chunks[0]!
  const out = new Uint8Array(size)
  let offset = 0
  for (const chunk of chunks) {
    out.set(chunk, offset)
    offset += chunk.byteLength
  }
  return out
}

