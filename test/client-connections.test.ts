/**
 * What a client transport does with its connections: completed calls (unary and streaming)
 * hand theirs back for the next call rather than aborting it, and layerUndici owns the Agent it
 * makes but never a Dispatcher it is given.
 */
import { describe, expect, it } from "@effect/vitest"
import { ConnectClient, ConnectError } from "connect-effect"
import { NodeTransport } from "connect-effect/node"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import type * as Http from "node:http"
import type * as Net from "node:net"
import { Agent } from "undici"
import { TestService } from "./gen/connecteffect/test/v1/test_pb.js"
import { nodeServer } from "./support/servers.js"
import { clientTransports } from "./support/transports.js"
import { connectNodeAdapter } from "@connectrpc/connect-node"
import { connectNodeRoutes } from "./support/testService.js"

/**
 * connect-node serving TestService, counting the connections it accepts and those still open.
 * (undici may open a second connection for a call sent the moment the previous one ends, before
 * the first is back in its pool: "reused" below means a handful of connections, none closed.)
 */
const countingServer = Effect.gen(function*() {
  const { server, url } = yield* nodeServer(connectNodeAdapter({ routes: connectNodeRoutes }) as Http.RequestListener)
  const sockets = new Set<Net.Socket>()
  let accepted = 0
  server.on("connection", (socket: Net.Socket) => {
    accepted++
    sockets.add(socket)
    socket.on("close", () => sockets.delete(socket))
  })
  return { url, accepted: () => accepted, open: () => sockets.size }
})

/** Waits until `condition` holds, for up to `ms`. */
const eventually = (condition: () => boolean, ms = 2000) =>
  Effect.gen(function*() {
    const until = Date.now() + ms
    while (!condition() && Date.now() < until) yield* Effect.sleep("10 millis")
    return condition()
  })

describe.each(clientTransports)("over $name", (transport) => {
  it.scopedLive("completed calls, one after another, reuse their connections and close none", () =>
    Effect.gen(function*() {
      const server = yield* countingServer
      const context = yield* Layer.build(transport.layer({ baseUrl: server.url }))
      const client = yield* Effect.provide(ConnectClient.make(TestService), context)
      for (let i = 0; i < 5; i++) {
        expect((yield* client.echo({ text: `call ${i}` })).text).toBe(`call ${i}`)
        expect(yield* Stream.runCount(client.serverStream({ text: "x", count: 3 }))).toBe(3)
        expect((yield* client.clientStream([{ text: "a" }, { text: "b" }])).text).toBeDefined()
      }
      expect(server.accepted()).toBeLessThanOrEqual(2)
      expect(server.open()).toBe(server.accepted())
    }))
})

describe("NodeTransport.layerUndici", () => {
  it.scopedLive("destroys the Agent it made when the Layer is released, closing its connections", () =>
    Effect.gen(function*() {
      const server = yield* countingServer
      yield* Effect.scoped(Effect.gen(function*() {
        const context = yield* Layer.build(NodeTransport.layerUndici({ baseUrl: server.url }))
        const client = yield* Effect.provide(ConnectClient.make(TestService), context)
        yield* client.echo({ text: "hi" })
        expect(server.open()).toBe(1)
      }))
      expect(yield* eventually(() => server.open() === 0)).toBe(true)
    }))

  it.scopedLive("leaves a Dispatcher it was given open, for its owner to close", () =>
    Effect.gen(function*() {
      const server = yield* countingServer
      const dispatcher = new Agent()
      yield* Effect.addFinalizer(() => Effect.promise(() => dispatcher.destroy()))
      const call = Effect.scoped(Effect.gen(function*() {
        const context = yield* Layer.build(NodeTransport.layerUndici({ baseUrl: server.url, dispatcher }))
        const client = yield* Effect.provide(ConnectClient.make(TestService), context)
        return (yield* client.echo({ text: "again" })).text
      }))
      expect(yield* call).toBe("again")
      expect(dispatcher.destroyed).toBe(false)
      expect(yield* call).toBe("again")
      expect(server.accepted()).toBeLessThanOrEqual(2)
      expect(server.open()).toBe(server.accepted())
    }))
})

describe.each(clientTransports)("over $name, a base URL that is not one", (transport) => {
  it.scopedLive("fails every call with internal, saying so, and sends nothing", () =>
    Effect.gen(function*() {
      for (const baseUrl of ["not a url", "http://", "http://[::1", "ftp://127.0.0.1:1", "/relative"]) {
        const context = yield* Layer.build(transport.layer({ baseUrl }))
        const client = yield* Effect.provide(ConnectClient.make(TestService), context)
        const unary = yield* Effect.flip(client.echo({ text: "x" }))
        const stream = yield* Effect.flip(Stream.runDrain(client.serverStream({ text: "x" })))
        for (const error of [unary, stream]) {
          expect(ConnectError.isConnectError(error), String(error)).toBe(true)
          expect(error.code).toBe("internal")
          expect(error.message).toContain(`invalid base URL "${baseUrl}"`)
        }
      }
    }))
})
