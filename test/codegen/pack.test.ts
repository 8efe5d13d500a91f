/**
 * The package as a user gets it. `npm pack` runs, scripts and all, in a copy of the repository's
 * files as a fresh clone has them (no dist/), so the tarball holds only what packing built. It
 * installs into a fresh project with README.md's install commands, whose
 * `protoc-gen-connect-effect` bin (compiled JavaScript) generates the Eliza service, as TypeScript
 * and as JavaScript with declarations; a server and a client written against each generation
 * type-check with the installed runtime's types, and talk to each other; the server also serves
 * the ready-made health and reflection services, whose generated code the package ships.
 * Installed beside effect 4, the package fails at once, saying what to install.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { execFile, execFileSync } from "node:child_process"
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import { delimiter, dirname, join } from "node:path"
import { promisify } from "node:util"
import { repoRoot, tempDir } from "./support.js"

const templates = join(repoRoot, "test", "codegen", "package")

const versionIn = (packageJson: string): string =>
  (JSON.parse(readFileSync(packageJson, "utf8")) as { version: string }).version

/** The version of a package installed in the repository, so that a fresh install hits npm's cache. */
const installedVersion = (name: string): string => versionIn(join(repoRoot, "node_modules", name, "package.json"))

/**
 * Runs a command and returns its output; a failure's message carries the output (tsc reports
 * errors on stdout). Not execFileSync: a worker blocked for minutes misses vitest's calls.
 */
const run = async (command: string, args: ReadonlyArray<string>, cwd: string, env: NodeJS.ProcessEnv = process.env): Promise<string> => {
  try {
    return (await promisify(execFile)(command, args, { cwd, env, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 })).stdout
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: unknown; stderr?: unknown }
    throw new Error(`${command} ${args.join(" ")} failed:\n${String(stdout)}\n${String(stderr)}`)
  }
}

/** Runs a command that should fail; resolves to its standard error. */
const runFailing = (command: string, args: ReadonlyArray<string>, cwd: string): Promise<string> =>
  promisify(execFile)(command, args, { cwd, encoding: "utf8" }).then(
    () => {
      throw new Error(`${command} ${args.join(" ")} succeeded`)
    },
    (error: { stderr: string }) => error.stderr
  )

const npmInstallFlags = ["--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error"]

/** A new project folder with a package.json of its own, as `npm init` leaves one. */
const freshProject = (prefix: string): string => {
  const project = tempDir(prefix)
  writeFileSync(join(project, "package.json"), JSON.stringify({ name: "fresh", private: true, type: "module" }))
  return project
}

/**
 * The repository's files as a clone of it has them (tracked files and new ones git does not
 * ignore, so no dist/ and no generated code), beside the repository's node_modules.
 */
const cloneLikeCopy = (): string => {
  const copy = tempDir("clone")
  const files = execFileSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], { cwd: repoRoot, encoding: "utf8" })
  for (const file of files.split("\0")) {
    if (file === "" || !existsSync(join(repoRoot, file))) continue
    mkdirSync(dirname(join(copy, file)), { recursive: true })
    cpSync(join(repoRoot, file), join(copy, file))
  }
  symlinkSync(join(repoRoot, "node_modules"), join(copy, "node_modules"), "dir")
  return copy
}

