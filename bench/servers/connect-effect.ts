// connect-effect on its fastest path: ConnectServer.layer, the direct node:http server.
import { Deferred, Effect, Layer, Stream } from "effect"
import { ConnectService, Observability } from "../../src/index.js"
import { ConnectServer } from "../../src/node.js"
import { ElizaService } from "../../examples/eliza/gen/connectrpc/eliza/v1/eliza_pb.js"
import { parseIntroduce } from "../workload.js"

export const ElizaLive = ConnectService.toLayer(ElizaService, {
  say: (req) => Effect.succeed({ sentence: req.sentence }),
  introduce: (req) => {
    const { count, sentence } = parseIntroduce(req.name)
    return Stream.fromIterable(Array.from({ length: count }, () => ({ sentence })))
  },
  converse: (reqs) => Stream.map(reqs, (req) => ({ sentence: req.sentence })),
  pontificate: (reqs) => Effect.map(Stream.runCount(reqs), (n) => ({ sentence: `${n} thoughts` }))
})

/** `observability`: every call traced and measured (Observability.server, Effect's own Tracer). */
export const serve = (port: number, options: { readonly observability?: boolean } = {}): Promise<void> =>
  Effect.runPromise(
    Effect.gen(function*() {
      const listening = yield* Deferred.make<void>()
      const ServerLive = ConnectServer.layer({
        services: [ElizaService],
        port,
        host: "127.0.0.1",
        interceptors: options.observability === true ? [Observability.server()] : []
      }).pipe(
        Layer.provide(ElizaLive)
      )
      const Announce = Layer.effectDiscard(
        Effect.flatMap(ConnectServer.ConnectServer, () => Deferred.succeed(listening, undefined))
      )
      yield* Layer.launch(Layer.provide(Announce, ServerLive)).pipe(Effect.orDie, Effect.forkDaemon)
      yield* Deferred.await(listening)
    })
  )
