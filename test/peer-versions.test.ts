/**
 * The check of the peer dependencies' versions that Node runs before loading either entry: it
 * knows package.json's ranges, names what is wrong and what to install, and the checked entries
 * export what the entries do. (test/codegen/pack.test.ts runs it for real beside effect 4.)
 */
import { describe, expect, it } from "@effect/vitest"
import * as Entry from "connect-effect"
import * as NodeEntry from "connect-effect/node"
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { pathToFileURL } from "node:url"
import * as CheckedEntry from "../src/checked/index.js"
import * as CheckedNodeEntry from "../src/checked/node.js"
import { inRange, peerProblems, peerRanges } from "../src/internal/node/peerVersions.js"

const packageJson = JSON.parse(readFileSync(join(import.meta.dirname, "..", "package.json"), "utf8")) as {
  peerDependencies: Record<string, string>
}

/** A folder whose node_modules holds the given packages (a package.json each), as a module URL inside it. */
const projectWith = (versions: Record<string, string>): { url: string; remove: () => void } => {
  const dir = join(tmpdir(), `connect-effect-peers-${process.pid}-${Math.random().toString(36).slice(2)}`)
  for (const [name, version] of Object.entries(versions)) {
    mkdirSync(join(dir, "node_modules", name), { recursive: true })
    writeFileSync(join(dir, "node_modules", name, "package.json"), JSON.stringify({ name, version }))
  }
  return { url: pathToFileURL(join(dir, "main.js")).href, remove: () => rmSync(dir, { recursive: true, force: true }) }
}

describe("peer dependency versions", () => {
  it("are package.json's peerDependencies", () => {
    const ranges = Object.fromEntries(Object.entries(peerRanges).map(([name, { below, min }]) => [name, `>=${min} <${below}`]))
    expect(ranges).toEqual(packageJson.peerDependencies)
  })

  it("take a version from the lower bound up to, not including, the upper one", () => {
    const effect = peerRanges["effect"]!
    expect(["3.22.0", "3.22.4", "3.99.1"].map((v) => inRange(v, effect))).toEqual([true, true, true])
    expect(["3.21.9", "4.0.0", "4.0.0-beta.3", "4.1.0", "2.4.0"].map((v) => inRange(v, effect))).toEqual([false, false, false, false, false])
  })

  it("pass where the repository's own packages are installed", () => {
    expect(peerProblems(import.meta.url)).toBeUndefined()
  })

  it("name each package out of range or missing, and what to install", () => {
    const project = projectWith({ effect: "4.1.0" })
    try {
      const problem = peerProblems(project.url)
      expect(problem).toContain("connect-effect needs effect >=3.22.0 <4.0.0 and @effect/platform >=0.97.0 <0.98.0")
      expect(problem).toContain("effect 4.1.0 is installed and @effect/platform is not installed")
      expect(problem).toContain("npm install effect@3 @effect/platform@0.97")
    } finally {
      project.remove()
    }
  })

  it("leave a well-matched project alone", () => {
    const project = projectWith({ effect: "3.30.1", "@effect/platform": "0.97.9" })
    try {
      expect(peerProblems(project.url)).toBeUndefined()
    } finally {
      project.remove()
    }
  })
})

describe("the entries Node loads", () => {
  it("export the entries' modules, the same objects", () => {
    expect(Object.keys(CheckedEntry).sort()).toEqual(Object.keys(Entry).sort())
    for (const [name, value] of Object.entries(CheckedEntry)) expect(value).toBe(Entry[name as keyof typeof Entry])
    expect(Object.keys(CheckedNodeEntry).sort()).toEqual(Object.keys(NodeEntry).sort())
    for (const [name, value] of Object.entries(CheckedNodeEntry)) expect(value).toBe(NodeEntry[name as keyof typeof NodeEntry])
  })
})
