/**
 * The version protoc-gen-connect-effect prints in generated files is the package's.
 */
import { describe, expect, it } from "@effect/vitest"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { pluginVersion } from "../../codegen/src/version.js"
import { repoRoot } from "./support.js"

describe("protoc-gen-connect-effect version", () => {
  it("equals package.json's version", () => {
    const { version } = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as { version: string }
    expect(pluginVersion).toBe(version)
  })
})
