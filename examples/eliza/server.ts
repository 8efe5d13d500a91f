/**
 * `npm run demo:server -- --port P [--host H] [--cert FILE --key FILE [--client-ca FILE]]`:
 * serves Eliza over HTTP/1.1 and HTTP/2 on one port (cleartext, or TLS with a certificate,
 * optionally requiring client certificates signed by --client-ca) until SIGINT or SIGTERM,
 * then shuts down gracefully. Beside Eliza it serves gRPC health checking and server reflection,
 * so that `buf curl --reflect` and grpcurl need no schema; on shutdown health turns NOT_SERVING first.
 */
import { NodeRuntime } from "@effect/platform-node"
import { GrpcHealth, GrpcReflection } from "connect-effect"
import { ConnectServer } from "connect-effect/node"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { readFileSync } from "node:fs"
import { parseFlags } from "./args.js"
import { ElizaService } from "./gen/connectrpc/eliza/v1/eliza_pb.js"
import { ElizaLive } from "./service.js"

const usage = "npm run demo:server -- --port P [--host H] [--cert FILE --key FILE [--client-ca FILE]]"
const flags = parseFlags(usage, ["port", "host", "cert", "key", "client-ca"])
const fail = (message: string): never => {
  console.error(`${message}\nusage: ${usage}`)
  process.exit(2)
}

const port = Number(flags.port ?? "8080")
if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`invalid --port: ${flags.port}`)
if ((flags.cert === undefined) !== (flags.key === undefined)) fail("--cert and --key go together")
if (flags["client-ca"] !== undefined && flags.cert === undefined) fail("--client-ca needs --cert and --key")

const read = (file: string) => {
  try {
    return readFileSync(file, "utf8")
  } catch (e) {
    return fail(`cannot read ${file}: ${(e as Error).message}`)
  }
}

const tls = flags.cert === undefined ? undefined : {
  cert: read(flags.cert),
  key: read(flags.key!),
  ...(flags["client-ca"] === undefined ? {} : { clientCertificates: { ca: read(flags["client-ca"]) } })
}

const services = [ElizaService, GrpcHealth.Health, ...GrpcReflection.services] as const

const ServerLive = ConnectServer.layer({
  services,
  port,
  host: flags.host ?? "127.0.0.1",
  ...(tls === undefined ? {} : { tls })
}).pipe(
  Layer.provideMerge(Layer.mergeAll(ElizaLive, GrpcHealth.layer({ services: [ElizaService] }), GrpcReflection.layer(services)))
)

const main = Effect.gen(function*() {
  const server = yield* ConnectServer.ConnectServer
  yield* Console.log(`Eliza is listening on ${server.url} (HTTP/1.1 and HTTP/2${tls === undefined ? ", cleartext" : ", TLS"})`)
  return yield* Effect.never
}).pipe(
  // Health says NOT_SERVING before the server stops taking calls, so Watch callers learn of it.
  Effect.onInterrupt(() => Effect.flatMap(GrpcHealth.GrpcHealth, (health) => health.shutdown)),
  Effect.provide(ServerLive),
  Effect.onInterrupt(() => Console.log("Eliza shut down."))
)

NodeRuntime.runMain(main)
