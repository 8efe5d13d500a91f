/**
 * The package as a user gets it: `npm pack` of the project installs into a fresh project, whose
 * `protoc-gen-connect-effect` bin (compiled JavaScript) generates the Eliza service, as TypeScript
 * and as JavaScript with declarations; a server and a client written against each generation
 * type-check with the installed runtime's types, and talk to each other; the server also serves
 * the ready-made health and reflection services, whose generated code the package ships.
 */
import { describe, expect, it } from "@effect/vitest"
import { execFileSync } from "node:child_process"
import { cpSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { delimiter, join } from "node:path"
import { binOf, repoRoot, tempDir } from "./support.js"

const templates = join(repoRoot, "test", "codegen", "package")

const versionIn = (packageJson: string): string =>
  (JSON.parse(readFileSync(packageJson, "utf8")) as { version: string }).version

/** The version of a package installed in the repository, so that the fresh install hits npm's cache. */
const installedVersion = (name: string): string => versionIn(join(repoRoot, "node_modules", name, "package.json"))

const dependencies = ["effect", "@effect/platform", "@effect/platform-node", "@bufbuild/protobuf", "@bufbuild/protoc-gen-es", "typescript", "@types/node"]

/** Runs a command and returns its output; a failure's message carries the output (tsc reports errors there). */
const run = (command: string, args: ReadonlyArray<string>, cwd: string, env: NodeJS.ProcessEnv = process.env): string => {
  try {
    return execFileSync(command, args, { cwd, env, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] })
  } catch (error) {
    throw new Error(`${command} ${args.join(" ")} failed:\n${String((error as { stdout?: unknown }).stdout)}`)
  }
}

describe("npm pack", () => {
  it("installs into a fresh project that generates, type-checks, and runs a generated client against a generated server", () => {
    run(binOf("tsc"), ["-p", "tsconfig.build.json"], repoRoot)
    const packDir = tempDir("pack")
    const packed = JSON.parse(run("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", packDir], repoRoot)) as ReadonlyArray<{ filename: string }>
    const tarball = join(packDir, packed.map((p) => p.filename).join())

    const project = tempDir("project")
    writeFileSync(join(project, "package.json"), JSON.stringify({ name: "fresh", private: true, type: "module" }))
    run("npm", [
      "install", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error",
      tarball, ...dependencies.map((name) => `${name}@${installedVersion(name)}`)
    ], project)

    const bin = join(project, "node_modules", ".bin")
    expect(run(join(bin, "protoc-gen-connect-effect"), ["--version"], project).trim())
      .toBe(`protoc-gen-connect-effect v${versionIn(join(repoRoot, "package.json"))}`)

    cpSync(join(repoRoot, "examples", "eliza", "proto"), join(project, "proto"), { recursive: true })
    cpSync(join(templates, "buf.gen.template.yaml"), join(project, "buf.gen.yaml"))
    cpSync(join(templates, "tsconfig.template.json"), join(project, "tsconfig.json"))
    const main = readFileSync(join(templates, "main.ts.template"), "utf8")
    writeFileSync(join(project, "main.ts"), main.replaceAll("./GEN/", "./gen/"))
    writeFileSync(join(project, "main-js.ts"), main.replaceAll("./GEN/", "./gen-js/"))
    run(binOf("buf"), ["generate"], project, { ...process.env, PATH: `${bin}${delimiter}${process.env["PATH"] ?? ""}` })

    expect(run(join(bin, "tsc"), ["-p", "."], project)).toBe("")
    const expected = [
      "You said: hello", "Hi Henry", "I am Eliza", "> a", "> b", "3 thoughts",
      "SERVING", "connectrpc.eliza.v1.ElizaService,grpc.health.v1.Health,grpc.reflection.v1.ServerReflection,grpc.reflection.v1alpha.ServerReflection"
    ]
    expect(JSON.parse(run("node", ["main.js"], project))).toEqual(expected)
    expect(JSON.parse(run("node", ["main-js.js"], project))).toEqual(expected)
    rmSync(project, { recursive: true, force: true })
    rmSync(packDir, { recursive: true, force: true })
  }, 180_000)
})
