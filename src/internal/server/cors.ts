/**
 * Cross-origin resource sharing, in front of any protocol: preflights are answered here, and
 * every other response gets the headers that let an allowed origin read it. It knows nothing of
 * Connect or gRPC beyond the header names their clients send and read.
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import type { ServerHandler, ServerResponse } from "../http.js"

/**
 * Which origins may call, and what else they may send and read. No origin is allowed unless
 * listed: a wildcard is `allowedOrigins: "*"`, said out loud.
 *
 * @since 0.2.0
 * @category models
 */
export interface CorsOptions {
  /**
   * The origins whose pages may call: exact origins (`"https://app.example.com"`), a predicate
   * of the request's `Origin`, or `"*"` for any page anywhere (then without credentials).
   */
  readonly allowedOrigins: ReadonlyArray<string> | ((origin: string) => boolean) | "*"
  /** Request headers allowed besides the protocols' own, e.g. `"Authorization"`. */
  readonly allowedHeaders?: ReadonlyArray<string>
  /** Response headers exposed besides those each response carries (added later by a middleware, say). */
  readonly exposedHeaders?: ReadonlyArray<string>
  /** Let pages send cookies and HTTP authentication (`Access-Control-Allow-Credentials`); not with `"*"`. */
  readonly allowCredentials?: boolean
  /** How long a browser may keep a preflight's answer (default 7200 s, Chromium's ceiling). */
  readonly maxAgeSeconds?: number
}

/**
 * The methods Connect (POST, and GET for side-effect-free methods) and gRPC-Web (POST) use,
 * for `Access-Control-Allow-Methods`.
 *
 * @since 0.2.0
 * @category constants
 */
export const allowedMethods: ReadonlyArray<string> = ["GET", "POST"]

/**
 * The request headers browser clients of Connect, gRPC-Web and gRPC send, for
 * `Access-Control-Allow-Headers`.
 *
 * @since 0.2.0
 * @category constants
 */
export const allowedHeaders: ReadonlyArray<string> = [
  "Content-Type",
  "Content-Encoding",
  "Connect-Protocol-Version",
  "Connect-Timeout-Ms",
  "Connect-Content-Encoding",
  "Connect-Accept-Encoding",
  "Grpc-Timeout",
  "Grpc-Encoding",
  "Grpc-Accept-Encoding",
  "X-Grpc-Web",
  "X-User-Agent",
  // Firefox sends the User-Agent a client sets (Chromium drops it), and connect-effect's clients set one.
  "User-Agent"
]

/**
 * The response headers browser clients of Connect and gRPC-Web read, for
 * `Access-Control-Expose-Headers` (connect-effect's server exposes every header a response
 * carries, these among them).
 *
 * @since 0.2.0
 * @category constants
 */
export const exposedHeaders: ReadonlyArray<string> = [
  "Grpc-Status",
  "Grpc-Message",
  "Grpc-Status-Details-Bin",
  "Grpc-Encoding",
  "Grpc-Accept-Encoding",
  "Connect-Content-Encoding",
  "Connect-Accept-Encoding"
]

/** Response headers every cross-origin reader sees anyway. */
const safelisted = new Set(["cache-control", "content-language", "content-length", "content-type", "expires", "last-modified", "pragma"])

