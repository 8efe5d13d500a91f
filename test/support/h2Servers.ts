/**
 * HTTP/2 servers for the HTTP/2 client's tests, each owned by a Scope and counting the
 * connections (sessions) open on it, so that a test can check the client leaks none:
 * connect-node on node:http2 (cleartext or TLS, optionally asking for a client certificate),
 * and raw node:http2 servers whose streams the test handles itself.
 */
import { type ConnectRouter } from "@connectrpc/connect"
import { connectNodeAdapter } from "@connectrpc/connect-node"
import * as Effect from "effect/Effect"
import * as Http2 from "node:http2"
import type { AddressInfo } from "node:net"
import type * as Net from "node:net"
import { connectNodeRoutes } from "./testService.js"

export interface H2Server {
  readonly url: string
  /** Sessions open on the server now. */
  readonly open: () => number
  /** Sessions the server has accepted so far. */
  readonly accepted: () => number
  /** The server's sessions (to send GOAWAY from). */
  readonly sessions: ReadonlySet<Http2.ServerHttp2Session>
  /** Destroys the sockets under every session, as a network failure would. */
  readonly dropConnections: () => void
}

/** A server's certificate and key (PEM), e.g. from `testCertificates()`. */
export interface Tls {
  readonly key: string
  readonly cert: string
}

export interface H2ServerOptions {
  readonly settings?: Http2.Settings
  /** Serve over TLS with this certificate. */
  readonly tls?: Tls & {
    /** Ask for a client certificate signed by this CA, and refuse clients without one. */
    readonly clientCa?: string
  }
}

type Handler = (stream: Http2.ServerHttp2Stream, headers: Http2.IncomingHttpHeaders) => void

/** A node:http2 server on a free loopback port, handling streams with `handler` (or `request` for the compat API). */
export const h2Server = (
  handler: { readonly stream: Handler } | { readonly request: (req: Http2.Http2ServerRequest, res: Http2.Http2ServerResponse) => void },
  options: H2ServerOptions = {}
) =>
  Effect.acquireRelease(
    Effect.async<{ server: Http2.Http2Server | Http2.Http2SecureServer; h2: H2Server }>((resume) => {
      const sessions = new Set<Http2.ServerHttp2Session>()
      const sockets = new Set<Net.Socket>()
      let accepted = 0
      const listener = "request" in handler ? handler.request : undefined
      const server = options.tls === undefined
        ? Http2.createServer({ settings: options.settings ?? {} }, listener)
        : Http2.createSecureServer({
          settings: options.settings ?? {},
          key: options.tls.key,
          cert: options.tls.cert,
          ...(options.tls.clientCa === undefined ? {} : { ca: options.tls.clientCa, requestCert: true, rejectUnauthorized: true })
        }, listener)
      if ("stream" in handler) {
        server.on("stream", (stream, headers) => {
          stream.on("error", () => {})
          handler.stream(stream, headers)
        })
      }
      server.on("connection", (socket: Net.Socket) => {
        sockets.add(socket)
        socket.on("close", () => sockets.delete(socket))
      })
      server.on("secureConnection", (socket: Net.Socket) => {
        sockets.add(socket)
        socket.on("close", () => sockets.delete(socket))
      })
      server.on("session", (session) => {
        accepted++
        sessions.add(session)
        session.on("error", () => {})
        session.on("close", () => sessions.delete(session))
      })
      server.listen(0, "127.0.0.1", () => {
        const { port } = server.address() as AddressInfo
        resume(Effect.succeed({
          server,
          h2: {
            url: `${options.tls === undefined ? "http" : "https"}://127.0.0.1:${port}`,
            open: () => sessions.size,
            accepted: () => accepted,
            sessions,
            dropConnections: () => {
              for (const socket of sockets) socket.destroy()
            }
          }
        }))
      })
    }),
    ({ h2, server }) =>
      Effect.async<void>((resume) => {
        for (const session of h2.sessions) session.destroy()
        server.close(() => resume(Effect.void))
      })
  ).pipe(Effect.map(({ h2 }) => h2))

/** connect-node serving `routes` (TestService by default) on node:http2. */
export const connectNodeH2 = (
  options: H2ServerOptions & { readonly routes?: (router: ConnectRouter) => void } = {}
) => h2Server({ request: connectNodeAdapter({ routes: options.routes ?? connectNodeRoutes }) }, options)

/** Waits until `condition` holds, for up to `ms`. */
export const eventually = (condition: () => boolean, ms = 2000) =>
  Effect.gen(function*() {
    const until = Date.now() + ms
    while (!condition() && Date.now() < until) yield* Effect.sleep("10 millis")
    return condition()
  })
