/**
 * The HTTP/2 connections of one origin (node:http2 `ClientHttp2Session`s): shared by every call
 * to it, a new one opened when the current ones are full (the peer's SETTINGS_MAX_CONCURRENT_STREAMS)
 * or going away (GOAWAY), kept alive with PINGs (gRPC proposal A8) and closed when idle.
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Http2 from "node:http2"
import { ConnectError } from "../connectError.js"

/** @internal */
export interface TlsOptions {
  readonly ca?: string | Uint8Array | ReadonlyArray<string | Uint8Array> | undefined
  readonly cert?: string | Uint8Array | ReadonlyArray<string | Uint8Array> | undefined
  readonly key?: string | Uint8Array | ReadonlyArray<string | Uint8Array> | undefined
  readonly rejectUnauthorized?: boolean | undefined
}

/** @internal */
export interface SessionOptions {
  readonly tls: TlsOptions
  /** Ping a connection when nothing was received for this long (Infinity: never). */
  readonly pingIntervalMs: number
  /** A PING unanswered after this long destroys the connection: its calls fail with unavailable. */
  readonly pingTimeoutMs: number
  /** Keep pinging connections with no open stream (by default only busy ones are pinged). */
  readonly pingIdle: boolean
  /** A connection with no open stream for this long is closed (Infinity: never). */
  readonly idleTimeoutMs: number
  /** A connection whose peer has not sent its SETTINGS after this long fails the calls waiting for it. */
  readonly connectTimeoutMs: number
}

/** @internal */
export interface SessionPool {
  /** Opens a stream on a connection with room for it, connecting first if none has. */
  readonly request: (headers: Http2.OutgoingHttpHeaders, endStream: boolean) => Effect.Effect<Http2.ClientHttp2Stream, ConnectError>
  /** The connections open (connecting, ready or draining), for tests and diagnostics. */
  readonly size: () => number
  /** Closes every connection (streams still open are reset) and refuses further requests. */
  readonly close: Effect.Effect<void>
}

const tooManyPings = "too_many_pings"

const unavailable = (message: string, cause?: unknown) => new ConnectError({ code: "unavailable", message, cause })

/** A timer that never keeps the process alive, and none at all for an infinite delay. */
const timer = (ms: number, f: () => void): NodeJS.Timeout | undefined =>
  Number.isFinite(ms) && ms <= 0x7fffffff ? setTimeout(f, ms).unref() : undefined

/** Buffers as node:tls wants them (it takes Buffers, not any Uint8Array). */
const tlsValue = (value: TlsOptions["ca"]): string | Buffer | Array<string | Buffer> | undefined =>
  value === undefined
    ? undefined
    : typeof value === "string"
    ? value
    : value instanceof Uint8Array
    ? Buffer.from(value.buffer, value.byteOffset, value.byteLength)
    : value.map((v) => typeof v === "string" ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength))

/** A call waiting for a connection to be ready or gone, on the connection it waits for now. */
interface Waiter {
  /** With why the connection failed, or nothing once it is ready (or draining: choose again). */
  readonly wake: (failure: ConnectError | undefined) => void
  on: Connection
}

/** One ClientHttp2Session and its bookkeeping. */
class Connection {
  streams = 0
  ready = false
  /** GOAWAY received, or closing: finishes its streams but takes no new one. */
  draining = false
  failure: ConnectError | undefined
  private lastAlive = Date.now()
  private pingTimer: NodeJS.Timeout | undefined
  private pongTimer: NodeJS.Timeout | undefined
  private idleTimer: NodeJS.Timeout | undefined
  private readonly waiters = new Set<Waiter>()

  constructor(readonly session: Http2.ClientHttp2Session, private readonly pool: Pool) {
    const connectTimer = timer(pool.options.connectTimeoutMs, () =>
      this.fail(unavailable(`HTTP/2 connection to ${pool.origin} timed out`)))
    // The peer's first SETTINGS, not "connect", says how many streams it takes: until then
    // remoteSettings holds defaults, and streams past the real limit would queue in nghttp2.
    session.once("remoteSettings", () => {
      clearTimeout(connectTimer)
      this.ready = true
      this.lastAlive = Date.now()
      // An idle connection must not keep the process alive; a stream refs it again.
      session.unref()
      this.idle()
      this.settle()
    })
    session.on("error", (error: Error) => {
      this.failure ??= unavailable(error.message, error)
    })
    session.on("goaway", (code: number, _lastStreamId: number, data?: Buffer) => {
      this.draining = true
      // A8: a server that finds our pings too frequent says so; we halve our rate from then on.
      if (code === Http2.constants.NGHTTP2_ENHANCE_YOUR_CALM && data?.toString("latin1") === tooManyPings) {
        pool.pingIntervalMs *= 2
      }
      // Node closes a session after a graceful GOAWAY only once its streams are done.
      if (this.streams === 0 && !session.destroyed) session.destroy()
    })
    session.once("close", () => {
      clearTimeout(connectTimer)
      this.gone(unavailable(`HTTP/2 connection to ${pool.origin} closed`))
    })
    // A TLS alert after the handshake (a server refusing our client certificate under TLS 1.3)
    // destroys the session with neither "error" nor "close": the socket's error is all there is.
    session.socket.once("error", (error: Error) => {
      clearTimeout(connectTimer)
      this.gone(unavailable(error.message, error))
    })
  }

