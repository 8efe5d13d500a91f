/**
 * One port for HTTP/1.1 and HTTP/2: a node:net (or node:tls) server accepts every connection
 * and hands it to a node:http or a node:http2 server, chosen by the HTTP/2 connection preface
 * in cleartext (as connect-go does) and by ALPN over TLS. Both share one request listener, and
 * shutdown is graceful for both: GOAWAY on HTTP/2, `Connection: close` on HTTP/1.1, calls in
 * flight given a grace period, then cut.
 * @internal
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { Buffer } from "node:buffer"
import * as Http from "node:http"
import * as Http2 from "node:http2"
import * as Net from "node:net"
import * as Tls from "node:tls"
import { onClientError } from "./clientError.js"
import { type ResetLimit, resetCounter } from "./resetLimit.js"
import { isHttp2, type NodeRequest, type NodeResponse } from "./exchange.js"
import type { CallCount } from "./server.js"

/** @internal */
export interface ListenOptions {
  readonly port: number
  readonly host: string
  readonly tls: Tls.TlsOptions | undefined
  /** How long an idle HTTP/1.1 connection or HTTP/2 session stays open. */
  readonly idleTimeoutMs: number
  /** How long an HTTP/1.1 client may take to send a request's headers. */
  readonly headersTimeoutMs: number
  /** How many connections may be open at once; past it, one is closed as soon as it is accepted. */
  readonly maxConnections: number | undefined
  readonly maxConcurrentStreams: number
  /** How many calls an HTTP/2 client may reset before it is told to calm down and disconnected. */
  readonly resetLimit: ResetLimit | undefined
  readonly maxHeaderListSize: number
  readonly shutdownGraceMs: number
  /** Called when shutdown begins. */
  readonly onShutdown: () => void
  /** Called when the grace is over: the calls still running are to end, with unavailable. */
  readonly onGraceOver: () => void
}

/** @internal */
export interface Listening {
  readonly address: Net.AddressInfo
  /** How many HTTP/2 sessions, HTTP/1.1 connections and calls are open now (for leak tests). */
  readonly open: () => { readonly sessions: number; readonly connections: number; readonly calls: number }
}

/** How long the calls ended at the end of a shutdown's grace have to write their last words. */
const lastWordsMs = 1000

const preface = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1")

/**
 * Reads from a new cleartext connection until its first bytes tell HTTP/2's preface from an
 * HTTP/1.1 request line, then gives the connection, bytes unread, to `route`.
 */
const sniffPreface = (socket: Net.Socket, route: (socket: Net.Socket, http2: boolean) => void, timeoutMs: number) => {
  let seen: Buffer = Buffer.alloc(0)
  const stop = () => {
    socket.off("data", onData)
    socket.setTimeout(0)
  }
  const onData = (chunk: Buffer) => {
    seen = seen.byteLength === 0 ? chunk : Buffer.concat([seen, chunk])
    const compared = Math.min(seen.byteLength, preface.byteLength)
    const http2 = seen.subarray(0, compared).equals(preface.subarray(0, compared))
    if (http2 && seen.byteLength < preface.byteLength) return
    stop()
    socket.pause()
    socket.unshift(seen)
    route(socket, http2)
  }
  socket.on("data", onData)
  socket.setTimeout(timeoutMs, () => socket.destroy())
  socket.once("error", () => socket.destroy())
}

/** An HTTP/2 request whose header list is too large, refused before it reaches a protocol (as Connect's error). */
const refuseHeaders = (res: NodeResponse, maxBytes: number) => {
  const body = JSON.stringify({ code: "resource_exhausted", message: `request headers are larger than ${maxBytes} bytes` })
  res.writeHead(431, { "content-type": "application/json", "content-length": String(Buffer.byteLength(body)) })
  res.end(body)
}

/**
 * The size of a header list as HTTP/2 counts it (RFC 9113, 6.5.2: name, value and 32 bytes
 * each). node:http2 announces SETTINGS_MAX_HEADER_LIST_SIZE but accepts larger lists; node:http
 * enforces its own limit while parsing.
 */
const headerListSize = (raw: ReadonlyArray<string>) => {
  let size = 0
  for (let i = 0; i < raw.length; i++) size += raw[i]!.length
  return size + 16 * raw.length
}

/**
 * Whether a call on `session` has a handler still at work: its response not ended, and not
 * waiting on the peer either (bytes written that the peer has not taken).
 */
