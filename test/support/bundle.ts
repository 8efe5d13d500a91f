/**
 * esbuild bundles for browsers, as a user's bundler would make them: `--platform=browser`, the
 * library from its TypeScript sources (the `connect-effect-source` condition), minified.
 */
import * as esbuild from "esbuild"
import { join } from "node:path"

export const bundleForBrowser = (contents: string) =>
  esbuild.build({
    stdin: { contents, resolveDir: join(import.meta.dirname, ".."), loader: "ts" },
    bundle: true,
    platform: "browser",
    format: "esm",
    minify: true,
    write: false,
    metafile: true,
    conditions: ["connect-effect-source"],
    logLevel: "silent"
  })
