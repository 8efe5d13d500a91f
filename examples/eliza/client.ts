/**
 * `npm run demo:client -- --base-url URL [--protocol connect|grpc|grpcweb] [--http 1.1|2] [--ca FILE] [--cert FILE --key FILE]`:
 * runs Say, Introduce, Pontificate and Converse against any Eliza server, printing each answer;
 * exits non-zero with a message on failure. `--http 2` speaks HTTP/2 (h2c for http: URLs, h2
 * by ALPN over TLS) and makes Converse full duplex; `--protocol grpc` implies it.
 */
import * as Effect from "effect/Effect"
import { readFileSync } from "node:fs"
import { parseFlags } from "./args.js"
import { type ClientOptions, talkTo } from "./conversation.js"

const usage = "npm run demo:client -- --base-url URL [--protocol connect|grpc|grpcweb] [--http 1.1|2] [--ca FILE] [--cert FILE --key FILE]"
const flags = parseFlags(usage, ["base-url", "protocol", "http", "ca", "cert", "key"])
const fail = (message: string): never => {
  console.error(`${message}\nusage: ${usage}`)
  process.exit(2)
}

const protocols = { connect: "connect", grpc: "grpc", grpcweb: "grpc-web" } as const
const protocolFlag = flags.protocol ?? "connect"
if (!(protocolFlag in protocols)) fail(`invalid --protocol: ${protocolFlag} (connect, grpc or grpcweb)`)
const protocol = protocols[protocolFlag as keyof typeof protocols]
const http = flags.http ?? (protocol === "grpc" ? "2" : "1.1")
if (http !== "1.1" && http !== "2") fail(`invalid --http: ${http} (1.1 or 2)`)
if (protocol === "grpc" && http !== "2") fail("gRPC needs HTTP/2: --protocol grpc goes with --http 2")
if ((flags.cert === undefined) !== (flags.key === undefined)) fail("--cert and --key go together")
const read = (file: string | undefined) => {
  if (file === undefined) return undefined
  try {
    return readFileSync(file, "utf8")
  } catch (e) {
    return fail(`cannot read ${file}: ${(e as Error).message}`)
  }
}

const baseUrl = flags["base-url"] ?? "http://127.0.0.1:8080"
const options: ClientOptions = { baseUrl, http: http as "1.1" | "2", protocol, ca: read(flags.ca), cert: read(flags.cert), key: read(flags.key) }

Effect.runPromiseExit(talkTo(options).pipe(
  Effect.catchTag("ConnectError", (e) => Effect.fail(`Eliza at ${baseUrl} failed: [${e.code}] ${e.message}`))
)).then((exit) => {
  if (exit._tag === "Failure") {
    console.error(exit.cause._tag === "Fail" ? exit.cause.error : String(exit.cause))
    process.exitCode = 1
  }
})