const answering = (calls: CallCount, session: Http2.ServerHttp2Session): boolean => {
  for (const res of calls.running.keys()) {
    if ("stream" in res && res.stream.session === session && !res.stream.writableEnded && res.stream.writableLength === 0) {
      return true
    }
  }
  return false
}

/**
 * Ends a session that saw no frame either way for the idle timeout. Calls that no handler is
 * still answering wait on a peer silent all along (for request messages, or to take what was
 * written): they are done. Calls still at work are let finish once the peer shows it is there by
 * answering a PING, and looked at again every grace (their own timeouts end them); a peer that
 * does not answer is gone, or the session is stuck: Node 20 never closes one that saw a protocol
 * error (Node 22 does at once), nor reads from it again, and holds its calls.
 *
 * A session is ended by destroying its socket (`cut`): `session.destroy()` ends one only once
 * what it was writing has gone out, which a peer that stopped reading holds forever.
 */
const closeIdle = (session: Http2.ServerHttp2Session, cut: () => void, calls: CallCount, options: ListenOptions) => {
  const cutOnceAnswered = () => {
    const timer = setTimeout(() => {
      if (session.destroyed) return
      if (answering(calls, session)) timer.refresh()
      else cut()
    }, options.shutdownGraceMs)
    session.once("close", () => clearTimeout(timer))
  }
  if (!answering(calls, session)) {
    session.close()
    return cut()
  }
  // Closing already (a shutdown, whose grace ends it): a PING now would be cancelled at once.
  if (session.closed) return cutOnceAnswered()
  const unanswered = setTimeout(cut, Math.min(options.idleTimeoutMs, options.shutdownGraceMs))
  session.once("close", () => clearTimeout(unanswered))
  // The GOAWAY waits for the answer, for the same reason.
  session.ping((error) => {
    clearTimeout(unanswered)
    if (error !== null || session.destroyed) return cut()
    session.close()
    cutOnceAnswered()
  })
}

/**
 * Serves `listener` on one port over HTTP/1.1 and HTTP/2 (cleartext, or TLS when `tls` is
 * given) until the Scope closes.
 * @internal
 */
