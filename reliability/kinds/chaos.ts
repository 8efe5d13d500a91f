/**
 * Our client calling our server through a chaos proxy (chaosProxy.ts) that delays, stalls,
 * cuts, resets or refuses its connections: every call, over the HTTP/1.1 transports (Connect,
 * gRPC-Web) and the HTTP/2 one (Connect, gRPC, gRPC-Web), of every kind the transport carries,
 * must either succeed with the right answer or fail with a ConnectError code, and never run
 * past its timeout (plus slack). A client per call, so each call has connections of its own.
 */
import { ConnectClient, type ConnectError } from "connect-effect"
import { NodeTransport } from "connect-effect/node"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import fc from "fast-check"
import { TestService } from "../../test/gen/connecteffect/test/v1/test_pb.js"
import { clientTransports } from "../../test/support/transports.js"
import { chaosProxy, type Fault, showFault } from "../chaosProxy.js"
import { judgeCall } from "../clientCalls.js"
import type { Kind } from "../kind.js"
import type { Judgement } from "../oracles.js"

const timeoutMs = 2000

type Call = "unary" | "server-stream" | "client-stream" | "bidi"

interface Input {
  /** An HTTP/1.1 transport of clientTransports, or HTTP/2. */
  readonly transport: number | "http2"
  readonly protocol: "connect" | "grpc" | "grpc-web"
  readonly call: Call
  /** Bytes of the unary payload and of each streamed message: up to several TCP segments and HTTP/2 frames. */
  readonly size: number
  readonly fault: Fault
}

const direction = fc.constantFrom("up" as const, "down" as const)
const afterBytes = fc.oneof(fc.integer({ min: 0, max: 400 }), fc.integer({ min: 400, max: 40_000 }))

const fault: fc.Arbitrary<Fault> = fc.oneof(
  { weight: 2, arbitrary: fc.constant({ kind: "none" as const }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("delay" as const), ms: fc.integer({ min: 1, max: 300 }), direction: fc.constantFrom("up" as const, "down" as const, "both" as const) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("stall" as const), afterBytes, direction }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("cut" as const), afterBytes, direction }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("reset" as const), afterBytes, direction }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("slow-connect" as const), ms: fc.integer({ min: 1, max: 3000 }) }) },
  { weight: 1, arbitrary: fc.constant({ kind: "refuse" as const }) }
)

const inputs = (http: "1.1" | "2"): fc.Arbitrary<Input> =>
  fc.record({
    transport: http === "2" ? fc.constant("http2" as const) : fc.integer({ min: 0, max: clientTransports.length - 1 }),
    protocol: http === "2" ? fc.constantFrom("connect" as const, "grpc" as const, "grpc-web" as const) : fc.constantFrom("connect" as const, "grpc-web" as const),
    // Bidi needs a full-duplex transport: HTTP/2.
    call: http === "2" ? fc.constantFrom<Call>("unary", "server-stream", "client-stream", "bidi") : fc.constantFrom<Call>("unary", "server-stream", "client-stream"),
    size: fc.oneof(fc.integer({ min: 0, max: 100 }), fc.integer({ min: 1000, max: 2048 })),
    fault
  })

const layerOf = (input: Input, baseUrl: string) =>
  input.transport === "http2"
    ? NodeTransport.layerHttp2({ baseUrl, protocol: input.protocol })
    : clientTransports[input.transport]!.layer({ baseUrl, protocol: input.protocol as "connect" | "grpc-web" })

/** The call, checking what a success returned: the right answer, whole. */
const callOf = (client: ConnectClient.Client<typeof TestService>, input: Input): Effect.Effect<string | undefined, ConnectError.ConnectError> => {
  const options = { timeout: timeoutMs }
  const payload = new Uint8Array(input.size).fill(7)
  const messages = [{ text: "a", payload }, { text: "b", payload }, { text: "c", payload }]
  switch (input.call) {
    case "unary":
      return Effect.map(client.echo({ text: "chaos", payload }, options), (r) => r.text === "chaos" && r.payload.byteLength === input.size ? undefined : "a wrong answer")
    case "server-stream":
      return Effect.map(
        Stream.runCollect(client.serverStream({ text: "s", count: 5, size: input.size }, options)),
        (all) => Chunk.size(all) === 5 && Chunk.every(all, (m) => m.payload.byteLength === input.size) ? undefined : `${Chunk.size(all)} messages`
      )
    case "client-stream":
      return Effect.map(client.clientStream(Stream.fromIterable(messages), options), (r) => r.text === "3" ? undefined : `answered ${r.text}`)
    case "bidi":
      return Effect.map(
        Stream.runCollect(client.bidiStream(Stream.fromIterable(messages), options)),
        (all) => Chunk.toArray(all).map((m) => m.text).join("") === "abc" ? undefined : "a wrong answer"
      )
  }
}

const chaos = (http: "1.1" | "2"): Kind<Input, number> => ({
  name: http === "2" ? "chaos-h2" : "chaos-h1",
  share: 2,
  about: `our client and server over HTTP/${http} through a proxy that delays, stalls, cuts, resets or refuses connections`,
  inputs: inputs(http),
  environment: (target) => Effect.succeed(target.port),
  run: (port, input) =>
    Effect.scoped(Effect.gen(function*() {
      const proxy = yield* chaosProxy(port, input.fault)
      const context = yield* Layer.build(layerOf(input, `http://127.0.0.1:${proxy.port}`))
      const client = yield* Effect.provide(ConnectClient.make(TestService), context)
      let wrong: string | undefined
      const judgement: Judgement = yield* judgeCall(Effect.tap(callOf(client, input), (w) => Effect.sync(() => wrong = w)), timeoutMs)
      return wrong === undefined ? judgement : { outcome: "wrong answer", problem: `succeeded with ${wrong}` }
    })),
  show: (input) => `${input.transport === "http2" ? "HTTP/2" : clientTransports[input.transport]!.name} ${input.protocol} ${input.call} of ${input.size} bytes, ${showFault(input.fault)}`
})

export const chaosHttp1 = chaos("1.1")
export const chaosHttp2 = chaos("2")
