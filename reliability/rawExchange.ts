/**
 * One connection's worth of bytes to a server, bounded in time: write the input, collect what
 * the server sends until it closes. A server still holding the connection after `answerMs` is
 * sent a FIN (the peer has nothing more to say): node:http then aborts what it was reading and
 * closes, node:http2 ends the session. One still open `closeMs` later is a hang.
 */
import * as Effect from "effect/Effect"
import { Buffer } from "node:buffer"
import * as Net from "node:net"

export interface RawAnswer {
  /** What the server sent, in order. */
  readonly bytes: Buffer
  /**
   * `server`: it closed (or reset) the connection within `answerMs`; `after-fin`: only once
   * told the peer was done (it was waiting for more input, or kept the connection alive);
   * `never`: it held the connection past both bounds.
   */
  readonly closed: "server" | "after-fin" | "never"
  /** Milliseconds from the first byte written to the close. */
  readonly ms: number
}

export interface Bounds {
  readonly answerMs: number
  readonly closeMs: number
}

/**
 * Connects to 127.0.0.1:`port`, writes each part of `input` (a part at a time, as separate
 * writes), and reads until the server closes; the socket is destroyed when the Effect ends or
 * is interrupted.
 */
export const rawExchange = (port: number, input: ReadonlyArray<Uint8Array>, bounds: Bounds): Effect.Effect<RawAnswer> =>
  Effect.async<RawAnswer>((resume) => {
    const socket = Net.connect({ port, host: "127.0.0.1", noDelay: true })
    const received: Array<Buffer> = []
    let finSent = false
    let finTimer: ReturnType<typeof setTimeout> | undefined
    const start = Date.now()
    let done = false
    const finish = (closed: RawAnswer["closed"]) => {
      if (done) return
      done = true
      clearTimeout(answerTimer)
      clearTimeout(finTimer)
      socket.destroy()
      resume(Effect.succeed({ bytes: Buffer.concat(received), closed, ms: Date.now() - start }))
    }
    const answerTimer = setTimeout(() => {
      finSent = true
      socket.end()
      finTimer = setTimeout(() => finish("never"), bounds.closeMs)
    }, bounds.answerMs)
    socket.on("data", (chunk: Buffer) => received.push(chunk))
    // A reset (ECONNRESET, EPIPE on a write after the server closed) is a close too.
    socket.on("error", () => {})
    socket.on("close", () => finish(finSent ? "after-fin" : "server"))
    socket.on("connect", () => {
      for (const part of input) socket.write(part)
    })
    return Effect.sync(() => {
      done = true
      clearTimeout(answerTimer)
      clearTimeout(finTimer)
      socket.destroy()
    })
  })
