/**
 * Server interceptors and the request gate, called by connect-node's client in all three
 * protocols: bearer-token auth checked by the gate with a TokenVerifier service from the
 * context (refused before the body is read or the handler runs), a per-tenant header given to
 * handlers as a service, and request logging with durations, per server and per service.
 */
import { type Client, Code as NodeCode, ConnectError as NodeConnectError, createClient, type Transport as NodeTransport } from "@connectrpc/connect"
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node"
import { describe, expect, it, layer } from "@effect/vitest"
import { ConnectError, ConnectService, ServerInterceptor } from "connect-effect"
import { ConnectServer } from "connect-effect/node"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Ref from "effect/Ref"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { TestService } from "./gen/connecteffect/test/v1/test_pb.js"

/** Checks tokens; the gate asks it, so the server requires it. */
class TokenVerifier extends Context.Tag("test/TokenVerifier")<TokenVerifier, {
  readonly verify: (token: string) => Effect.Effect<string, ConnectError.ConnectError>
}>() {}

/** The calling tenant, as handlers see it: set per call by an interceptor from `x-tenant`. */
class Tenant extends Context.Reference<Tenant>()("test/Tenant", { defaultValue: () => "none" }) {}

/** What the test saw: handler runs, and log lines from the interceptors. */
class Journal extends Context.Tag("test/Journal")<Journal, Ref.Ref<ReadonlyArray<string>>>() {}

/** The journal, emptied for a new test. */
const freshJournal = Effect.flatMap(Journal, (journal) => Effect.as(Ref.set(journal, []), journal))

const write = (line: string) => Effect.flatMap(Journal, (journal) => Ref.update(journal, (lines) => [...lines, line]))

const TokenVerifierLive = Layer.succeed(TokenVerifier, {
  verify: (token) =>
    token === "secret"
      ? Effect.succeed("ada")
      : Effect.fail(ConnectError.make("unauthenticated", "bad token"))
})

const bearerGate: ServerInterceptor.RequestGate<TokenVerifier> = (request) =>
  Effect.gen(function*() {
    const header = request.headers["authorization"] ?? ""
    if (!header.startsWith("Bearer ")) return yield* ConnectError.make("unauthenticated", "no bearer token")
    yield* (yield* TokenVerifier).verify(header.slice("Bearer ".length))
  })

const tenants = ServerInterceptor.make({
  unary: (request, context, next) => Effect.provideService(next(request), Tenant, context.requestHeaders["x-tenant"] ?? "none"),
  stream: (requests, context, next) => Stream.provideService(next(requests), Tenant, context.requestHeaders["x-tenant"] ?? "none")
})

/** Logs each call with its outcome and duration; `name` tells which interceptor wrote it. */
const logging = (name: string) =>
  ServerInterceptor.make<Journal>({
    unary: (request, context, next) =>
      Effect.gen(function*() {
        yield* write(`${name} start ${context.method.name}`)
        const [duration, exit] = yield* Effect.timed(Effect.exit(next(request)))
        yield* write(`${name} end ${context.method.name} ${exit._tag} in ${Duration.toMillis(duration).toFixed(1)} ms`)
        return yield* exit
      }),
    stream: (requests, context, next) =>
      Stream.unwrap(Effect.as(write(`${name} start ${context.method.name}`), next(requests))).pipe(
        Stream.onEnd(write(`${name} end ${context.method.name}`))
      )
  })

const TestServiceLive = ConnectService.toLayer(TestService, {
  echo: (request) => Effect.map(Tenant, (tenant) => ({ text: `${request.text} for ${tenant}` })),
  serverStream: (request) =>
    Stream.mapEffect(Stream.range(1, request.count), (i) => Effect.map(Tenant, (tenant) => ({ text: `${i} for ${tenant}` }))),
  clientStream: (requests) =>
    Effect.zipWith(Stream.runCount(requests), Tenant, (n, tenant) => ({ text: `${n} for ${tenant}` })).pipe(
      Effect.tap(write("clientStream handler ran"))
    ),
  bidiStream: (requests) => Stream.mapEffect(requests, (r) => Effect.map(Tenant, (tenant) => ({ text: `${r.text} for ${tenant}` })))
}, { interceptors: [logging("service")] })

const ServerLive = ConnectServer.layer({
  services: [TestService],
  interceptors: [logging("server"), tenants],
  requestGate: bearerGate
}).pipe(Layer.provide(TestServiceLive), Layer.provide(TokenVerifierLive))

const JournalLive = Layer.effect(Journal, Ref.make<ReadonlyArray<string>>([]))

const protocols: ReadonlyArray<{ name: string; transport: (baseUrl: string) => NodeTransport }> = [
  { name: "connect", transport: (baseUrl) => createConnectTransport({ baseUrl, httpVersion: "2" }) },
  { name: "grpc", transport: (baseUrl) => createGrpcTransport({ baseUrl }) },
  { name: "grpc-web", transport: (baseUrl) => createGrpcWebTransport({ baseUrl, httpVersion: "1.1" }) }
]

const clientOf = (transport: (baseUrl: string) => NodeTransport) =>
  Effect.map(ConnectServer.ConnectServer, (server): Client<typeof TestService> => createClient(TestService, transport(server.url)))

