/**
 * The code protoc-gen-connect-effect generates for the test protos, used as a program would use it:
 * it type-checks under the strictest options, as TypeScript and as JavaScript with declarations,
 * and its clients call its servers.
 */
import { NodeHttpClient } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { ConnectTransport } from "connect-effect"
import { ConnectServer } from "connect-effect/node"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { execFileSync } from "node:child_process"
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { binOf, bufGenerate, pluginFromSource, protocGenEs, protoDirs, repoRoot } from "./support.js"

const here = join(repoRoot, "test", "codegen")
const gen = join(here, "gen")
const usage = join(here, "usage")
/** The same protos generated with target=js+dts, and the usage programs rewritten to import them. */
const genJsDts = join(gen, "_js_dts")

// Generated (over what is there) before the modules below import it; `npm run generate` makes the same.
execFileSync(binOf("buf"), ["generate"], { cwd: here, stdio: ["ignore", "inherit", "inherit"] })
const jsDtsOptions = ["target=js+dts", "import_extension=js"]
bufGenerate([protoDirs.cases], genJsDts, [
  { command: protocGenEs, options: jsDtsOptions },
  { command: pluginFromSource, options: jsDtsOptions }
])
mkdirSync(join(genJsDts, "usage"), { recursive: true })
for (const name of readdirSync(usage)) {
  const program = readFileSync(join(usage, name), "utf8").replaceAll("\"../gen/", "\"../")
  writeFileSync(join(genJsDts, "usage", name), program)
}

const { callMembers, MemberLive } = await import("./usage/collisions.js")
const { MemberServiceClient } = await import("./gen/connecteffect/codegen/v1/collisions_connect_effect.js")
const { MemberService } = await import("./gen/connecteffect/codegen/v1/collisions_pb.js")

describe("generated code", () => {
  it("type-checks with strict, exactOptionalPropertyTypes, noUnusedLocals, noUncheckedIndexedAccess, NodeNext", () => {
    // In the repository, so that the compiler finds its node_modules.
    const tsconfig = join(gen, "tsconfig.json")
    writeFileSync(tsconfig, JSON.stringify({
      extends: join(repoRoot, "tsconfig.base.json"),
      compilerOptions: {
        noEmit: true,
        strict: true,
        exactOptionalPropertyTypes: true,
        noUnusedLocals: true,
        noUncheckedIndexedAccess: true,
        module: "NodeNext",
        moduleResolution: "NodeNext",
        customConditions: ["connect-effect-source"]
      },
      include: [join(gen, "**", "*.ts"), join(usage, "*.ts")]
    }))
    const result = (() => {
      try {
        return execFileSync(binOf("tsc"), ["-p", tsconfig], { encoding: "utf8" })
      } catch (error) {
        return String((error as { stdout?: unknown }).stdout)
      }
    })()
    expect(result).toBe("")
  }, 120_000)

  it.scoped("clients call servers through every kind of method, including methods named like object members", () =>
    Effect.gen(function*() {
      const server = yield* ConnectServer.ConnectServer
      const texts = yield* callMembers.pipe(
        Effect.provide(MemberServiceClient.layer),
        Effect.provide(ConnectTransport.layer({ baseUrl: server.url })),
        Effect.provide(NodeHttpClient.layerUndici)
      )
      expect(texts).toEqual(["a", "b", "", "", "", "", "", "", "2", "", "z"])
    }).pipe(Effect.provide(ConnectServer.layer({ services: [MemberService], port: 0 }).pipe(Layer.provide(MemberLive)))))

  it("never makes a client a thenable, even with a method named Then", async () => {
    const client = Effect.runPromise(Effect.provide(
      MemberServiceClient,
      MemberServiceClient.layer.pipe(
        Layer.provide(ConnectTransport.layer({ baseUrl: "http://127.0.0.1:1" })),
        Layer.provide(NodeHttpClient.layerUndici)
      )
    ))
    const timeout = new Promise<"a thenable never resolves">((resolve) => setTimeout(() => resolve("a thenable never resolves"), 2_000))
    const resolved = await Promise.race([client, timeout])
    expect(typeof resolved).toBe("object")
    expect(Object.keys(resolved)).toContain("then$")
    expect(Object.keys(resolved)).not.toContain("then")
  })
})
