/**
 * Our server over HTTP/2: HTTP/1.1 and h2c on one port, TLS with ALPN and client certificates,
 * full-duplex bidi, with @connectrpc/connect-node's client as the independent peer; and raw
 * node:http2 clients that misbehave (resets in a loop, too many streams, huge headers, a peer
 * that stops reading or vanishes), after which the server still serves and holds nothing open.
 */
import { Code as NodeCode, ConnectError as NodeConnectError, createClient } from "@connectrpc/connect"
import { type ConnectTransportOptions, createConnectTransport } from "@connectrpc/connect-node"
import { describe, expect, it } from "@effect/vitest"
import { ConnectService } from "connect-effect"
import { ConnectServer } from "connect-effect/node"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Ref from "effect/Ref"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Http2 from "node:http2"
import * as Net from "node:net"
import * as Tls from "node:tls"
import { TestService } from "./gen/connecteffect/test/v1/test_pb.js"
import { rawSession } from "./support/peers.js"
import { testCertificates } from "./support/tls.js"

/** TestService whose answers tell what the handler saw of the connection, and which counts handlers still running. */
const ConnectionEchoLive = (running: Ref.Ref<number>) => {
  const counted = Effect.acquireRelease(Ref.update(running, (n) => n + 1), () => Ref.update(running, (n) => n - 1))
  const tracked = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.scoped(Effect.zipRight(counted, effect))
  const trackedStream = <A, E, R>(stream: Stream.Stream<A, E, R>) => Stream.unwrapScoped(Effect.as(counted, stream))
  return ConnectService.toLayer(TestService, {
    echo: (request, ctx) =>
      tracked(Effect.as(Effect.sleep(request.delayMs), {
        text: `${request.text} over HTTP/${ctx.httpVersion}`,
        headers: ctx.peerCertificate._tag === "Some"
          ? [`CN=${String(ctx.peerCertificate.value.subject["CN"])}`, `authorized=${ctx.peerCertificate.value.authorized}`]
          : []
      })),
    serverStream: (request) =>
      trackedStream(Stream.map(Stream.range(1, request.count), (i) => ({ text: `${i}`, payload: new Uint8Array(request.size) }))),
    clientStream: (requests) => tracked(Effect.map(Stream.runCollect(requests), (all) => ({ text: Array.from(all, (r) => r.text).join(",") }))),
    bidiStream: (requests) => trackedStream(Stream.map(requests, (r) => ({ text: `echo ${r.text}` })))
  })
}

interface Harness {
  readonly server: ConnectServer.ConnectServer["Type"]
  readonly running: Ref.Ref<number>
}

const serve = (options: Omit<ConnectServer.ServeOptions<[typeof TestService]>, "services"> = {}) =>
  Effect.gen(function*() {
    const running = yield* Ref.make(0)
    const context = yield* Layer.build(
      ConnectServer.layer({ ...options, services: [TestService] }).pipe(Layer.provide(ConnectionEchoLive(running)))
    )
    return { server: Context.get(context, ConnectServer.ConnectServer), running } satisfies Harness
  })

const nodeClient = (baseUrl: string, httpVersion: "1.1" | "2", options: Partial<ConnectTransportOptions> = {}) =>
  createClient(TestService, createConnectTransport({ baseUrl, httpVersion, ...options } as ConnectTransportOptions))

/** Waits until no call is in flight on the server and no handler runs (cleanup is asynchronous). */
const settled = (harness: Harness) =>
  Effect.gen(function*() {
    for (let i = 0; i < 200; i++) {
      const activity = yield* harness.server.activity
      const running = yield* Ref.get(harness.running)
      if (activity.callsInFlight === 0 && running === 0) return
      yield* Effect.sleep("10 millis")
    }
    const activity = yield* harness.server.activity
    expect({ ...activity, running: yield* Ref.get(harness.running) }).toMatchObject({ callsInFlight: 0, running: 0 })
  })

const drain = async <A>(iterable: AsyncIterable<A>) => {
  const out: Array<A> = []
  for await (const a of iterable) out.push(a)
  return out
}

