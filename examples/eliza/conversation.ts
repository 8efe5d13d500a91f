/**
 * The demo conversation: all four RPCs of the Eliza service, printed as they happen. Over
 * HTTP/2, Converse is full duplex: each sentence is sent only once Eliza has answered the last.
 */
import { NodeTransport } from "connect-effect/node"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Queue from "effect/Queue"
import * as Stream from "effect/Stream"
import { Agent } from "undici"
import { ElizaServiceClient } from "./gen/connectrpc/eliza/v1/eliza_connect_effect.js"

const lines = ["I am worried about my exams", "I feel nervous", "Will it ever end?"]

/** Sends every line, then reads the answers (all that HTTP/1.1 allows). */
const converseHalfDuplex = Effect.gen(function*() {
  const eliza = yield* ElizaServiceClient
  yield* eliza.converse(Stream.fromIterable(lines).pipe(Stream.map((sentence) => ({ sentence })))).pipe(
    Stream.zipWithIndex,
    Stream.runForEach(([r, i]) => Console.log(`> Converse: ${lines[i]}\nEliza: ${r.sentence}`))
  )
})

/** Sends a line, prints Eliza's answer as it arrives, and only then sends the next. */
const converseFullDuplex = Effect.gen(function*() {
  const eliza = yield* ElizaServiceClient
  const outgoing = yield* Queue.unbounded<string>()
  const say = (i: number) =>
    i < lines.length
      ? Effect.zipRight(Console.log(`> Converse: ${lines[i]}`), Queue.offer(outgoing, lines[i]!))
      : Queue.shutdown(outgoing)
  yield* say(0)
  yield* eliza.converse(Stream.fromQueue(outgoing).pipe(Stream.map((sentence) => ({ sentence })))).pipe(
    Stream.zipWithIndex,
    Stream.runForEach(([r, i]) => Effect.zipRight(Console.log(`Eliza: ${r.sentence}`), say(i + 1)))
  )
})

export const conversation = (fullDuplex: boolean) =>
  Effect.gen(function*() {
    const eliza = yield* ElizaServiceClient

    yield* Console.log("> Say: Hello, I feel tired today")
    const said = yield* eliza.say({ sentence: "Hello, I feel tired today" })
    yield* Console.log(`Eliza: ${said.sentence}`)

    yield* Console.log("> Introduce: Henry")
    yield* eliza.introduce({ name: "Henry" }).pipe(Stream.runForEach((r) => Console.log(`Eliza: ${r.sentence}`)))

    const thoughts = ["I need a holiday", "my work is endless", "because nobody listens"]
    yield* Console.log(`> Pontificate: ${thoughts.join(" / ")}`)
    const answer = yield* eliza.pontificate(thoughts.map((sentence) => ({ sentence })))
    yield* Console.log(`Eliza: ${answer.sentence}`)

    yield* (fullDuplex ? converseFullDuplex : converseHalfDuplex)
  })

export interface ClientOptions {
  readonly baseUrl: string
  readonly http: "1.1" | "2"
  /** The protocol spoken; gRPC needs HTTP/2. */
  readonly protocol: "connect" | "grpc" | "grpc-web"
  /** PEM: CAs to trust for https:, and a client certificate and key (mutual TLS). */
  readonly ca?: string | undefined
  readonly cert?: string | undefined
  readonly key?: string | undefined
}

const tlsOf = (options: ClientOptions) => ({
  ...(options.ca === undefined ? {} : { ca: options.ca }),
  ...(options.cert === undefined ? {} : { cert: options.cert }),
  ...(options.key === undefined ? {} : { key: options.key })
})

/** The transport for the options: node:http2, or undici (with its own Agent for custom TLS). */
const transport = (options: ClientOptions) => {
  const tls = tlsOf(options)
  const { baseUrl, protocol } = options
  if (options.http === "2" || protocol === "grpc") return NodeTransport.layerHttp2({ baseUrl, protocol, ...tls })
  if (Object.keys(tls).length === 0) return NodeTransport.layerUndici({ baseUrl, protocol })
  return Layer.unwrapScoped(Effect.map(
    Effect.acquireRelease(Effect.sync(() => new Agent({ connect: tls })), (agent) => Effect.promise(() => agent.close())),
    (dispatcher) => NodeTransport.layerUndici({ baseUrl, protocol, dispatcher })
  ))
}

/** Runs the conversation against the Eliza server at `options.baseUrl`. */
export const talkTo = (options: ClientOptions) =>
  conversation(options.http === "2" || options.protocol === "grpc").pipe(
    Effect.provide(ElizaServiceClient.layer),
    Effect.provide(transport(options))
  )
