/**
 * Errors a person can read, as a new user meets them: the text asserted is what logs and
 * pretty causes show. A refused connection names the request and the reason on every client;
 * a ConnectError escaping to runPromise keeps its code; a taken port says which address and
 * why; https: against a plain-HTTP server is a sentence, not OpenSSL's words.
 */
import { FetchHttpClient } from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import { describe, expect, layer } from "@effect/vitest"
import { ConnectClient, ConnectTransport, type Transport } from "connect-effect"
import { ConnectServer, NodeTransport } from "connect-effect/node"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Net from "node:net"
import { TestService } from "./gen/connecteffect/test/v1/test_pb.js"
import { ourServer } from "./support/servers.js"

/** A loopback port nothing listens on. */
const closedPort = Effect.promise(() =>
  new Promise<number>((resolve) => {
    const server = Net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as Net.AddressInfo
      server.close(() => resolve(port))
    })
  })
)

const transports: ReadonlyArray<{ name: string; layer: (baseUrl: string) => Layer.Layer<Transport.Transport> }> = [
  { name: "NodeTransport.layerUndici", layer: (baseUrl) => NodeTransport.layerUndici({ baseUrl }) },
  { name: "ConnectTransport.layer on NodeHttpClient", layer: (baseUrl) => ConnectTransport.layer({ baseUrl }).pipe(Layer.provide(NodeHttpClient.layerUndici)) },
  { name: "ConnectTransport.layer on fetch", layer: (baseUrl) => ConnectTransport.layer({ baseUrl }).pipe(Layer.provide(FetchHttpClient.layer)) }
]

const echo = (transport: Layer.Layer<Transport.Transport>) =>
  Effect.flatMap(ConnectClient.make(TestService), (client) => client.echo({ text: "hi" })).pipe(Effect.provide(transport))

describe("errors a person can read", () => {
  layer(ourServer(), { excludeTestServices: true })((it) => {
    describe.each(transports)("$name", ({ layer: transportAt }) => {
      it.effect("a refused connection: the request, the reason, and the code", () =>
        Effect.gen(function*() {
          const port = yield* closedPort
          const exit = yield* Effect.exit(echo(transportAt(`http://127.0.0.1:${port}`)))
          const pretty = Exit.isFailure(exit) ? Cause.pretty(exit.cause) : ""
          expect(pretty.split("\n")[0]).toBe(
            `ConnectError [unavailable]: POST http://127.0.0.1:${port}/connecteffect.test.v1.TestService/Echo: connect ECONNREFUSED 127.0.0.1:${port}`
          )
        }))

      it.effect("https: against a plain-HTTP server says so", () =>
        Effect.gen(function*() {
          const { port } = yield* ConnectServer.ConnectServer
          const exit = yield* Effect.exit(echo(transportAt(`https://127.0.0.1:${port}`)))
          const pretty = Exit.isFailure(exit) ? Cause.pretty(exit.cause) : ""
          expect(pretty.split("\n")[0]).toMatch(
            new RegExp(`^ConnectError \\[unavailable\\]: POST https://127.0.0.1:${port}/connecteffect.test.v1.TestService/Echo: the server did not answer in TLS: it may be serving plain HTTP, for an http: URL \\(ERR_SSL_\\w+\\)$`)
          )
        }))
    })

    it.effect("a ConnectError escaping to runPromise shows its code", () =>
      Effect.gen(function*() {
        const port = yield* closedPort
        const error = yield* Effect.promise(() =>
          Effect.runPromise(echo(NodeTransport.layerUndici({ baseUrl: `http://127.0.0.1:${port}` }))).then(() => undefined, (e: unknown) => e)
        )
        expect(String(error).split("\n")[0]).toBe(
          `(FiberFailure) ConnectError [unavailable]: POST http://127.0.0.1:${port}/connecteffect.test.v1.TestService/Echo: connect ECONNREFUSED 127.0.0.1:${port}`
        )
      }))

    it.effect("a taken port: which address, and why", () =>
      Effect.gen(function*() {
        const { port } = yield* ConnectServer.ConnectServer
        const error = yield* Effect.flip(Layer.launch(ConnectServer.layer({ services: [], port })))
        expect(error.message).toBe(`cannot listen on 127.0.0.1:${port}: listen EADDRINUSE: address already in use 127.0.0.1:${port}`)
        expect(Cause.pretty(Cause.fail(error)).split("\n")[0]).toBe(`ServeError: ${error.message}`)
      }))
  })
})
