/**
 * CORS as a browser enforces it: headless Chromium loads a page from one origin, whose script
 * (the library bundled for browsers) calls connect-effect servers on other ports, the direct
 * server and the HttpApp, every kind of call, in Connect and in gRPC-Web; a server that does not
 * allow the page's origin is refused by the browser itself. Requests that are streams (client streaming, bidi) go only
 * to https: URLs, over which Chromium speaks HTTP/2, the one protocol it streams them on.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import type * as Http from "node:http"
import type * as BrowserCalls from "./support/browserCalls.js"
import { browserPage, browserTests } from "./support/chromium.js"
import { bundleForBrowser } from "./support/bundle.js"
import { nodeServer, ourPlatformServerUrl, ourServerUrl } from "./support/servers.js"
import { testCertificates } from "./support/tls.js"

type Calls = typeof BrowserCalls

/** A page of its own origin whose script puts browserCalls.ts's functions on `globalThis.calls`. */
const callingPage = Effect.gen(function*() {
  const bundled = yield* Effect.promise(() =>
    bundleForBrowser(`import * as calls from "./support/browserCalls.ts"; globalThis.calls = calls`)
  )
  const script = bundled.outputFiles[0]!.text
  const listener: Http.RequestListener = (req, res) => {
    if (req.url === "/calls.js") res.writeHead(200, { "content-type": "text/javascript" }).end(script)
    else res.writeHead(200, { "content-type": "text/html" }).end(`<!doctype html><script type="module" src="/calls.js"></script>`)
  }
  return (yield* nodeServer(listener)).url
})

/** Opens `origin` in Chromium; `call` runs one of browserCalls.ts's functions in the page. */
const openPage = (origin: string, args?: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const { page, errors } = yield* browserPage(args)
    yield* Effect.promise(() => page.goto(origin))
    yield* Effect.promise(() => page.waitForFunction(() => "calls" in globalThis))
    const call = <K extends keyof Calls>(name: K, ...args: Parameters<Calls[K]>): Effect.Effect<Awaited<ReturnType<Calls[K]>>> =>
      Effect.promise(() => page.evaluate(([name, args]) => (globalThis as any).calls[name](...args), [name, args] as const))
    return { call, errors }
  })

/** Chromium logs a response with an error status, such as not_found's 404, as a console error. */
const besidesErrorStatuses = (errors: ReadonlyArray<string>) => errors.filter((e) => !/status of 404/.test(e))

describe.runIf(browserTests)("in Chromium, across origins", () => {
  it.live("a page calls the direct server and the HttpApp on other origins, and one that does not allow it is refused", () =>
    Effect.gen(function*() {
      const origin = yield* callingPage
      const cors = { allowedOrigins: [origin], allowedHeaders: ["X-Test-Page"] }
      const apis = {
        direct: yield* ourServerUrl({ cors }),
        platform: yield* ourPlatformServerUrl({ cors }),
        elsewhere: yield* ourServerUrl({ cors: { allowedOrigins: ["https://elsewhere.example"] } })
      }
      const { call, errors } = yield* openPage(origin)
      const refusal = `unimplemented: client-streaming and bidi calls send their requests as a stream: ` +
        `a browser streams a request body only over HTTP/2, hence only to https: URLs`

      for (const [api, protocol] of [[apis.direct, "connect"], [apis.platform, "connect"], [apis.direct, "grpc-web"], [apis.platform, "grpc-web"]] as const) {
        expect(yield* call("everyKind", api, protocol)).toEqual({
          unary: {
            value: { text: "from Chromium", payloadBytes: 4096, seen: ["x-test-page: 1"], header: "from Chromium", trailer: "done" }
          },
          get: { value: "by GET" },
          serverStream: { value: { sizes: [3000, 3000, 3000], encoding: "gzip" } },
          failure: { error: "not_found: failed: nope", details: 1 }
        })
        expect(yield* call("requestStreams", api)).toEqual({
          clientStream: { error: expect.stringContaining(refusal), details: 0 },
          bidi: { error: expect.stringContaining(refusal), details: 0 }
        })
      }
      expect(besidesErrorStatuses(errors)).toEqual([])

      // The server answered; the browser kept the answer from the page, which sees a failed fetch.
      expect(yield* call("echo", apis.elsewhere)).toEqual({ error: expect.stringMatching(/^unavailable: /), details: 0 })
      expect(besidesErrorStatuses(errors).join("\n")).toMatch(/blocked by CORS policy/)
    }).pipe(Effect.scoped), 60_000)

  it.live("over https (HTTP/2), Chromium streams the requests of client-streaming and (half-duplex) bidi calls", () =>
    Effect.gen(function*() {
      const origin = yield* callingPage
      const { serverCert, serverKey } = testCertificates()
      const api = yield* ourServerUrl({ tls: { cert: serverCert, key: serverKey }, cors: { allowedOrigins: [origin] } })
      // The test CA is not Chromium's to trust.
      const { call, errors } = yield* openPage(origin, ["--ignore-certificate-errors"])
      expect(yield* call("requestStreams", api)).toEqual({ clientStream: { value: "a,b" }, bidi: { value: ["a", "b"] } })
      expect(errors).toEqual([])
    }).pipe(Effect.scoped), 60_000)
})
