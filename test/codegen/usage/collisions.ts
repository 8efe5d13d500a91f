// Type-level use of the code generated for collisions.proto: names that shadow globals and the
// generated code's own imports, methods named like object members, generated names taken by messages.
import { Effect, Layer, Stream } from "effect"
import type { ConnectService } from "connect-effect"
import {
  BarClient,
  BarClientClient,
  EffectClient,
  FooServiceClient,
  FooServiceHandlers,
  MemberServiceClient,
  MemberServiceHandlers,
  ObjectClient,
  PromiseClient,
  StreamClient
} from "../gen/connecteffect/codegen/v1/collisions_connect_effect.js"
import type { FooService, FooServiceClient as FooServiceClientMessage, MemberService } from "../gen/connecteffect/codegen/v1/collisions_pb.js"

type Equals<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false

const pong = (text: string) => Effect.succeed({ text })

export const MemberLive: Layer.Layer<ConnectService.Registered<typeof MemberService>> = MemberServiceHandlers.layer({
  then$: (req) => pong(req.text),
  constructor$: (req) => pong(req.text),
  toString$: (req) => pong(req.text),
  valueOf$: (req) => pong(req.text),
  toJSON$: (req) => pong(req.text),
  hasOwnProperty: (req) => pong(req.text),
  pipe: (req) => pong(req.text),
  delete: (req) => pong(req.text),
  promise: (reqs) => Effect.map(Stream.runCount(reqs), (n) => ({ text: String(n) })),
  effect: (req) => Stream.make({ text: req.text }),
  layer: (reqs) => Stream.map(reqs, (r) => ({ text: r.text }))
})

export const callMembers = Effect.gen(function*() {
  const client = yield* MemberServiceClient
  const texts: Array<string> = [
    (yield* client.then$({ text: "a" })).text,
    (yield* client.constructor$({ text: "b" })).text,
    (yield* client.toString$({})).text,
    (yield* client.valueOf$({})).text,
    (yield* client.toJSON$({})).text,
    // The generated method HasOwnProperty, which shadows Object.prototype's on the client.
    // eslint-disable-next-line no-prototype-builtins
    (yield* client.hasOwnProperty({})).text,
    (yield* client.pipe({})).text,
    (yield* client.delete({})).text,
    (yield* client.promise([{ text: "x" }, { text: "y" }])).text
  ]
  const streamed = yield* Stream.runCollect(Stream.concat(client.effect({}), client.layer(Stream.make({ text: "z" }))))
  return [...texts, ...Array.from(streamed, (r) => r.text)]
})

export const callShadowed = Effect.gen(function*() {
  const promise = yield* PromiseClient
  const effect = yield* EffectClient
  const stream = yield* StreamClient
  const object = yield* ObjectClient
  const bar = yield* BarClient
  const barClient = yield* BarClientClient
  const a = yield* promise.get({ text: "p" })
  const b = yield* effect.get({ text: "e" })
  const c = yield* Stream.runCollect(stream.get({ text: "s" }))
  const d = yield* object.get({})
  const e = yield* bar.get({})
  const f = yield* barClient.get({})
  return [a.text, b.text, c.length, d.text, e.text, f.text]
}).pipe(
  Effect.provide(Layer.mergeAll(
    PromiseClient.layer,
    EffectClient.layer,
    StreamClient.layer,
    ObjectClient.layer,
    BarClient.layer,
    BarClientClient.layer
  ))
)

export const FooLive = FooServiceHandlers.layer({
  send: (req: FooServiceClientMessage) => Effect.succeed({ value: req.value }),
  pang: (req) => Effect.succeed({ text: req.value })
})
export const fooLiveRequiresNothing: Equals<Layer.Layer.Context<typeof FooLive>, never> = true
export const fooLiveProvides: Equals<Layer.Layer.Success<typeof FooLive>, ConnectService.Registered<typeof FooService>> = true

export const callFoo = Effect.flatMap(FooServiceClient, (client) => client.send({ value: "v" }))