const failure = (f: () => Promise<unknown>) =>
  Effect.promise(() => f().then(() => { throw new Error("expected the call to fail") }, (e: unknown) => NodeConnectError.from(e)))

const authorized = { headers: { authorization: "Bearer secret", "x-tenant": "acme" } }

async function* never(): AsyncIterable<{ text: string }> {
  yield { text: "first" }
  await new Promise(() => {})
}

describe("server interceptors and the request gate", () => {
  layer(Layer.provideMerge(ServerLive, JournalLive), { excludeTestServices: true })((it) => {
    describe.each(protocols)("$name", ({ transport }) => {
      it.effect("the gate lets a good token through; the tenant reaches every kind of handler", () =>
        Effect.gen(function*() {
          const client = yield* clientOf(transport)
          const unary = yield* Effect.promise(() => client.echo({ text: "hi" }, authorized))
          expect(unary.text).toBe("hi for acme")
          const streamed: Array<string> = []
          yield* Effect.promise(async () => {
            for await (const m of client.serverStream({ count: 2 }, authorized)) streamed.push(m.text)
          })
          expect(streamed).toEqual(["1 for acme", "2 for acme"])
          const counted = yield* Effect.promise(() =>
            client.clientStream((async function*() { yield { text: "a" }; yield { text: "b" } })(), authorized))
          expect(counted.text).toBe("2 for acme")
          const anonymous = yield* Effect.promise(() =>
            client.echo({ text: "hi" }, { headers: { authorization: "Bearer secret" } }))
          expect(anonymous.text).toBe("hi for none")
        }))

      it.effect("no token or a bad one is unauthenticated, and the handler never runs", () =>
        Effect.gen(function*() {
          const journal = yield* freshJournal
          const client = yield* clientOf(transport)
          const missing = yield* failure(() => client.echo({ text: "hi" }))
          expect(missing.code).toBe(NodeCode.Unauthenticated)
          expect(missing.rawMessage).toBe("no bearer token")
          const bad = yield* failure(() => client.echo({ text: "hi" }, { headers: { authorization: "Bearer guess" } }))
          expect(bad.code).toBe(NodeCode.Unauthenticated)
          expect(bad.rawMessage).toBe("bad token")
          const stream = yield* failure(async () => {
            for await (const _ of client.serverStream({ count: 2 })) { /* none */ }
          })
          expect(stream.code).toBe(NodeCode.Unauthenticated)
          expect(yield* Ref.get(journal)).toEqual([])
        }))

      it.effect("the gate answers before the body is read: a request stream that never ends is refused", () =>
        Effect.gen(function*() {
          const journal = yield* freshJournal
          const client = yield* clientOf(transport)
          const refused = yield* failure(() => client.clientStream(never()))
          expect(refused.code).toBe(NodeCode.Unauthenticated)
          expect(yield* Ref.get(journal)).toEqual([])
        }))
    })

    it.effect("interceptors run in order, the server's outside the service's, and log durations", () =>
      Effect.gen(function*() {
        const journal = yield* freshJournal
        const client = yield* clientOf(protocols[0]!.transport)
        yield* Effect.promise(() => client.echo({ text: "hi" }, authorized))
        yield* Effect.promise(async () => {
          for await (const _ of client.bidiStream((async function*() { yield { text: "x" } })(), authorized)) { /* drain */ }
        })
        expect(yield* Ref.get(journal)).toEqual([
          "server start Echo",
          "service start Echo",
          expect.stringMatching(/^service end Echo Success in \d+\.\d ms$/),
          expect.stringMatching(/^server end Echo Success in \d+\.\d ms$/),
          "server start BidiStream",
          "service start BidiStream",
          "service end BidiStream",
          "server end BidiStream"
        ])
      }))
  })
})

/** Acquires a resource for each unary call, in the call's Scope: released once the call has ended. */
const perCallResource = ServerInterceptor.make<Journal | Scope.Scope>({
  unary: (request, context, next) =>
    Effect.zipRight(
      Effect.acquireRelease(write(`acquired for ${context.method.name}`), () => write(`released for ${context.method.name}`)),
      next(request)
    )
})

describe("a server interceptor's resources", () => {
  it.scoped("belong to the call: released once it has ended, before the next", () =>
    Effect.gen(function*() {
      const journal = Ref.unsafeMake<ReadonlyArray<string>>([])
      const server = yield* Layer.build(
        ConnectServer.layer({ services: [TestService], interceptors: [perCallResource] }).pipe(
          Layer.provide(TestServiceLive),
          Layer.provide(Layer.succeed(Journal, journal))
        )
      )
      const { url } = Context.get(server, ConnectServer.ConnectServer)
      const client = createClient(TestService, createConnectTransport({ baseUrl: url, httpVersion: "1.1" }))
      yield* Effect.promise(() => client.echo({ text: "one" }))
      yield* Effect.promise(() => client.echo({ text: "two" }))
      const call = ["acquired for Echo", "service start Echo", expect.stringMatching(/^service end Echo Success/), "released for Echo"]
      expect(yield* Ref.get(journal)).toEqual([...call, ...call])
    }))
})