/** The `npm install` commands of README.md's Install section, each as its arguments after `npm install`. */
const readmeInstallCommands = (): ReadonlyArray<ReadonlyArray<string>> => {
  const readme = readFileSync(join(repoRoot, "README.md"), "utf8")
  const block = /^## Install\n[\s\S]*?^```sh\n([\s\S]*?)^```$/m.exec(readme)?.[1]
  if (block === undefined) throw new Error("README.md has no ```sh block under ## Install")
  return block.split("\n")
    .map((line) => line.replace(/#.*/, "").trim().split(/\s+/))
    .filter((words) => words[0] === "npm" && words[1] === "install")
    .map((words) => words.slice(2))
}

describe("npm pack", () => {
  let tarball = ""
  const cleanUp: Array<string> = []
  afterAll(() => cleanUp.forEach((dir) => rmSync(dir, { recursive: true, force: true })))

  beforeAll(async () => {
    const clone = cloneLikeCopy()
    const packDir = tempDir("pack")
    cleanUp.push(clone, packDir)
    expect(existsSync(join(clone, "dist"))).toBe(false)
    await run("npm", ["pack", "--pack-destination", packDir], clone)
    tarball = join(packDir, readdirSync(packDir).filter((name) => name.endsWith(".tgz")).join())
  }, 240_000)

  it("installs with the README's commands into a fresh project that generates, type-checks, and runs a generated client against a generated server", async () => {
    const project = freshProject("project")
    cleanUp.push(project)
    for (const args of readmeInstallCommands()) {
      await run("npm", ["install", ...npmInstallFlags, ...args.map((arg) => arg === "connect-effect" ? tarball : arg)], project)
    }
    // What the test's own type-check and run need besides.
    await run("npm", ["install", ...npmInstallFlags, `typescript@${installedVersion("typescript")}`, `@types/node@${installedVersion("@types/node")}`], project)

    const bin = join(project, "node_modules", ".bin")
    expect((await run(join(bin, "protoc-gen-connect-effect"), ["--version"], project)).trim())
      .toBe(`protoc-gen-connect-effect v${versionIn(join(repoRoot, "package.json"))}`)

    cpSync(join(repoRoot, "examples", "eliza", "proto"), join(project, "proto"), { recursive: true })
    cpSync(join(templates, "buf.gen.template.yaml"), join(project, "buf.gen.yaml"))
    cpSync(join(templates, "tsconfig.template.json"), join(project, "tsconfig.json"))
    const main = readFileSync(join(templates, "main.ts.template"), "utf8")
    writeFileSync(join(project, "main.ts"), main.replaceAll("./GEN/", "./gen/"))
    writeFileSync(join(project, "main-js.ts"), main.replaceAll("./GEN/", "./gen-js/"))
    await run(join(bin, "buf"), ["generate"], project, { ...process.env, PATH: `${bin}${delimiter}${process.env["PATH"] ?? ""}` })

    expect(await run(join(bin, "tsc"), ["-p", "."], project)).toBe("")
    const expected = [
      "You said: hello", "Hi Henry", "I am Eliza", "> a", "> b", "3 thoughts",
      "SERVING", "connectrpc.eliza.v1.ElizaService,grpc.health.v1.Health,grpc.reflection.v1.ServerReflection,grpc.reflection.v1alpha.ServerReflection"
    ]
    expect(JSON.parse(await run("node", ["main.js"], project))).toEqual(expected)
    expect(JSON.parse(await run("node", ["main-js.js"], project))).toEqual(expected)
  }, 300_000)

  it("beside effect 4, fails on import with what to install, before any module of effect loads", async () => {
    const project = freshProject("effect4")
    cleanUp.push(project)
    // As a user who forces past npm's peer dependency error gets it.
    await run("npm", ["install", ...npmInstallFlags, "--legacy-peer-deps", tarball, "effect@4", "@effect/platform@0.97", "@bufbuild/protobuf@2"], project)
    for (const entry of ["connect-effect", "connect-effect/node"]) {
      const program = `import { Effect } from "effect"\nimport * as Entry from "${entry}"\nconsole.log(Effect, Entry)\n`
      const stderr = await runFailing("node", ["--input-type=module", "--eval", program], project)
      expect(stderr).toContain("connect-effect needs effect >=3.22.0 <4.0.0")
      expect(stderr).toMatch(/effect 4\.\d+\.\d+ is installed/)
      expect(stderr).toContain("npm install effect@3 @effect/platform@0.97")
      expect(stderr).not.toContain("Cannot find module")
    }
  }, 120_000)
})
