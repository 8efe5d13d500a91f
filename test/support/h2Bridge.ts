/**
 * connect-node over HTTP/2, reachable over HTTP/1.1 through a bridge.
 *
 * connect-node refuses bidi streams over HTTP/1.x (505 Version Not Supported), while our
 * client speaks HTTP/1.1 (NodeHttpClient's undici, no h2c). The bridge forwards each HTTP/1.1
 * exchange as one HTTP/2 stream to connect-node on node:http2, body chunks passed along as
 * they come, so that bidi calls can run against connect-node too.
 */
import { connectNodeAdapter } from "@connectrpc/connect-node"
import * as Effect from "effect/Effect"
import * as Http2 from "node:http2"
import type { AddressInfo } from "node:net"
import { nodeServer } from "./servers.js"
import { connectNodeRoutes } from "./testService.js"

/** connect-node serving TestService on node:http2 (cleartext, prior knowledge), closed with the Scope. */
export const connectNodeH2Server = (options: { readMaxBytes?: number } = {}) =>
  Effect.acquireRelease(
    Effect.async<{ server: Http2.Http2Server; sessions: Set<Http2.ServerHttp2Session>; url: string }>((resume) => {
      const sessions = new Set<Http2.ServerHttp2Session>()
      const server = Http2.createServer(connectNodeAdapter({ routes: connectNodeRoutes, ...options }))
      server.on("session", (session) => {
        sessions.add(session)
        session.on("close", () => sessions.delete(session))
      })
      server.listen(0, "127.0.0.1", () => {
        const { port } = server.address() as AddressInfo
        resume(Effect.succeed({ server, sessions, url: `http://127.0.0.1:${port}` }))
      })
    }),
    ({ server, sessions }) =>
      Effect.async<void>((resume) => {
        for (const session of sessions) session.destroy()
        server.close(() => resume(Effect.void))
      })
  ).pipe(Effect.map(({ url }) => url))

const hopByHop = new Set(["connection", "keep-alive", "transfer-encoding", "upgrade", "host", "proxy-connection", "te"])

/** An HTTP/1.1 server on a free port forwarding every request to the HTTP/2 server at `target`. */
export const h1ToH2Bridge = (target: string) =>
  Effect.gen(function*() {
    const session = yield* Effect.acquireRelease(
      Effect.sync(() => Http2.connect(target)),
      (session) => Effect.sync(() => session.destroy())
    )
    session.on("error", () => {})
    const { url } = yield* nodeServer((req, res) => {
      const headers: Http2.OutgoingHttpHeaders = { ":method": req.method ?? "GET", ":path": req.url ?? "/" }
      for (const [name, value] of Object.entries(req.headers)) {
        if (!hopByHop.has(name) && value !== undefined) headers[name] = value
      }
      const stream = session.request(headers, { endStream: false })
      stream.on("response", (responseHeaders) => {
        const out: Record<string, string | Array<string>> = {}
        for (const [name, value] of Object.entries(responseHeaders)) {
          if (!name.startsWith(":") && !hopByHop.has(name) && value !== undefined) out[name] = value as string
        }
        res.writeHead(Number(responseHeaders[":status"] ?? 502), out)
      })
      stream.on("data", (chunk: Buffer) => res.write(chunk))
      stream.on("end", () => res.end())
      stream.on("error", () => res.destroy())
      res.on("close", () => stream.destroy())
      req.on("data", (chunk: Buffer) => stream.write(chunk))
      req.on("end", () => stream.end())
    })
    return url
  })

/** connect-node on HTTP/2 behind an HTTP/1.1 bridge: the bridge's URL. */
export const connectNodeBridged = (options: { readMaxBytes?: number } = {}) =>
  Effect.flatMap(connectNodeH2Server(options), h1ToH2Bridge)
