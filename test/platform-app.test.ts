/**
 * The services mounted into an @effect/platform HttpRouter and served by NodeHttpServer,
 * exercised by connect-node's client: the path for users who already serve with platform.
 */
import { createClient } from "@connectrpc/connect"
import { createConnectTransport } from "@connectrpc/connect-node"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServer from "@effect/platform/HttpServer"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { NodeHttpServer } from "@effect/platform-node"
import { describe, expect, layer } from "@effect/vitest"
import { ConnectServer } from "connect-effect/node"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { createServer } from "node:http"
import { TestService } from "./gen/connecteffect/test/v1/test_pb.js"
import { TestServiceLive } from "./support/testService.js"

const appLive = (maxConcurrentCalls?: number) =>
  Layer.unwrapEffect(Effect.gen(function*() {
  const app = yield* ConnectServer.toHttpApp({ services: [TestService], ...(maxConcurrentCalls === undefined ? {} : { maxConcurrentCalls }) })
  const router = HttpRouter.empty.pipe(
    HttpRouter.get("/health", HttpServerResponse.text("ok")),
    HttpRouter.all(`/${TestService.typeName}/*`, app)
  )
  return HttpServer.serve(router)
})).pipe(
  Layer.provide(TestServiceLive),
  Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" }))
)

const AppLive = appLive()

const baseUrl = HttpServer.addressFormattedWith((address) => Effect.succeed(address))

const clientOf = (url: string, useBinaryFormat: boolean) =>
  createClient(TestService, createConnectTransport({ baseUrl: url, httpVersion: "1.1", useBinaryFormat }))

describe("ConnectServer.toHttpApp", () => {
  layer(AppLive)((it) => {
    for (const binary of [true, false]) {
      describe(binary ? "binary" : "json", () => {
        it.effect("serves all four kinds of call beside the router's own routes", () =>
          Effect.gen(function*() {
            const client = clientOf(yield* baseUrl, binary)
            const echoed = yield* Effect.promise(() => client.echo({ text: "hello" }))
            expect(echoed.text).toBe("hello")

            const streamed = yield* Effect.promise(async () => {
              const out: Array<string> = []
              for await (const r of client.serverStream({ text: "s", count: 3 })) out.push(r.text)
              return out
            })
            expect(streamed).toEqual(["s 0", "s 1", "s 2"])

            const collected = yield* Effect.promise(() =>
              client.clientStream((async function*() {
                yield { text: "a" }
                yield { text: "b" }
              })())
            )
            expect(collected.text).toBe("a,b")

            const bidi = yield* Effect.promise(async () => {
              const out: Array<string> = []
              const requests = async function*() {
                yield { text: "x" }
                yield { text: "y" }
              }
              for await (const r of client.bidiStream(requests())) out.push(r.text)
              return out
            })
            expect(bidi).toEqual(["x", "y"])

          }))

        it.effect("sends headers before the first message and trailers after the last", () =>
          Effect.gen(function*() {
            const client = clientOf(yield* baseUrl, binary)
            const seen = yield* Effect.promise(async () => {
              let header: string | null = null
              let trailer: string | null = null
              const out: Array<string> = []
              for await (
                const r of client.serverStream({ text: "meta", count: 2 }, {
                  onHeader: (h) => header = h.get("x-test-header"),
                  onTrailer: (t) => trailer = t.get("x-test-trailer")
                })
              ) out.push(r.text)
              return { header, trailer, out }
            })
            expect(seen).toEqual({ header: "meta", trailer: "done", out: ["meta 0", "meta 1"] })
          }))

        it.effect("fails with the handler's error code and details", () =>
          Effect.gen(function*() {
            const client = clientOf(yield* baseUrl, binary)
            const error = yield* Effect.flip(Effect.tryPromise(() => client.echo({ text: "no", failWith: "not_found" })))
            expect(String(error.error)).toContain("[not_found] failed: no")
          }))
      })
    }
  })
})

// Each call's Scope closes once its response is out. A unary call's was left open (its close
// looked at the platform's response, not ours): harmless until maxConcurrentCalls counted calls
// by their Scope, and every call past the 10,000th was refused.
describe("ConnectServer.toHttpApp with maxConcurrentCalls", () => {
  layer(appLive(3))((it) => {
    it.effect("counts a call as served once it is answered: twenty of each kind one after another, three at most at once", () =>
      Effect.gen(function*() {
        const client = clientOf(yield* baseUrl, true)
        for (let i = 0; i < 20; i++) {
          const echoed = yield* Effect.promise(() => client.echo({ text: `call ${i}` }))
          expect(echoed.text).toBe(`call ${i}`)
          const streamed = yield* Effect.promise(async () => {
            const out: Array<string> = []
            for await (const r of client.serverStream({ text: "s", count: 2 })) out.push(r.text)
            return out
          })
          expect(streamed).toEqual(["s 0", "s 1"])
        }
      }))
  })
})