export const listen = (
  listener: (req: NodeRequest, res: NodeResponse) => void,
  calls: CallCount,
  options: ListenOptions
): Effect.Effect<Listening, Error, Scope.Scope> =>
  Effect.suspend(() => {
    let shuttingDown = false
    const track = (req: NodeRequest, res: NodeResponse) => {
      // The call itself is refused in its protocol's terms (the handler knows the server is
      // shutting down); the HTTP/1.1 connection closes after the answer.
      if (shuttingDown && res instanceof Http.ServerResponse) res.shouldKeepAlive = false
      if (isHttp2(req) && headerListSize(req.rawHeaders) > options.maxHeaderListSize) {
        return refuseHeaders(res, options.maxHeaderListSize)
      }
      listener(req, res)
    }

    // Node checks its connections' timeouts every 30 s by default: often enough for its own
    // 60 s header timeout, not for a shorter one.
    const http1 = Http.createServer(
      { connectionsCheckingInterval: Math.min(30_000, Math.max(250, options.headersTimeoutMs / 4)) },
      track
    )
    http1.on("clientError", onClientError)
    http1.keepAliveTimeout = options.idleTimeoutMs
    http1.headersTimeout = options.headersTimeoutMs
    // Above Node's 1 s minimum for a connection check, and at least the headers' own timeout.
    http1.requestTimeout = Math.max(options.headersTimeoutMs, 300_000)
    const connections = new Set<Net.Socket>()
    http1.on("connection", (socket: Net.Socket) => {
      connections.add(socket)
      socket.once("close", () => {
        connections.delete(socket)
        onClosed?.()
      })
    })

    const http2 = Http2.createServer({
      settings: { maxConcurrentStreams: options.maxConcurrentStreams, maxHeaderListSize: options.maxHeaderListSize },
      maxHeaderListPairs: 256
    }, track)
    const sessions = new Set<Http2.ServerHttp2Session>()
    if (options.resetLimit !== undefined) calls.onReset = resetCounter(options.resetLimit)
    http2.on("session", (session) => {
      sessions.add(session)
      session.once("close", () => {
        sessions.delete(session)
        onClosed?.()
      })
      // The session's own socket: its `socket` is a proxy that refuses to be destroyed. The
      // session is destroyed at once after it, so that its calls end now, not when the socket's
      // "close" comes.
      const socket = routing!
      const cut = () => {
        socket.destroy()
        session.destroy()
      }
      // A session with no frames either way for this long is ended (closeIdle).
      session.setTimeout(options.idleTimeoutMs, () => closeIdle(session, cut, calls, options))
      session.on("error", () => session.destroy())
    })

    // The socket being handed to node:http2, which makes a session of it within "connection".
    let routing: Net.Socket | undefined
    const route = (socket: Net.Socket, isHttp2: boolean) => {
      if (isHttp2) {
        // node:http2 reads what the socket already holds (the sniffed preface) itself.
        routing = socket
        http2.emit("connection", socket)
        routing = undefined
      } else {
        http1.emit("connection", socket)
        // node:http parses the socket's handle directly from now on: the bytes sniffed and put
        // back reach its parser only as a "data" event of the flowing socket.
        socket.resume()
      }
    }
    // Every connection accepted, whatever it turned out to be, for the shutdown's cut.
    const sockets = new Set<Net.Socket>()
    const accepted = (socket: Net.Socket) => {
      sockets.add(socket)
      socket.once("close", () => sockets.delete(socket))
    }
    // noDelay as node:http sets it on the sockets it accepts itself: small responses leave at once.
    const acceptor = options.tls === undefined
      ? Net.createServer({ noDelay: true }, (socket) => {
        accepted(socket)
        sniffPreface(socket, route, options.idleTimeoutMs)
      })
      : Tls.createServer(
        { ...options.tls, noDelay: true, ALPNProtocols: ["h2", "http/1.1"] },
        (socket) => {
          accepted(socket)
          route(socket, socket.alpnProtocol === "h2")
        }
      )
    // Node closes a connection past the limit at once, before reading a byte of it (Go's
    // netutil.LimitListener would leave it queued in the kernel's backlog instead).
    if (options.maxConnections !== undefined) acceptor.maxConnections = options.maxConnections
    // A failed TLS handshake is the client's problem, not the server's.
    acceptor.on("tlsClientError", (_error: Error, socket: Net.Socket) => socket.destroy())

    // Set during shutdown: called whenever a connection closes.
    let onClosed: (() => void) | undefined

    const shutdown = Effect.async<void>((resume) => {
      shuttingDown = true
      options.onShutdown()
      acceptor.close()
      for (const session of sessions) session.close()
      // Stops its timeout checks and closes its idle connections (it was never listening itself).
      http1.close()
      onClosed = () => {
        if (sessions.size > 0 || connections.size > 0) return
        clearTimeout(timer)
        onClosed = undefined
        resume(Effect.void)
      }
      // The sockets themselves: node:http2 ends a destroyed session only once what it was writing
      // has gone out, which a peer that stops reading holds forever, and it resets the session's
      // streams with NO_ERROR, which a client reads as a response complete. A connection lost is
      // what it is: the client's calls are unavailable.
      const cut = () => {
        for (const socket of sockets) socket.destroy()
      }
      // Every call has ended: the connections close once what they were sending is out (HTTP/2
      // sessions on their own, being closed already), and are cut if that takes too long.
      const finish = () => {
        calls.onIdle = undefined
        clearTimeout(timer)
        for (const socket of connections) socket.destroySoon()
        timer = setTimeout(cut, lastWordsMs)
        onClosed?.()
      }
      // At the end of the grace the calls still running are answered unavailable, and given a
      // moment to write it before their connections are cut.
      const graceOver = () => {
        options.onGraceOver()
        timer = setTimeout(cut, lastWordsMs)
      }
      let timer = setTimeout(graceOver, options.shutdownGraceMs)
      if (calls.running.size === 0) finish()
      else calls.onIdle = finish
    })

    return Effect.acquireRelease(
      Effect.async<Net.AddressInfo, Error>((resume) => {
        const onError = (error: Error) => resume(Effect.fail(error))
        acceptor.once("error", onError)
        acceptor.listen(options.port, options.host, () => {
          acceptor.off("error", onError)
          // node:http starts checking its connections' header and request timeouts (slowloris)
          // when it listens; it never does itself here, so it is told.
          http1.emit("listening")
          resume(Effect.succeed(acceptor.address() as Net.AddressInfo))
        })
      }),
      () => shutdown
    ).pipe(Effect.map((address): Listening => ({
      address,
      open: () => ({ sessions: sessions.size, connections: connections.size, calls: calls.running.size })
    })))
  })
