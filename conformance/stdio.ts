/**
 * The runner's framing on stdin and stdout: each message is a 4-byte big-endian length
 * followed by that many bytes of binary protobuf.
 */
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"

/** Reassembles size-delimited frames from chunks, whatever the chunk boundaries. */
async function* frames(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  let pending = Buffer.alloc(0)
  for await (const chunk of chunks) {
    pending = pending.length === 0 ? Buffer.from(chunk) : Buffer.concat([pending, chunk])
    while (pending.length >= 4) {
      const size = pending.readUInt32BE(0)
      if (pending.length < 4 + size) break
      yield pending.subarray(4, 4 + size)
      pending = pending.subarray(4 + size)
    }
  }
  if (pending.length > 0) throw new Error(`stdin ended inside a frame (${pending.length} bytes left)`)
}

/** The frames read from stdin until EOF. */
export const readFrames: Stream.Stream<Uint8Array, Error> = Stream.suspend(() =>
  Stream.fromAsyncIterable(frames(process.stdin), (cause) => cause instanceof Error ? cause : new Error(String(cause)))
)

/** Writes one frame to stdout, in a single write so that concurrent writers cannot interleave. */
export const writeFrame = (message: Uint8Array): Effect.Effect<void> =>
  Effect.async<void>((resume) => {
    const frame = Buffer.allocUnsafe(4 + message.byteLength)
    frame.writeUInt32BE(message.byteLength, 0)
    frame.set(message, 4)
    process.stdout.write(frame, () => resume(Effect.void))
  })