  /** The connection is over: nothing more goes on it, and whoever waits for it learns why. */
  private gone(failure: ConnectError) {
    this.draining = true
    this.stopTimers()
    this.failure ??= failure
    this.settle()
    this.pool.remove(this)
  }

  /** Why calls waiting for this connection, now settled, fail: nothing once it was ready. */
  get settledFailure(): ConnectError | undefined {
    return this.ready && this.failure === undefined ? undefined : this.failure ?? unavailable(`HTTP/2 connection to ${this.pool.origin} failed`)
  }

  /** Whether a new stream may go on this connection now. */
  get available(): boolean {
    return this.ready && !this.draining && !this.session.closed && !this.session.destroyed &&
      this.streams < (this.session.remoteSettings.maxConcurrentStreams ?? Infinity)
  }

  /**
   * Calls `wake` once the connection is ready or gone, or the one the call was handed to
   * meanwhile; the function returned stops waiting.
   */
  whenSettled(wake: Waiter["wake"]): () => void {
    const waiter: Waiter = { wake, on: this }
    this.waiters.add(waiter)
    return () => {
      waiter.on.waiters.delete(waiter)
    }
  }

  /** Takes over calls waiting for a connection that had no room for them. */
  adopt(waiters: ReadonlyArray<Waiter>) {
    for (const waiter of waiters) {
      waiter.on = this
      this.waiters.add(waiter)
    }
  }

  private settle() {
    const waiters = [...this.waiters]
    this.waiters.clear()
    // Ready: only the calls it has room for are woken to choose again; the rest wait for another
    // connection, made at once. Woken all, ten thousand calls would race for a hundred streams,
    // all but a hundred to wait again, once per connection: quadratic in the calls.
    const room = this.available ? (this.session.remoteSettings.maxConcurrentStreams ?? Infinity) - this.streams : Infinity
    if (waiters.length > room) this.pool.handOver(waiters.splice(room))
    const failure = this.settledFailure
    for (const waiter of waiters) waiter.wake(failure)
  }

  fail(error: ConnectError) {
    this.failure ??= error
    // Given to destroy, the error reaches every open stream, so their calls say why they failed.
    if (!this.session.destroyed) this.session.destroy(error, Http2.constants.NGHTTP2_CANCEL)
  }

  /** Counts `stream` as open on this connection until it closes. */
  register(stream: Http2.ClientHttp2Stream) {
    if (this.streams++ === 0) {
      this.session.ref()
      clearTimeout(this.idleTimer)
      this.schedulePing()
    }
    stream.once("response", this.alive)
    stream.once("close", () => {
      if (--this.streams > 0) return
      if (this.draining) {
        if (!this.session.destroyed) this.session.close()
        return
      }
      this.session.unref()
      this.idle()
      this.schedulePing()
    })
  }

  /** Something was received: the connection works, so the next ping can wait. */
  readonly alive = () => {
    this.lastAlive = Date.now()
  }

  private idle() {
    clearTimeout(this.idleTimer)
    if (this.streams === 0) {
      this.idleTimer = timer(this.pool.options.idleTimeoutMs, () => {
        this.draining = true
        this.session.close()
      })
    }
    this.schedulePing()
  }

  private schedulePing() {
    clearTimeout(this.pingTimer)
    this.pingTimer = undefined
    if (this.streams === 0 && !this.pool.options.pingIdle) return
    const interval = this.pool.pingIntervalMs
    this.pingTimer = timer(Math.max(0, this.lastAlive + interval - Date.now()), () => {
      // Data received since the timer was set counts as a pong (A8 pings only a silent connection).
      if (Date.now() - this.lastAlive < interval) this.schedulePing()
      else this.ping()
    })
  }

