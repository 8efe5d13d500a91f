/**
 * A TCP proxy on loopback that forwards every connection to a target and does one thing wrong
 * to it, as a network or a middlebox may: delays every chunk, stops forwarding after some bytes
 * in one direction (a stall: the connection stays open), cuts both sides (FIN) or resets them
 * (RST) after some bytes, delays the connection to the target, or refuses the connection. The
 * fault is given, not drawn here, so that a seeded fuzzer decides it.
 */
import * as Effect from "effect/Effect"
import * as Net from "node:net"

export type Direction = "up" | "down"

export type Fault =
  | { readonly kind: "none" }
  | { readonly kind: "delay"; readonly ms: number; readonly direction: Direction | "both" }
  | { readonly kind: "stall"; readonly afterBytes: number; readonly direction: Direction }
  | { readonly kind: "cut"; readonly afterBytes: number; readonly direction: Direction }
  | { readonly kind: "reset"; readonly afterBytes: number; readonly direction: Direction }
  | { readonly kind: "slow-connect"; readonly ms: number }
  | { readonly kind: "refuse" }

/** Forwards `from` to `to` under `fault` (which applies only when its direction is `direction`). */
const forward = (from: Net.Socket, to: Net.Socket, direction: Direction, fault: Fault, both: () => void, reset: () => void) => {
  let forwarded = 0
  from.on("data", (chunk: Buffer) => {
    if (fault.kind === "delay" && (fault.direction === "both" || fault.direction === direction)) {
      from.pause()
      setTimeout(() => {
        if (!to.destroyed) to.write(chunk)
        from.resume()
      }, fault.ms)
      return
    }
    if ((fault.kind === "stall" || fault.kind === "cut" || fault.kind === "reset") && fault.direction === direction) {
      const room = Math.max(0, fault.afterBytes - forwarded)
      if (room < chunk.byteLength) {
        if (room > 0) to.write(chunk.subarray(0, room))
        forwarded += room
        if (fault.kind === "cut") return both()
        if (fault.kind === "reset") return reset()
        return // a stall: what comes after is dropped, both stay open
      }
    }
    forwarded += chunk.byteLength
    to.write(chunk)
  })
  from.on("end", () => to.end())
}

/** A proxy to 127.0.0.1:`targetPort` doing `fault` to every connection, on a free port, closed with the Scope. */
export const chaosProxy = (targetPort: number, fault: Fault) =>
  Effect.acquireRelease(
    Effect.async<{ readonly server: Net.Server; readonly sockets: Set<Net.Socket>; readonly port: number }>((resume) => {
      const sockets = new Set<Net.Socket>()
      const track = (socket: Net.Socket) => {
        sockets.add(socket)
        socket.on("close", () => sockets.delete(socket))
        socket.on("error", () => {})
      }
      const server = Net.createServer({ noDelay: true }, (client) => {
        track(client)
        if (fault.kind === "refuse") return void client.destroy()
        client.pause()
        const connect = () => {
          const upstream = Net.connect({ port: targetPort, host: "127.0.0.1", noDelay: true })
          track(upstream)
          const both = () => {
            client.destroy()
            upstream.destroy()
          }
          const reset = () => {
            client.resetAndDestroy()
            upstream.resetAndDestroy()
          }
          client.on("close", () => upstream.destroy())
          upstream.on("close", () => client.destroy())
          forward(client, upstream, "up", fault, both, reset)
          forward(upstream, client, "down", fault, both, reset)
          client.resume()
        }
        if (fault.kind === "slow-connect") setTimeout(connect, fault.ms)
        else connect()
      })
      server.listen(0, "127.0.0.1", () => resume(Effect.succeed({ server, sockets, port: (server.address() as Net.AddressInfo).port })))
    }),
    ({ server, sockets }) =>
      Effect.sync(() => {
        for (const socket of sockets) socket.destroy()
        server.close()
      })
  )

export const showFault = (fault: Fault) => JSON.stringify(fault)
