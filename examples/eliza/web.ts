/**
 * `npm run demo:web -- [--port P] [--api-port Q] [--host H]`: a chat page for Eliza. Bundles the
 * page's script (web/app.ts) from TypeScript with esbuild, serves the page on port P (default
 * 8080) and Eliza's API on port Q (default 8081), a second origin that answers CORS for the
 * page's, prints the page's URL, and runs until SIGINT or SIGTERM.
 */
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServer from "@effect/platform/HttpServer"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { NodeHttpServer, NodeRuntime } from "@effect/platform-node"
import { ConnectServer } from "connect-effect/node"
import * as Console from "effect/Console"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as esbuild from "esbuild"
import { readFileSync } from "node:fs"
import { createServer } from "node:http"
import { join } from "node:path"
import { gzipSync } from "node:zlib"
import { parseFlags } from "./args.js"
import { ElizaService } from "./gen/connectrpc/eliza/v1/eliza_pb.js"
import { makeElizaLive } from "./service.js"

const usage = "npm run demo:web -- [--port P] [--api-port Q] [--host H]"
const flags = parseFlags(usage, ["port", "api-port", "host"])
const portOf = (name: "port" | "api-port", fallback: number): number => {
  const port = Number(flags[name] ?? fallback)
  if (Number.isInteger(port) && port >= 0 && port <= 65535) return port
  console.error(`invalid --${name}: ${flags[name]}\nusage: ${usage}`)
  return process.exit(2)
}
const port = portOf("port", 8080)
const apiPort = portOf("api-port", 8081)
const host = flags.host ?? "127.0.0.1"

const web = join(import.meta.dirname, "web")

/** The page's script: the library and the generated client from their TypeScript sources. */
const bundle = Effect.promise(() =>
  esbuild.build({
    entryPoints: [join(web, "app.ts")],
    bundle: true,
    platform: "browser",
    format: "esm",
    target: "es2022",
    minify: true,
    write: false,
    conditions: ["connect-effect-source"],
    logLevel: "warning"
  })
).pipe(Effect.map((result) => result.outputFiles[0]!.text))

const urlOf = (hostname: string, port: number) => `http://${hostname.includes(":") ? `[${hostname}]` : hostname}:${port}`

/** The page names the API's URL, known only once the API listens (after the page's server, whose origin it allows). */
const pageApp = (script: string, apiUrl: Deferred.Deferred<string>) => {
  const html = readFileSync(join(web, "index.html"), "utf8")
  const css = readFileSync(join(web, "style.css"), "utf8")
  return HttpRouter.empty.pipe(
    HttpRouter.get(
      "/",
      Effect.map(Deferred.await(apiUrl), (api) =>
        HttpServerResponse.text(html.replaceAll("%API_URL%", api), {
          contentType: "text/html; charset=utf-8",
          // The page may call the API and nothing else: its own origin serves only the page.
          headers: { "content-security-policy": `default-src 'self'; img-src data:; connect-src ${api}` }
        }))
    ),
    HttpRouter.get("/app.js", HttpServerResponse.text(script, { contentType: "text/javascript; charset=utf-8" })),
    HttpRouter.get("/style.css", HttpServerResponse.text(css, { contentType: "text/css; charset=utf-8" }))
  )
}

const main = Effect.gen(function*() {
  const script = yield* bundle
  const apiUrl = yield* Deferred.make<string>()
  const page = yield* Layer.build(NodeHttpServer.layer(createServer, { port, host }))
  yield* HttpServer.serveEffect(pageApp(script, apiUrl)).pipe(Effect.provide(page))
  const address = Context.get(page, HttpServer.HttpServer).address
  const pageUrl = address._tag === "TcpAddress" ? urlOf(host, address.port) : HttpServer.formatAddress(address)
  const loopback = host === "127.0.0.1" || host === "localhost"
  const allowedOrigins = loopback && address._tag === "TcpAddress"
    ? [urlOf("127.0.0.1", address.port), urlOf("localhost", address.port)]
    : [pageUrl]
  const api = yield* Layer.build(
    ConnectServer.layer({ services: [ElizaService], port: apiPort, host, cors: { allowedOrigins } }).pipe(
      Layer.provide(makeElizaLive("300 millis"))
    )
  )
  const { url } = Context.get(api, ConnectServer.ConnectServer)
  yield* Deferred.succeed(apiUrl, url)
  yield* Console.log(
    `Eliza's chat page: ${pageUrl}/\n` +
      `Eliza's API: ${url} (CORS for ${allowedOrigins.join(" and ")})\n` +
      `page script: ${(script.length / 1024).toFixed(1)} kB minified, ${(gzipSync(script).length / 1024).toFixed(1)} kB gzipped`
  )
  return yield* Effect.never
}).pipe(
  Effect.scoped,
  Effect.onInterrupt(() => Console.log("Eliza's page shut down."))
)

NodeRuntime.runMain(main)
