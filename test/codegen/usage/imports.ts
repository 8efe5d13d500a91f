// Type-level use of the code generated for imports.proto: well-known types and messages of
// another package as inputs and outputs.
import { timestampFromMs } from "@bufbuild/protobuf/wkt"
import type { Empty, Timestamp } from "@bufbuild/protobuf/wkt"
import { Context, Effect, Stream } from "effect"
import type { Layer } from "effect"
import { ImportServiceClient, ImportServiceHandlers } from "../gen/connecteffect/codegen/v1/imports_connect_effect.js"
import type { OtherResponse } from "../gen/connecteffect/other/v1/other_pb.js"

type Equals<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false

class Clock extends Context.Tag("Clock")<Clock, { readonly now: Effect.Effect<number> }>() {}
class Prefix extends Context.Tag("Prefix")<Prefix, string>() {}

export const ImportLive = ImportServiceHandlers.layer({
  ping: () => Effect.succeed({}),
  now: () => Effect.map(Clock, (clock) => clock.now).pipe(Effect.flatten, Effect.map(timestampFromMs)),
  other: (req) => Stream.unwrap(Effect.map(Prefix, (prefix) => Stream.make({ text: `${prefix}${req.text}` })))
})
export const importLiveRequires: Equals<Layer.Layer.Context<typeof ImportLive>, Clock | Prefix> = true

export const callImports = Effect.gen(function*() {
  const client = yield* ImportServiceClient
  const empty: Empty = yield* client.ping({})
  const now: Timestamp = yield* client.now({})
  const others: ReadonlyArray<OtherResponse> = Array.from(yield* Stream.runCollect(client.other({ text: "o" })))
  return { empty, now, others }
})
