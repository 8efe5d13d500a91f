/**
 * The small universal HTTP model every protocol is written against, on both sides, so that
 * HTTP libraries (node:http, @effect/platform, node:http2) plug in as thin adapters.
 * @internal
 */
import * as Headers from "@effect/platform/Headers"
import type * as Chunk from "effect/Chunk"
import type * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { ConnectError } from "./connectError.js"
import type { PeerCertificate } from "./server/service.js"

/** @internal */
export type Body = Uint8Array | Stream.Stream<Uint8Array, ConnectError>

/** @internal */
export interface ClientRequest {
  readonly method: "GET" | "POST"
  readonly url: string
  readonly headers: Headers.Headers
  readonly body: Body | undefined
}

/** @internal */
export interface ClientResponse {
  readonly status: number
  readonly headers: Headers.Headers
  readonly body: Stream.Stream<Uint8Array, ConnectError>
  /** The whole body; fails with resource_exhausted past `maxBytes`. */
  readonly bytes: (maxBytes: number) => Effect.Effect<Uint8Array, ConnectError>
  /**
   * The HTTP trailers, once the body has been read to its end (empty when the peer sent none);
   * absent on clients that cannot see trailers (HTTP/1.1 ones).
   */
  readonly trailers?: Effect.Effect<Headers.Headers, ConnectError>
  /**
   * Set when the HTTP client has already undone the body's `Content-Encoding` (fetch always
   * does, and a browser compresses and decodes on its own terms), so it must not be decoded again.
   */
  readonly contentDecoded?: boolean
}

/** An HTTP client library, adapted to the universal model. @internal */
export interface HttpClientAdapter {
  /**
   * Sends a request and hands the response to `use`; a body that `use` leaves unread is aborted
   * when it is done, and interrupting the whole aborts the request.
   */
  readonly unary: <A>(
    request: ClientRequest,
    use: (response: ClientResponse) => Effect.Effect<A, ConnectError>
  ) => Effect.Effect<A, ConnectError>
  /** Sends a request whose response outlives the call: closing the Scope aborts an exchange still going. */
  readonly stream: (request: ClientRequest) => Effect.Effect<ClientResponse, ConnectError, Scope.Scope>
}

/**
 * What a server knows of the connection a request came on.
 * @internal
 */
export interface Connection {
  readonly httpVersion: "1.1" | "2"
  /** The client's certificate, when it presented one over TLS; read on first use. */
  readonly peerCertificate: () => PeerCertificate | undefined
}

/** A connection over plain HTTP/1.1, the same for every request. @internal */
export const plainHttp1: Connection = { httpVersion: "1.1", peerCertificate: () => undefined }

/** @internal */
export interface ServerRequest {
  readonly connection: Connection
  readonly method: string
  readonly path: string
  /** The query string, without the `?`. */
  readonly search: string
  readonly headers: Headers.Headers
  readonly body: Stream.Stream<Uint8Array, ConnectError>
  /**
   * The whole body; fails with resource_exhausted past `maxBytes`, and as `options` say: with
   * `head`'s error as soon as the body's first bytes are refused by it, with deadline_exceeded
   * (`bodyStalled`) once `idleMs` passes without a byte of it.
   */
  readonly bytes: (maxBytes: number, options?: ReadOptions) => Effect.Effect<Uint8Array, ConnectError>
}

/** How a whole body is read, beyond its size limit. @internal */
export interface ReadOptions {
  readonly head?: HeadCheck | undefined
  readonly idleMs?: number | undefined
}

/**
 * A check of a body's first `size` bytes (an envelope's length prefix), made as soon as they
 * arrive: a body refused by its head fails without waiting for the rest.
 * @internal
 */
export interface HeadCheck {
  readonly size: number
  readonly check: (head: Uint8Array) => ConnectError | undefined
}