const httpOrigin = /^https?:\/\//i
const otherOrigin = /^[a-z][a-z0-9+.-]*:\/\/[^/?#\s]+$/

/**
 * An allowed origin as browsers serialize it in `Origin`: http(s) ones canonicalized (case,
 * default port, a trailing slash), others (`chrome-extension://…`) taken as written.
 */
const canonicalOrigin = (origin: string): string => {
  const refuse = (why: string) => {
    throw new Cause.IllegalArgumentException(`cors.allowedOrigins: "${origin}" ${why}`)
  }
  if (origin === "*") return refuse(`is a value of its own: allowedOrigins: "*"`)
  // Sandboxed frames and file: pages of any site send "null": allowing it allows them all.
  if (origin === "null") return refuse("would let sandboxed pages of any site call; use a predicate if you must")
  if (httpOrigin.test(origin) && URL.canParse(origin)) {
    const url = new URL(origin)
    if (url.pathname === "/" && url.search === "" && url.hash === "" && url.username === "" && url.password === "") {
      return url.origin
    }
    return refuse("is not an origin (scheme://host[:port], no path)")
  }
  return otherOrigin.test(origin) ? origin : refuse("is not an origin (scheme://host[:port])")
}

interface Policy {
  /** The `Access-Control-Allow-Origin` for a request's `Origin`, or undefined when it may not read. */
  readonly allowOrigin: (origin: string) => string | undefined
  readonly preflight: Record<string, string>
  readonly credentials: boolean
  readonly exposed: ReadonlyArray<string>
  /** `Vary: Origin` whenever the answer depends on the origin (not with `"*"`). */
  readonly vary: boolean
}

const makePolicy = (options: CorsOptions): Policy => {
  const credentials = options.allowCredentials === true
  const { allowedOrigins } = options
  if (allowedOrigins === "*" && credentials) {
    throw new Cause.IllegalArgumentException(`cors: allowCredentials cannot go with allowedOrigins: "*"`)
  }
  const maxAge = options.maxAgeSeconds ?? 7200
  if (!Number.isInteger(maxAge) || maxAge < 0) throw new Cause.IllegalArgumentException(`cors.maxAgeSeconds: ${maxAge}`)
  let allowOrigin: Policy["allowOrigin"]
  if (allowedOrigins === "*") allowOrigin = () => "*"
  else if (typeof allowedOrigins === "function") allowOrigin = (origin) => allowedOrigins(origin) ? origin : undefined
  else {
    const allowed = new Set(allowedOrigins.map(canonicalOrigin))
    allowOrigin = (origin) => allowed.has(origin) ? origin : undefined
  }
  return {
    allowOrigin,
    credentials,
    vary: allowedOrigins !== "*",
    exposed: (options.exposedHeaders ?? []).map((name) => name.toLowerCase()),
    preflight: {
      "access-control-allow-methods": allowedMethods.join(", "),
      "access-control-allow-headers": [...allowedHeaders, ...options.allowedHeaders ?? []].join(", "),
      "access-control-max-age": String(maxAge)
    }
  }
}

const withVary = (headers: Record<string, string>, value: string): Record<string, string> => {
  const vary = headers.vary
  return { ...headers, vary: vary === undefined || vary === "" ? value : `${vary}, ${value}` }
}

/** Every header the response carries, for an allowed origin to read: metadata and trailers included. */
const exposedOf = (headers: Record<string, string>, extra: ReadonlyArray<string>): string => {
  const names = new Set(extra)
  for (const name in headers) if (!safelisted.has(name)) names.add(name)
  return [...names].join(", ")
}

/** Answers preflights from allowed origins, and lets them read every response. @internal */
export const withCors = (handler: ServerHandler, options: CorsOptions): ServerHandler => {
  const policy = makePolicy(options)
  const allowed = (allowOrigin: string): Record<string, string> =>
    policy.credentials
      ? { "access-control-allow-origin": allowOrigin, "access-control-allow-credentials": "true" }
      : { "access-control-allow-origin": allowOrigin }
  const decorate = (origin: string | undefined) => (response: ServerResponse): ServerResponse => {
    const allowOrigin = origin === undefined ? undefined : policy.allowOrigin(origin)
    const headers = policy.vary ? withVary(response.headers, "Origin") : response.headers
    if (allowOrigin === undefined) return headers === response.headers ? response : { ...response, headers }
    const exposed = exposedOf(response.headers, policy.exposed)
    return {
      ...response,
      headers: {
        ...headers,
        ...allowed(allowOrigin),
        ...(exposed === "" ? {} : { "access-control-expose-headers": exposed })
      }
    }
  }
  return (request, scope) => {
    const origin = request.headers.origin
    if (origin !== undefined && request.method === "OPTIONS" && request.headers["access-control-request-method"] !== undefined) {
      const allowOrigin = policy.allowOrigin(origin)
      const vary = "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"
      // The browser itself checks the method and headers against the lists, and says which one failed.
      return Effect.succeed(
        allowOrigin === undefined
          ? { status: 403, headers: { vary }, body: undefined }
          : { status: 204, headers: { vary, ...allowed(allowOrigin), ...policy.preflight }, body: undefined }
      )
    }
    return Effect.map(handler(request, scope), decorate(origin))
  }
}
