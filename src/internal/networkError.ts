/**
 * What a person needs to read of a request that failed on the network: which request, and the
 * reason deepest in the HTTP client's chain of causes (`connect ECONNREFUSED 127.0.0.1:8080`),
 * with OpenSSL's words for an https: URL on a plain-HTTP server turned into a sentence.
 * @internal
 */

interface Failure {
  readonly message?: unknown
  readonly code?: unknown
  readonly cause?: unknown
}

/** OpenSSL's complaints when what came back was not TLS (most often: plain HTTP). */
const notTls = /wrong version number|packet length too long|http request|unknown protocol/i

const explain = (failure: Failure): string => {
  const message = typeof failure.message === "string" ? failure.message : String(failure)
  const code = typeof failure.code === "string" ? failure.code : undefined
  if (code?.startsWith("ERR_SSL") === true && notTls.test(message) || code === "ERR_SSL_WRONG_VERSION_NUMBER") {
    return `the server did not answer in TLS: it may be serving plain HTTP, for an http: URL (${code})`
  }
  return message
}

/**
 * The reason for a failure: the innermost cause that names an error code (the system's
 * reason), else the innermost message.
 * @internal
 */
export const reasonOf = (error: unknown): string => {
  let reason: Failure | undefined
  let current: unknown = error
  for (let depth = 0; depth < 8 && typeof current === "object" && current !== null; depth++) {
    const failure = current as Failure
    if (typeof failure.code === "string" || reason === undefined || typeof reason.code !== "string") reason = failure
    current = failure.cause
  }
  return reason === undefined ? String(error) : explain(reason)
}

/** `POST http://host/pkg.Service/Method: <reason>`. @internal */
export const describeRequestFailure = (method: string, url: string, error: unknown): string =>
  `${method} ${url}: ${reasonOf(error)}`