describe("HTTP/1.1 and h2c on one port, with connect-node's client", () => {
  it.scopedLive("all four kinds of call over both versions, the handler seeing which", () =>
    Effect.gen(function*() {
      const { server } = yield* serve()
      for (const version of ["1.1", "2"] as const) {
        const client = nodeClient(server.url, version)
        const unary = yield* Effect.promise(() => client.echo({ text: "hi" }))
        expect(unary.text).toBe(`hi over HTTP/${version === "2" ? "2" : "1.1"}`)
        const streamed = yield* Effect.promise(() => drain(client.serverStream({ count: 3, size: 10 })))
        expect(streamed.map((r) => r.text)).toEqual(["1", "2", "3"])
        async function* three() {
          yield { text: "a" }
          yield { text: "b" }
          yield { text: "c" }
        }
        const collected = yield* Effect.promise(() => client.clientStream(three()))
        expect(collected.text).toBe("a,b,c")
      }
      // connect-node refuses bidi over HTTP/1.1 itself; over HTTP/2 it is full duplex.
      const bidi = yield* Effect.promise(() => drain(nodeClient(server.url, "2").bidiStream((async function*() {
        yield { text: "x" }
        yield { text: "y" }
      })())))
      expect(bidi.map((r) => r.text)).toEqual(["echo x", "echo y"])
    }))

  it.scopedLive("full-duplex bidi: each answer arrives before the next request is sent", () =>
    Effect.gen(function*() {
      const { server } = yield* serve()
      const client = nodeClient(server.url, "2")
      const answers: Array<string> = []
      let answered: (() => void) | undefined
      const requests = async function*() {
        for (const text of ["one", "two", "three"]) {
          const waiting = new Promise<void>((resolve) => answered = resolve)
          yield { text }
          // Only once the server has answered this one does the next leave.
          await waiting
        }
      }
      yield* Effect.promise(async () => {
        for await (const response of client.bidiStream(requests())) {
          answers.push(response.text)
          answered?.()
        }
      }).pipe(Effect.timeout("5 seconds"))
      expect(answers).toEqual(["echo one", "echo two", "echo three"])
    }))

  it.scopedLive("a client that cancels a bidi stream early interrupts the handler, and nothing stays open", () =>
    Effect.gen(function*() {
      const harness = yield* serve()
      const client = nodeClient(harness.server.url, "2")
      const controller = new AbortController()
      const gotFirst = yield* Deferred.make<void>()
      const call = Effect.promise(async () => {
        try {
          for await (const _ of client.bidiStream((async function*() {
            yield { text: "first" }
            await new Promise(() => {}) // never sends another
          })(), { signal: controller.signal })) {
            Effect.runSync(Deferred.succeed(gotFirst, undefined))
          }
        } catch {
          // aborted, as intended
        }
      })
      const fiber = yield* Effect.fork(call)
      yield* Deferred.await(gotFirst)
      expect(yield* Ref.get(harness.running)).toBe(1)
      controller.abort()
      yield* settled(harness)
      yield* fiber.await
    }))
})

describe("TLS: ALPN h2 and http/1.1, client certificates", () => {
  const certs = testCertificates()
  const tls = { cert: certs.serverCert, key: certs.serverKey }

  it.scopedLive("HTTP/2 and HTTP/1.1 over TLS on one port, the URL https:", () =>
    Effect.gen(function*() {
      const { server } = yield* serve({ tls })
      expect(server.url.startsWith("https://")).toBe(true)
      for (const version of ["1.1", "2"] as const) {
        const client = nodeClient(server.url, version, { nodeOptions: { ca: certs.ca } })
        const unary = yield* Effect.promise(() => client.echo({ text: "secure" }))
        expect(unary.text).toBe(`secure over HTTP/${version}`)
        expect(unary.headers).toEqual([])
      }
    }))

  it.scopedLive("required client certificates: the handler sees the client's; without one, or with a stranger's, the handshake fails", () =>
    Effect.gen(function*() {
      const { server } = yield* serve({ tls: { ...tls, clientCertificates: { ca: certs.ca } } })
      const withCert = nodeClient(server.url, "2", { nodeOptions: { ca: certs.ca, cert: certs.clientCert, key: certs.clientKey } })
      const answer = yield* Effect.promise(() => withCert.echo({ text: "me" }))
      expect(answer.headers).toEqual(["CN=test-client", "authorized=true"])
      for (const nodeOptions of [{ ca: certs.ca }, { ca: certs.ca, cert: certs.strangerCert, key: certs.strangerKey }]) {
        const refused = yield* Effect.promise(() =>
          nodeClient(server.url, "2", { nodeOptions }).echo({ text: "no" }).then(() => "answered", (e: Error) => e.message)
        )
        expect(refused).not.toBe("answered")
      }
    }))

  it.scopedLive("optional client certificates: a stranger's is let in, marked unauthorized", () =>
    Effect.gen(function*() {
      const { server } = yield* serve({ tls: { ...tls, clientCertificates: { ca: certs.ca, required: false } } })
      const stranger = nodeClient(server.url, "1.1", {
        nodeOptions: { ca: certs.ca, cert: certs.strangerCert, key: certs.strangerKey }
      })
      const answer = yield* Effect.promise(() => stranger.echo({ text: "?" }))
      expect(answer.headers).toEqual(["CN=stranger", "authorized=false"])
    }))

  it.scopedLive("a client that fails the handshake does not disturb the server", () =>
    Effect.gen(function*() {
      const { server } = yield* serve({ tls })
      yield* Effect.async<void>((resume) => {
        const socket = Tls.connect({ host: "127.0.0.1", port: server.port, rejectUnauthorized: true })
        socket.on("error", () => resume(Effect.void))
      })
      const answer = yield* Effect.promise(() => nodeClient(server.url, "2", { nodeOptions: { ca: certs.ca } }).echo({ text: "ok" }))
      expect(answer.text).toBe("ok over HTTP/2")
    }))
})

