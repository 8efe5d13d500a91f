/**
 * The versions of the peer dependencies this build works with, checked on Node before any of
 * their modules loads. `npm install effect` installs effect 4, beside which @effect/platform 0.97
 * fails to load with a missing module deep inside it; this check says instead what to install.
 * @internal
 */
import { readFileSync } from "node:fs"
import { createRequire } from "node:module"

/** A version range `>=min <below`, as package.json's peerDependencies write it. @internal */
export interface PeerRange {
  readonly min: string
  readonly below: string
}

/** package.json's peerDependencies, as ranges (a test keeps the two equal). @internal */
export const peerRanges: Readonly<Record<string, PeerRange>> = {
  effect: { min: "3.22.0", below: "4.0.0" },
  "@effect/platform": { min: "0.97.0", below: "0.98.0" }
}

/** The command that installs versions that work together. @internal */
export const installHint = "npm install effect@3 @effect/platform@0.97, and @effect/platform-node@0.108 if you use it"

const numbers = (version: string): ReadonlyArray<number> => version.split(/[-+]/)[0]!.split(".").map(Number)

const compare = (a: string, b: string): number => {
  const [x, y] = [numbers(a), numbers(b)]
  for (let i = 0; i < 3; i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0)
    if (d !== 0) return d
  }
  return 0
}

/** Whether `version` is in `range` (a pre-release counts as its release). @internal */
export const inRange = (version: string, range: PeerRange): boolean =>
  compare(version, range.min) >= 0 && compare(version, range.below) < 0

/**
 * The version of `name` that an import from `from` finds: null when none is installed, undefined
 * when it cannot be told (a package that keeps its package.json to itself is left to load).
 */
const installedVersion = (name: string, from: string): string | null | undefined => {
  let path: string
  try {
    path = createRequire(from).resolve(`${name}/package.json`)
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "MODULE_NOT_FOUND" ? null : undefined
  }
  return (JSON.parse(readFileSync(path, "utf8")) as { version: string }).version
}

/**
 * What is wrong with the installed peer dependencies as seen from `from` (a module URL), or
 * undefined when each is installed in its range.
 * @internal
 */
export const peerProblems = (from: string): string | undefined => {
  const wrong = Object.entries(peerRanges).flatMap(([name, range]) => {
    const version = installedVersion(name, from)
    if (version === null) return [`${name} is not installed`]
    return version === undefined || inRange(version, range) ? [] : [`${name} ${version} is installed`]
  })
  if (wrong.length === 0) return undefined
  const needs = Object.entries(peerRanges).map(([name, { min, below }]) => `${name} >=${min} <${below}`).join(" and ")
  return `connect-effect needs ${needs}, but ${wrong.join(" and ")}. Install the versions that work together: ${installHint}`
}

/** Throws the problem of `peerProblems`, if any. @internal */
export const assertPeerVersions = (from: string): void => {
  const problem = peerProblems(from)
  if (problem !== undefined) throw new Error(problem)
}
