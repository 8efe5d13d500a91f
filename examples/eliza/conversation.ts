/**
 * The demo conversation: all four RPCs of the Eliza service, printed as they happen.
 */
import { ConnectTransport } from "connect-effect"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { ElizaServiceClient } from "./gen/connectrpc/eliza/v1/eliza_connect_effect.js"

export const conversation = Effect.gen(function*() {
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

  const lines = ["I am worried about my exams", "I feel nervous", "Will it ever end?"]
  yield* eliza.converse(Stream.fromIterable(lines).pipe(Stream.map((sentence) => ({ sentence })))).pipe(
    Stream.zipWithIndex,
    Stream.runForEach(([r, i]) => Console.log(`> Converse: ${lines[i]}\nEliza: ${r.sentence}`))
  )
})

/** Runs the conversation against the Eliza server at `baseUrl`. */
export const talkTo = (baseUrl: string) =>
  conversation.pipe(
    Effect.provide(ElizaServiceClient.layer),
    Effect.provide(ConnectTransport.layerUndici({ baseUrl }))
  )
