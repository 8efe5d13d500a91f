/**
 * The main entry bundles for browsers with no Node module and no polyfill: an esbuild
 * `--platform=browser` bundle of a client on `ConnectTransport.layer` + `FetchHttpClient` builds,
 * names no `node:` input, and the bundle itself calls an independent server (connect-node) with
 * gzip both ways.
 */
import { it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { pathToFileURL } from "node:url"
import { gzipSync } from "node:zlib"
import { expect } from "vitest"
import { bundleForBrowser } from "./support/bundle.js"
import { connectNodeServer } from "./support/servers.js"

it.live("a browser bundle of a client builds without Node modules and calls connect-node", () =>
  Effect.gen(function*() {
    const result = yield* Effect.promise(() => bundleForBrowser(`export * from "./support/browserClient.ts"`))
    const inputs = Object.keys(result.metafile.inputs)
    expect(inputs.filter((input) => input.startsWith("node:") || input.includes("src/internal/node/"))).toEqual([])
    expect(inputs.some((input) => input.endsWith("src/ConnectTransport.ts"))).toBe(true)

    const code = result.outputFiles[0]!.text
    const file = join(mkdtempSync(join(tmpdir(), "browser-bundle-")), "client.mjs")
    writeFileSync(file, code)
    const { callEveryKind } = yield* Effect.promise(() => import(pathToFileURL(file).href))
    const url = yield* connectNodeServer()
    const answers = yield* Effect.promise(() => callEveryKind(url))
    expect(answers).toEqual({
      text: "from a browser bundle",
      payloadBytes: 4096,
      streamed: [2000, 2000, 2000],
      failure: "not_found: failed: nope"
    })
    console.log(`browser bundle of a TestService client: ${code.length} bytes minified, ${gzipSync(code).length} gzipped`)
  }).pipe(Effect.scoped))

it.live("a bundle that reaches for Node-only code fails to build for browsers", () =>
  Effect.gen(function*() {
    const failure = yield* Effect.flip(Effect.tryPromise(() => bundleForBrowser(`export { ConnectServer } from "connect-effect/node"`)))
    expect(String(failure.cause)).toMatch(/node:/)
  }))