const echoHeaders = {
  ":method": "POST",
  ":path": `/${TestService.typeName}/Echo`,
  "content-type": "application/json"
}

const bidiHeaders = { ...echoHeaders, ":path": `/${TestService.typeName}/BidiStream`, "content-type": "application/connect+json" }

const streamEnded = (stream: Http2.ClientHttp2Stream) =>
  Effect.async<void>((resume) => {
    stream.resume()
    stream.on("error", () => {})
    stream.once("close", () => resume(Effect.void))
  })

describe("HTTP/2 under hostile clients", () => {
  it.scopedLive("streams opened and reset at once, 500 times: the server keeps serving and holds nothing", () =>
    Effect.gen(function*() {
      const harness = yield* serve()
      const session = yield* rawSession(harness.server.url)
      for (let i = 0; i < 500; i++) {
        const stream = session.request(bidiHeaders, { endStream: false })
        stream.on("error", () => {})
        stream.close(Http2.constants.NGHTTP2_CANCEL)
      }
      const answer = yield* Effect.promise(() => nodeClient(harness.server.url, "2").echo({ text: "after" }))
      expect(answer.text).toBe("after over HTTP/2")
      yield* settled(harness)
    }))

  it.scopedLive("more streams than maxConcurrentStreams: the rest are refused, the server keeps serving", () =>
    Effect.gen(function*() {
      const harness = yield* serve({ maxConcurrentStreams: 4 })
      const session = yield* rawSession(harness.server.url)
      yield* Effect.async<void>((resume) => {
        session.once("remoteSettings", () => resume(Effect.void))
      })
      expect(session.remoteSettings.maxConcurrentStreams).toBe(4)
      let peak = 0
      const streams = Array.from({ length: 4 }, () => session.request(bidiHeaders, { endStream: false }))
      for (const stream of streams) stream.on("error", () => {})
      yield* Effect.sleep("100 millis")
      peak = (yield* harness.server.activity).callsInFlight
      expect(peak).toBe(4)
      // The fifth, sent anyway on a raw socket would be refused; node:http2 queues it instead, and
      // the server never sees more than four at once.
      const fifth = session.request(echoHeaders)
      fifth.on("error", () => {})
      fifth.end(JSON.stringify({ text: "fifth" }))
      yield* Effect.sleep("100 millis")
      expect((yield* harness.server.activity).callsInFlight).toBeLessThanOrEqual(4)
      for (const stream of streams) stream.close(Http2.constants.NGHTTP2_CANCEL)
      yield* streamEnded(fifth)
      yield* settled(harness)
    }))

  it.scopedLive("a header list past maxHeaderBytes is refused; the server keeps serving", () =>
    Effect.gen(function*() {
      const harness = yield* serve({ maxHeaderBytes: 8 * 1024 })
      const session = yield* rawSession(harness.server.url)
      const stream = session.request({ ...echoHeaders, "x-huge": "x".repeat(32 * 1024) })
      stream.on("error", () => {})
      stream.end("{}")
      const status = yield* Effect.async<number | undefined>((resume) => {
        stream.on("response", (headers) => resume(Effect.succeed(headers[":status"])))
        stream.on("close", () => resume(Effect.succeed(undefined)))
      })
      expect(status === undefined || status >= 400).toBe(true)
      const answer = yield* Effect.promise(() => nodeClient(harness.server.url, "2").echo({ text: "fine" }))
      expect(answer.text).toBe("fine over HTTP/2")
      yield* settled(harness)
    }))

  it.scopedLive("a client that stops reading a large stream, then vanishes: the handler is interrupted", () =>
    Effect.gen(function*() {
      const harness = yield* serve()
      const session = yield* rawSession(harness.server.url)
      const stream = session.request({ ...bidiHeaders, ":path": `/${TestService.typeName}/ServerStream` })
      stream.on("error", () => {})
      stream.pause() // never reads: flow control stops the server
      const body = new TextEncoder().encode(JSON.stringify({ count: 100_000, size: 1024 }))
      const frame = new Uint8Array(5 + body.byteLength)
      new DataView(frame.buffer).setUint32(1, body.byteLength)
      frame.set(body, 5)
      stream.end(frame)
      yield* Effect.sleep("300 millis")
      expect(yield* Ref.get(harness.running)).toBe(1)
      session.destroy()
      yield* settled(harness)
      expect((yield* harness.server.activity).http2Sessions).toBe(0)
    }))

  it.live("shutdown with a call in flight: GOAWAY, the call finishes, new calls are refused, then all closes", () =>
    Effect.gen(function*() {
      const running = yield* Ref.make(0)
      const scope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(
        ConnectServer.layer({ services: [TestService], shutdownGraceMs: 5000 }).pipe(Layer.provide(ConnectionEchoLive(running))),
        scope
      )
      const server = Context.get(context, ConnectServer.ConnectServer)
      const slow = nodeClient(server.url, "2").echo({ text: "slow", delayMs: 700 })
      // A session of its own (not a Scope's: the test closes it after the server's shutdown).
      const watcher = yield* Effect.promise(() =>
        new Promise<Http2.ClientHttp2Session>((resolve) => {
          const session = Http2.connect(server.url)
          session.on("error", () => {})
          session.once("connect", () => resolve(session))
        })
      )
      const goaway = new Promise<void>((resolve) => watcher.once("goaway", () => resolve()))
      yield* Effect.sleep("150 millis")
      expect((yield* server.activity).callsInFlight).toBe(1)
      const closing = yield* Effect.fork(Scope.close(scope, Exit.void))
      yield* Effect.promise(() => goaway)
      const late = yield* Effect.promise(() =>
        nodeClient(server.url, "2").echo({ text: "late" }).then(() => "answered", (e: unknown) => NodeConnectError.from(e).code)
      )
      expect(late).toBe(NodeCode.Unavailable)
      expect((yield* Effect.promise(() => slow)).text).toBe("slow over HTTP/2")
      yield* Fiber.join(closing)
      expect(yield* server.activity).toEqual({ http2Sessions: 0, http1Connections: 0, callsInFlight: 0 })
      watcher.destroy()
    }))
})

describe("HTTP/1.1 on the shared port", () => {
  it.scopedLive("a client that trickles its request headers is cut off after headersTimeoutMs (slowloris)", () =>
    Effect.gen(function*() {
      const { server } = yield* serve({ headersTimeoutMs: 1000 })
      const start = Date.now()
      const closedAfter = yield* Effect.async<number>((resume) => {
        const socket = Net.connect(server.port, "127.0.0.1")
        socket.on("error", () => {})
        socket.write("POST /connecteffect.test.v1.TestService/Echo HTTP/1.1\r\nHost: x\r\n")
        const timer = setInterval(() => socket.write("X-Slow: 1\r\n"), 200)
        socket.on("close", () => {
          clearInterval(timer)
          resume(Effect.succeed(Date.now() - start))
        })
        return Effect.sync(() => {
          clearInterval(timer)
          socket.destroy()
        })
      }).pipe(Effect.timeout("10 seconds"))
      expect(closedAfter).toBeGreaterThanOrEqual(900)
      const answer = yield* Effect.promise(() => nodeClient(server.url, "1.1").echo({ text: "others fine" }))
      expect(answer.text).toBe("others fine over HTTP/1.1")
    }))
})
