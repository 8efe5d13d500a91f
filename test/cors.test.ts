/**
 * CORS on both server paths (the direct node:http server and the HttpApp on NodeHttpServer),
 * spoken to in raw HTTP as a browser would, and by hostile callers: odd origins never get an
 * `Access-Control-Allow-Origin`, and nothing of a preflight's method or headers is echoed.
 * The browser's side of it is in browser-cors.test.ts.
 */
import { create, toBinary } from "@bufbuild/protobuf"
import { describe, expect, it, layer } from "@effect/vitest"
import type { Cors } from "connect-effect"
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import { EchoRequestSchema, ServerStreamRequestSchema, TestService } from "./gen/connecteffect/test/v1/test_pb.js"
import { envelope, type RawRequest, rawRequest } from "./support/rawHttp.js"
import { ourServer, ourPlatformServerUrl, ourServerUrl } from "./support/servers.js"

const page = "https://app.example.com"
const cors: Cors.Options = {
  // Written loosely on purpose: canonicalized to what browsers send.
  allowedOrigins: ["HTTPS://App.Example.com:443/", "chrome-extension://abcdefghijklmnop"],
  allowedHeaders: ["Authorization"]
}
const echoPath = `/${TestService.typeName}/Echo`
const proto = { "content-type": "application/proto", "connect-protocol-version": "1" }

class Api extends Context.Tag("test/Api")<Api, { readonly url: string }>() {}

const DirectLive = (options: Cors.Options) => Layer.scoped(Api, Effect.map(ourServerUrl({ cors: options }), (url) => ({ url })))
const PlatformLive = Layer.scoped(Api, Effect.map(ourPlatformServerUrl({ cors }), (url) => ({ url })))

const send = (request: RawRequest) => Effect.flatMap(Api, ({ url }) => Effect.orDie(rawRequest(url, request)))

const preflight = (origin: string, method = "POST", requestHeaders = "connect-protocol-version,content-type") =>
  send({
    method: "OPTIONS",
    path: echoPath,
    headers: { origin, "access-control-request-method": method, "access-control-request-headers": requestHeaders }
  })

const echo = (headers: Record<string, string>, init: { text?: string; failWith?: string } = {}) =>
  send({ path: echoPath, headers: { ...proto, ...headers }, body: toBinary(EchoRequestSchema, create(EchoRequestSchema, init)) })

const corsHeaders = (headers: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(headers).filter(([name]) => name.startsWith("access-control-")))

const listOf = (value: unknown) => String(value ?? "").split(",").map((s) => s.trim().toLowerCase())

const hostileOrigins = [
  "https://evil.example",
  "https://app.example.com.evil.example",
  "https://evil.example/https://app.example.com",
  "http://app.example.com",
  "https://app.example.com:443",
  "https://app.example.com/",
  "https://APP.example.com",
  "https://app.example.com:8443",
  "https://app.example.com, https://evil.example",
  "https://app.example.com https://evil.example",
  "null",
  "*",
  "",
  "chrome-extension://abcdefghijklmnopq",
  "https://app.example.com\t.evil.example",
  `https://${"a".repeat(8000)}.example`
]

