/**
 * Whether a request body can be streamed from here, and if not, why. Browsers are where it
 * cannot: Firefox and Safari never stream one, and Chromium only over HTTP/2 (a stream to an
 * HTTP/1.1 server fails as "Failed to fetch", like a refused connection), which browsers speak
 * only over https. Rather than that, client-streaming and bidi calls fail at once with
 * `unimplemented`, before anything is sent. Node, Deno and Bun stream request bodies over
 * HTTP/1.1 as well, and are left to do so.
 * @internal
 */
import { ConnectError } from "../connectError.js"

const inBrowser = (): boolean =>
  typeof (globalThis as { readonly document?: unknown }).document === "object" ||
  typeof (globalThis as { readonly WorkerGlobalScope?: unknown }).WorkerGlobalScope === "function"

/** The test of https://developer.chrome.com/docs/capabilities/web-apis/fetch-streaming-requests. */
const fetchTakesStreams = (): boolean => {
  let duplexAccessed = false
  try {
    const init = {
      method: "POST",
      body: new ReadableStream(),
      get duplex() {
        duplexAccessed = true
        return "half"
      }
    }
    // A browser that cannot send a stream sends its text, "[object ReadableStream]", as text/plain.
    return !new Request("https://localhost/", init as RequestInit).headers.has("content-type") && duplexAccessed
  } catch {
    return false
  }
}

let browserStreams: boolean | undefined

/** Why a request body cannot be streamed to `url` from here, or undefined when it can. @internal */
export const requestStreamRefusal = (url: string): ConnectError | undefined => {
  if (!inBrowser()) return undefined
  browserStreams ??= fetchTakesStreams()
  const why = !browserStreams
    ? "this browser's fetch cannot stream a request body"
    : url.startsWith("https:")
    ? undefined
    : `a browser streams a request body only over HTTP/2, hence only to https: URLs, not to ${new URL(url).origin}`
  return why === undefined ? undefined : new ConnectError({
    code: "unimplemented",
    message: `client-streaming and bidi calls send their requests as a stream: ${why}`
  })
}
