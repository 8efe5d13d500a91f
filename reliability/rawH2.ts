/**
 * An HTTP/2 client connection made of frames over node:net, as clients other than Node's own
 * behave: a stream it gives up on is reset with RST_STREAM alone (node:http2's `close()` sends
 * END_STREAM first, which tells the server the request is whole). It answers the server's
 * SETTINGS and PINGs and keeps every frame the server sent.
 */
import * as Effect from "effect/Effect"
import { Buffer } from "node:buffer"
import * as Net from "node:net"
import * as F from "./h2Frames.js"

export interface RawH2 {
  readonly socket: Net.Socket
  /** Frames received so far (whole ones). */
  readonly frames: () => ReadonlyArray<F.Frame>
}

/**
 * Connects to 127.0.0.1:`port`, sends the preface and empty SETTINGS, and is ready once it has
 * acknowledged the server's; destroyed with the Scope.
 */
export const rawH2 = (port: number) =>
  Effect.acquireRelease(
    Effect.async<RawH2>((resume) => {
      const frames: Array<F.Frame> = []
      let ready = false
      let pending: Buffer = Buffer.alloc(0)
      const socket = Net.connect({ port, host: "127.0.0.1", noDelay: true }, () => socket.write(Buffer.concat([F.preface, F.settings()])))
      socket.on("error", () => {})
      socket.on("close", () => {
        if (!ready) resume(Effect.dieMessage("the server closed the connection before its SETTINGS"))
      })
      socket.on("data", (chunk: Buffer) => {
        pending = pending.byteLength === 0 ? chunk : Buffer.concat([pending, chunk])
        const parsed = F.parseFrames(pending)
        pending = pending.subarray(pending.byteLength - parsed.rest)
        for (const frame of parsed.frames) {
          frames.push(frame)
          if (frame.type === F.frameType.settings && (frame.flags & F.flag.ack) === 0) {
            socket.write(F.settingsAck())
            // Ready once the server's SETTINGS are acknowledged: an ACK written later could land
            // inside a header block the caller leaves open, which is a protocol error of ours.
            if (!ready) resume(Effect.succeed({ socket, frames: () => frames }))
            ready = true
          }
          if (frame.type === F.frameType.ping && (frame.flags & F.flag.ack) === 0) socket.write(F.ping(frame.payload, true))
        }
      })
    }),
    ({ socket }) => Effect.sync(() => socket.destroy())
  )

/** The header block of a POST to `path` on this connection, with `fields` after the pseudo-headers. */
export const postHeaders = (path: string, fields: ReadonlyArray<readonly [string, string]>) =>
  F.headerBlock([[":method", "POST"], [":scheme", "http"], [":path", path], [":authority", "127.0.0.1"], ...fields])