describe.each([
  ["the direct server", DirectLive(cors)],
  ["the HttpApp", PlatformLive]
])("CORS on %s", (_, live) => {
  layer(live)((it) => {
    it.effect("answers a preflight from an allowed origin with the protocols' methods and headers", () =>
      Effect.gen(function*() {
        for (const origin of [page, "chrome-extension://abcdefghijklmnop"]) {
          const response = yield* preflight(origin)
          expect(response.status).toBe(204)
          expect(response.body.byteLength).toBe(0)
          expect(response.headers["access-control-allow-origin"]).toBe(origin)
          expect(response.headers["access-control-allow-credentials"]).toBeUndefined()
          expect(listOf(response.headers["access-control-allow-methods"])).toEqual(["get", "post"])
          expect(listOf(response.headers["access-control-allow-headers"])).toEqual(expect.arrayContaining([
            "content-type", "connect-protocol-version", "connect-timeout-ms", "connect-content-encoding",
            "connect-accept-encoding", "content-encoding", "grpc-timeout", "x-grpc-web", "x-user-agent", "authorization"
          ]))
          expect(response.headers["access-control-max-age"]).toBe("7200")
          expect(listOf(response.headers.vary)).toEqual(["origin", "access-control-request-method", "access-control-request-headers"])
        }
      }))

    it.effect("refuses preflights from every other origin, however close to an allowed one", () =>
      Effect.gen(function*() {
        for (const origin of hostileOrigins) {
          const response = yield* preflight(origin)
          expect({ origin, status: response.status, cors: corsHeaders(response.headers) }).toEqual({ origin, status: 403, cors: {} })
          expect(listOf(response.headers.vary)).toContain("origin")
        }
      }))

    it.effect("answers odd preflight methods and headers with its own lists, echoing none of them", () =>
      Effect.gen(function*() {
        const expected = corsHeaders((yield* preflight(page)).headers)
        const odd: ReadonlyArray<readonly [string, string]> = [
          ["DELETE", "content-type"],
          ["get", "x-evil"],
          ["POST, PUT", "content-type,,, ,x-evil-header"],
          ["TRACE", "authorization, cookie, x-very-odd-header-name-0123456789"],
          ["PO ST", "content-type\tx-tabbed"],
          ["P".repeat(4000), Array.from({ length: 400 }, (_, i) => `x-h${i}`).join(",")],
          ["", ""]
        ]
        for (const [method, requestHeaders] of odd) {
          const response = yield* preflight(page, method, requestHeaders)
          expect(response.status).toBe(204)
          expect(corsHeaders(response.headers)).toEqual(expected)
          const all = JSON.stringify(response.headers)
          for (const echoed of ["DELETE", "x-evil", "TRACE", "cookie", "x-tabbed", "PPPP", "x-h399"]) expect(all).not.toContain(echoed)
        }
      }))

    it.effect("an OPTIONS request without Access-Control-Request-Method is no preflight", () =>
      Effect.gen(function*() {
        const response = yield* send({ method: "OPTIONS", path: echoPath, headers: { origin: page } })
        expect(response.status).not.toBe(204)
        expect(response.headers["access-control-allow-methods"]).toBeUndefined()
        // Still an answer the page may read.
        expect(response.headers["access-control-allow-origin"]).toBe(page)
      }))

    it.effect("lets an allowed origin read a response, its headers and trailers, and its errors", () =>
      Effect.gen(function*() {
        const ok = yield* echo({ origin: page }, { text: "hi" })
        expect(ok.status).toBe(200)
        expect(ok.headers["access-control-allow-origin"]).toBe(page)
        expect(listOf(ok.headers.vary)).toContain("origin")
        expect(listOf(ok.headers["access-control-expose-headers"])).toEqual(
          expect.arrayContaining(["x-test-header", "trailer-x-test-trailer"])
        )
        // Safelisted headers are readable anyway.
        expect(listOf(ok.headers["access-control-expose-headers"])).not.toContain("content-type")

        const failed = yield* echo({ origin: page }, { text: "no", failWith: "not_found" })
        expect(failed.status).toBe(404)
        expect(failed.headers["access-control-allow-origin"]).toBe(page)
        expect(listOf(failed.headers["access-control-expose-headers"])).toContain("x-test-header")

        const unknown = yield* send({ path: `/${TestService.typeName}/Nope`, headers: { ...proto, origin: page }, body: "" })
        expect(unknown.status).toBe(404)
        expect(unknown.headers["access-control-allow-origin"]).toBe(page)
      }))

    it.effect("serves other origins and same-origin pages without letting them read cross-origin", () =>
      Effect.gen(function*() {
        for (const headers of [{ origin: "https://evil.example" }, { origin: "null" }, {}]) {
          const response = yield* echo(headers, { text: "hi" })
          expect(response.status).toBe(200)
          expect(corsHeaders(response.headers)).toEqual({})
          // A cache must not hand this response to an allowed origin, nor the reverse.
          expect(listOf(response.headers.vary)).toContain("origin")
        }
      }))
  })
})

const buildFails = (options: Cors.Options) =>
  Effect.gen(function*() {
    const exit = yield* Effect.exit(Effect.scoped(Layer.build(ourServer({ cors: options }))))
    expect(Exit.isFailure(exit)).toBe(true)
    const defect = Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined
    expect(defect).toBeInstanceOf(Cause.IllegalArgumentException)
    return (defect as Error).message
  })

