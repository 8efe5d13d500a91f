// `npm run bench:bundle`: the size of a browser bundle of a one-RPC client (the Eliza client
// calling Say, on ConnectTransport.layer over fetch), beside bundles of only what it stands on,
// so that connect-effect's own share shows. esbuild for browsers, minified, as a user's bundler
// would do it; compressed with brotli (as connect-es's connect-web-bench does, at its default
// quality 11) and with gzip (level 9). Prints a Markdown table.
import * as esbuild from "esbuild"
import { join } from "node:path"
import { brotliCompressSync, gzipSync } from "node:zlib"

const rows: ReadonlyArray<readonly [string, string]> = [
  ["effect: `Effect.runPromise` alone", `
    import * as Effect from "effect/Effect"
    Effect.runPromise(Effect.succeed(1)).then(console.log)`],
  ["effect: Effect and Stream", `
    import * as Effect from "effect/Effect"
    import * as Stream from "effect/Stream"
    Effect.runPromise(Stream.runCollect(Stream.make(1, 2))).then(console.log)`],
  ["effect + @effect/platform: a GET with FetchHttpClient", `
    import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
    import * as HttpClient from "@effect/platform/HttpClient"
    import * as Effect from "effect/Effect"
    Effect.runPromise(Effect.flatMap(HttpClient.HttpClient, (c) => Effect.flatMap(c.get("/x"), (r) => r.text)).pipe(
      Effect.provide(FetchHttpClient.layer)
    )).then(console.log)`],
  ["@bufbuild/protobuf: Eliza's Say messages, binary and JSON", `
    import { create, fromBinary, fromJsonString, toBinary, toJsonString } from "@bufbuild/protobuf"
    import { SayRequestSchema, SayResponseSchema } from "./gen/connectrpc/eliza/v1/eliza_pb.js"
    const bytes = toBinary(SayRequestSchema, create(SayRequestSchema, { sentence: "hi" }))
    console.log(fromBinary(SayResponseSchema, bytes), fromJsonString(SayResponseSchema, toJsonString(SayRequestSchema, create(SayRequestSchema))))`],
  ["**connect-effect: the Eliza client calling Say** (all of the above)", `
    import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
    import { ConnectTransport } from "connect-effect"
    import * as Effect from "effect/Effect"
    import * as Layer from "effect/Layer"
    import { ElizaServiceClient } from "./gen/connectrpc/eliza/v1/eliza_connect_effect.js"
    Effect.runPromise(Effect.flatMap(ElizaServiceClient, (eliza) => eliza.say({ sentence: "hi" })).pipe(
      Effect.provide(ElizaServiceClient.layer.pipe(
        Layer.provide(ConnectTransport.layer({ baseUrl: "https://example.com" })),
        Layer.provide(FetchHttpClient.layer)
      ))
    )).then(console.log)`]
]

const kB = (bytes: number) => (bytes / 1000).toFixed(1)

console.log("| bundle | minified | brotli | gzip |\n| --- | ---: | ---: | ---: |")
for (const [name, contents] of rows) {
  const result = await esbuild.build({
    stdin: { contents, resolveDir: join(import.meta.dirname, "..", "examples", "eliza"), loader: "ts" },
    bundle: true,
    platform: "browser",
    format: "esm",
    minify: true,
    write: false,
    conditions: ["connect-effect-source"],
    logLevel: "warning"
  })
  const code = result.outputFiles[0]!.contents
  const brotli = brotliCompressSync(code).byteLength
  console.log(`| ${name} | ${kB(code.byteLength)} kB | ${kB(brotli)} kB | ${kB(gzipSync(code, { level: 9 }).byteLength)} kB |`)
}
