/**
 * protoc-gen-connect-effect speaks the plain protoc plugin protocol: run by protoc (`--plugin`), or
 * handed a CodeGeneratorRequest on stdin as protoc would, it generates what buf generates (the
 * golden files).
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf"
import { CodeGeneratorRequestSchema, CodeGeneratorResponseSchema, FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt"
import { describe, expect, it } from "@effect/vitest"
import { execFileSync, spawnSync } from "node:child_process"
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { binOf, listFiles, pluginFromSource, protoDirs, repoRoot, tempDir } from "./support.js"

const parameter = "target=ts,import_extension=js"
const goldenDir = join(repoRoot, "test", "codegen", "golden", "ts")
const golden = new Map(listFiles(goldenDir).map((file) => [file.replace(/\.golden$/, ""), readFileSync(join(goldenDir, file), "utf8")]))

const hasProtoc = spawnSync("protoc", ["--version"]).status === 0

/** The .proto files under `dir`, relative to it. */
const protoFiles = (dir: string): ReadonlyArray<string> => listFiles(dir).filter((file) => file.endsWith(".proto"))

describe("protoc-gen-connect-effect under protoc", () => {
  it.skipIf(!hasProtoc)("protoc --plugin generates the golden files", () => {
    const dir = tempDir("protoc")
    const plugin = join(dir, "protoc-gen-connect-effect")
    writeFileSync(plugin, `#!/bin/sh\nexec ${pluginFromSource.map((part) => JSON.stringify(part)).join(" ")}\n`)
    chmodSync(plugin, 0o755)
    const out = join(dir, "out")
    mkdirSync(out)
    for (const protoDir of [protoDirs.cases, protoDirs.eliza]) {
      execFileSync("protoc", [
        `--plugin=protoc-gen-connect-effect=${plugin}`,
        `--connect-effect_out=${out}`,
        `--connect-effect_opt=${parameter}`,
        `-I${protoDir}`,
        ...protoFiles(protoDir)
      ], { cwd: protoDir, stdio: ["ignore", "inherit", "inherit"] })
    }
    const generated = new Map(listFiles(out).map((file) => [file, readFileSync(join(out, file), "utf8")]))
    rmSync(dir, { recursive: true, force: true })
    expect(generated).toEqual(golden)
  }, 60_000)

  it("a CodeGeneratorRequest on stdin gives the golden files", () => {
    const generated = new Map<string, string>()
    for (const protoDir of [protoDirs.cases, protoDirs.eliza]) {
      const set = fromBinary(FileDescriptorSetSchema, execFileSync(binOf("buf"), ["build", protoDir, "--as-file-descriptor-set", "-o", "-"]))
      const request = create(CodeGeneratorRequestSchema, {
        fileToGenerate: [...protoFiles(protoDir)],
        parameter,
        protoFile: set.file
      })
      const [command, ...args] = pluginFromSource
      const response = fromBinary(
        CodeGeneratorResponseSchema,
        execFileSync(command, args, { input: toBinary(CodeGeneratorRequestSchema, request) })
      )
      expect(response.error).toBe("")
      for (const file of response.file) generated.set(file.name, file.content)
    }
    expect(generated).toEqual(golden)
  }, 60_000)
})