describe("CORS options", () => {
  it.effect("an origin that is not one, or allows too much, stops the server from starting", () =>
    Effect.gen(function*() {
      expect(yield* buildFails({ allowedOrigins: ["https://app.example.com/app"] })).toMatch(/not an origin/)
      expect(yield* buildFails({ allowedOrigins: ["https://user@app.example.com"] })).toMatch(/not an origin/)
      expect(yield* buildFails({ allowedOrigins: ["https://app.example.com?x"] })).toMatch(/not an origin/)
      expect(yield* buildFails({ allowedOrigins: ["app.example.com"] })).toMatch(/not an origin/)
      expect(yield* buildFails({ allowedOrigins: ["*"] })).toMatch(/allowedOrigins: "\*"/)
      expect(yield* buildFails({ allowedOrigins: ["null"] })).toMatch(/sandboxed/)
      expect(yield* buildFails({ allowedOrigins: "*", allowCredentials: true })).toMatch(/allowCredentials/)
      expect(yield* buildFails({ allowedOrigins: [page], maxAgeSeconds: -1 })).toMatch(/maxAgeSeconds/)
    }))

  it.effect("\"*\" allows any origin, said out loud, with no Vary: Origin", () =>
    Effect.gen(function*() {
      const anyOrigin = yield* preflight("https://anyone.example")
      expect(anyOrigin.headers["access-control-allow-origin"]).toBe("*")
      const response = yield* echo({ origin: "https://anyone.example" }, { text: "hi" })
      expect(response.headers["access-control-allow-origin"]).toBe("*")
      expect(response.headers.vary).toBeUndefined()
    }).pipe(Effect.provide(DirectLive({ allowedOrigins: "*" }))))

  it.effect("credentials, a predicate of origins, extra exposed headers and the preflight's lifetime", () =>
    Effect.gen(function*() {
      const sub = yield* preflight("https://eu.example.com")
      expect(sub.headers["access-control-allow-origin"]).toBe("https://eu.example.com")
      expect(sub.headers["access-control-allow-credentials"]).toBe("true")
      expect(sub.headers["access-control-max-age"]).toBe("600")
      expect((yield* preflight("https://example.com.evil")).status).toBe(403)
      const response = yield* echo({ origin: "https://eu.example.com" }, { text: "hi" })
      expect(response.headers["access-control-allow-credentials"]).toBe("true")
      expect(listOf(response.headers["access-control-expose-headers"])).toContain("x-added-later")
    }).pipe(Effect.provide(DirectLive({
      allowedOrigins: (origin) => /^https:\/\/[a-z]+\.example\.com$/.test(origin),
      allowCredentials: true,
      exposedHeaders: ["X-Added-Later"],
      maxAgeSeconds: 600
    }))))

  it.effect("a compressed stream's encoding is exposed, so that a browser client can decode it", () =>
    Effect.gen(function*() {
      const request = toBinary(ServerStreamRequestSchema, create(ServerStreamRequestSchema, { text: "s", count: 2, size: 4096 }))
      const response = yield* send({
        path: `/${TestService.typeName}/ServerStream`,
        headers: { "content-type": "application/connect+proto", "connect-accept-encoding": "gzip", origin: page },
        body: envelope(0, request)
      })
      expect(response.headers["connect-content-encoding"]).toBe("gzip")
      expect(listOf(response.headers["access-control-expose-headers"])).toContain("connect-content-encoding")
    }).pipe(Effect.provide(DirectLive(cors))))

  it.effect("gRPC-Web's status headers are exposed like any other", () =>
    Effect.gen(function*() {
      // A failed unary call is answered trailers-only: the status in the response's headers.
      const response = yield* send({
        path: echoPath,
        headers: { "content-type": "application/grpc-web+proto", "x-grpc-web": "1", origin: page },
        body: envelope(0, toBinary(EchoRequestSchema, create(EchoRequestSchema, { text: "gone", failWith: "not_found" })))
      })
      expect(response.headers["grpc-status"]).toBe("5")
      expect(listOf(response.headers["access-control-expose-headers"])).toEqual(
        expect.arrayContaining(["grpc-status", "grpc-message", "grpc-status-details-bin"])
      )
    }).pipe(Effect.provide(DirectLive(cors))))
})