/**
 * A streamed response body as its writer takes it: each `pull` gives the next bytes, and fails
 * with None after the last. Not a Stream: each Stream run, and each Stream combinator that runs
 * a channel of its own, costs more than a whole small call (a server-streaming call built of
 * Streams ran 13 channel executors, 1.4 ms of its 1.6 ms of CPU), so the handler's Stream is
 * pulled once, and all from there to the socket is plain Effects.
 * @internal
 */
export interface PulledBody {
  readonly pull: Effect.Effect<Chunk.Chunk<Uint8Array>, Option.Option<never>>
  /**
   * Ends the body early with `error` (the server's shutdown grace is over while a pull waits on
   * the handler): the last bytes, which say so in the protocol's terms, after which the
   * response's trailers say so too. Empty once the body has ended.
   */
  readonly end?: (error: ConnectError) => Chunk.Chunk<Uint8Array>
}

/** A pulled body as a Stream, for the HTTP servers that take one. @internal */
export const pulledBodyStream = (body: PulledBody): Stream.Stream<Uint8Array> => Stream.repeatEffectChunkOption(body.pull)

/** @internal */
export interface ServerResponse {
  readonly status: number
  readonly headers: Record<string, string>
  readonly body: Uint8Array | PulledBody | undefined
  /**
   * HTTP trailers, asked for once the body has been written (gRPC's status is only known then);
   * only servers that can send trailers serve protocols that set them.
   */
  readonly trailers?: () => Record<string, string>
}

/**
 * Handles one exchange. `scope` is the call's, open until its response body has been written:
 * passed, not provided in the context, since providing a service costs a context diff and two
 * fiber-ref updates that were a seventh of a small unary call's CPU; only what needs it in the
 * context (a streamed response's pull, the user's hooks) gets it there.
 * @internal
 */
export type ServerHandler = (request: ServerRequest, scope: Scope.Scope) => Effect.Effect<ServerResponse>

/** @internal */
export const tooLarge = (size: number | string, maxBytes: number) =>
  `message size ${size} is larger than configured readMaxBytes ${maxBytes}`

/** A body whose declared Content-Length is past `maxBytes` fails before a byte of it is read. @internal */
export const declaredTooLarge = (headers: Headers.Headers, maxBytes: number): ConnectError | undefined => {
  const declared = headers["content-length"]
  return declared !== undefined && Number(declared) > maxBytes
    ? new ConnectError({ code: "resource_exhausted", message: tooLarge(declared, maxBytes) })
    : undefined
}

/**
 * Node's headers (node:http, node:http2, undici) as Headers: a repeated header's values joined
 * by commas, HTTP/2 pseudo-headers (`:path`, `:status`) left out.
 * @internal
 */
export const fromNodeHeaders = (raw: Readonly<Record<string, string | ReadonlyArray<string> | undefined>>): Headers.Headers => {
  // Made with its prototype: setting it afterwards (Headers.unsafeFromRecord) turned every
  // request's headers into a slow object, a percent of a small call's CPU.
  const out: Record<string, string> = Object.create(headersPrototype)
  for (const name in raw) {
    const value = raw[name]
    if (value !== undefined && name.charCodeAt(0) !== 0x3a) out[name] = typeof value === "string" ? value : value.join(", ")
  }
  return out as Headers.Headers
}

const headersPrototype: object = Object.getPrototypeOf(Headers.empty)

/**
 * Why `baseUrl` cannot be a client's base URL (not an absolute http: or https: URL), if it
 * cannot: every call on it then fails with this, the same on every HTTP client. @internal
 */
export const baseUrlError = (baseUrl: string): ConnectError | undefined => {
  const url = URL.canParse(baseUrl) ? new URL(baseUrl) : undefined
  return url !== undefined && (url.protocol === "http:" || url.protocol === "https:") && url.host !== ""
    ? undefined
    : new ConnectError({ code: "internal", message: `invalid base URL "${baseUrl}": expected an http: or https: URL` })
}

/** A request target split at its `?`. @internal */
export const splitUrl = (url: string): { readonly path: string; readonly search: string } => {
  const query = url.indexOf("?")
  return query === -1 ? { path: url, search: "" } : { path: url.slice(0, query), search: url.slice(query + 1) }
}