  private ping() {
    if (this.session.destroyed || this.session.closed) return
    const timeoutMs = this.pool.options.pingTimeoutMs
    this.pongTimer = timer(timeoutMs, () => this.fail(unavailable(`HTTP/2 PING to ${this.pool.origin} timed out`)))
    try {
      this.session.ping((error, duration) => {
        clearTimeout(this.pongTimer)
        // An error here is a ping cancelled by the session's end, reported by its own events.
        if (error !== null) return
        // Timers are coarse: a pong that took too long is a timeout even if it beat the timer.
        if (duration > timeoutMs) return this.fail(unavailable(`HTTP/2 PING to ${this.pool.origin} timed out`))
        this.alive()
        this.schedulePing()
      })
    } catch {
      // Too many unacknowledged pings already: the pending ones keep their timers.
      clearTimeout(this.pongTimer)
    }
  }

  private stopTimers() {
    clearTimeout(this.pingTimer)
    clearTimeout(this.pongTimer)
    clearTimeout(this.idleTimer)
  }
}

class Pool implements SessionPool {
  readonly connections = new Set<Connection>()
  pingIntervalMs: number
  private closed = false

  constructor(readonly origin: string, readonly options: SessionOptions) {
    this.pingIntervalMs = options.pingIntervalMs
  }

  remove(connection: Connection) {
    this.connections.delete(connection)
  }

  /** Gives calls a connection had no room for to a new one. */
  handOver(waiters: ReadonlyArray<Waiter>) {
    if (!this.closed) return this.connect().adopt(waiters)
    const failure = unavailable("the HTTP/2 transport is closed")
    for (const waiter of waiters) waiter.wake(failure)
  }

  private connect(): Connection {
    const url = new URL(this.origin)
    const tls = this.options.tls
    const session = Http2.connect(this.origin, url.protocol === "https:"
      ? {
        ca: tlsValue(tls.ca),
        cert: tlsValue(tls.cert),
        key: tlsValue(tls.key),
        ...(tls.rejectUnauthorized === undefined ? {} : { rejectUnauthorized: tls.rejectUnauthorized })
      }
      : {})
    const connection = new Connection(session, this)
    this.connections.add(connection)
    return connection
  }

  readonly request = (headers: Http2.OutgoingHttpHeaders, endStream: boolean): Effect.Effect<Http2.ClientHttp2Stream, ConnectError> =>
    Effect.suspend(() => {
      if (this.closed) return Effect.fail(unavailable("the HTTP/2 transport is closed"))
      let connecting: Connection | undefined
      for (const connection of this.connections) {
        if (connection.available) return this.open(connection, headers, endStream)
        if (!connection.ready && !connection.draining) connecting ??= connection
      }
      // Calls arriving while a connection is being made wait for it rather than each opening their
      // own; once it is ready those it has room for choose again, and the rest wait for another.
      const next = connecting ?? this.connect()
      return Effect.flatMap(
        Effect.async<void, ConnectError>((resume) => {
          const settled = (failure: ConnectError | undefined) => resume(failure === undefined ? Effect.void : Effect.fail(failure))
          if (next.ready || next.draining) return settled(next.settledFailure)
          return Effect.sync(next.whenSettled(settled))
        }),
        () => this.request(headers, endStream)
      )
    })

  private open(connection: Connection, headers: Http2.OutgoingHttpHeaders, endStream: boolean) {
    try {
      const stream = connection.session.request(headers, { endStream })
      connection.register(stream)
      return Effect.succeed(stream)
    } catch (error) {
      // node:http2 throws for invalid headers: the request is wrong, not the network.
      const code = (error as { readonly code?: unknown }).code
      return Effect.fail(
        typeof code === "string" && code.startsWith("ERR_HTTP2_INVALID")
          ? new ConnectError({ code: "internal", message: (error as Error).message, cause: error })
          : unavailable((error as Error).message, error)
      )
    }
  }

  readonly size = () => this.connections.size

  readonly close = Effect.async<void>((resume) => {
    this.closed = true
    let open = this.connections.size
    if (open === 0) return resume(Effect.void)
    for (const connection of this.connections) {
      if (connection.session.destroyed) {
        this.connections.delete(connection)
        if (--open === 0) resume(Effect.void)
        continue
      }
      connection.session.once("close", () => {
        if (--open === 0) resume(Effect.void)
      })
      connection.draining = true
      // By the time the transport is released its calls are over; any stream still open is abandoned.
      if (connection.streams === 0) connection.session.close()
      else connection.session.destroy(undefined, Http2.constants.NGHTTP2_CANCEL)
    }
  })
}

/**
 * The connections to `origin` (`http://host:port`: h2c with prior knowledge, or `https://`:
 * TLS with ALPN h2). Closing them is the caller's: see `SessionPool.close`.
 * @internal
 */
export const makeSessionPool = (origin: string, options: SessionOptions): SessionPool => new Pool(origin, options)
