// Type-level use of the code generated for docs.proto (deprecations, a service with no methods)
// and no_package.proto.
import { Effect } from "effect"
import {
  DocServiceClient,
  DocServiceHandlers,
  EmptyServiceClient,
  EmptyServiceHandlers,
  OldServiceClient,
  OldServiceHandlers
} from "../gen/connecteffect/codegen/v1/docs_connect_effect.js"
import { GreeterClient, GreeterHandlers } from "../gen/no_package_connect_effect.js"

const echo = (req: { readonly text: string }) => Effect.succeed({ text: req.text })

export const DocLive = DocServiceHandlers.layer({ documented: echo, undocumented: echo, old: echo })
export const OldLive = OldServiceHandlers.layer({ call: echo })
export const EmptyLive = EmptyServiceHandlers.layer({})
export const emptyClient = Effect.map(EmptyServiceClient, (client) => Object.keys(client))
export const GreeterLive = GreeterHandlers.layer({ greet: (req) => Effect.succeed({ greeting: `Hello ${req.name}` }) })

export const callDocs = Effect.gen(function*() {
  const doc = yield* DocServiceClient
  const old = yield* OldServiceClient
  const greeter = yield* GreeterClient
  return [
    (yield* doc.documented({ text: "a" })).text,
    (yield* doc.old({ text: "b" })).text,
    (yield* old.call({ text: "c" })).text,
    (yield* greeter.greet({ name: "d" })).greeting
  ]
})
