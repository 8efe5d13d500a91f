import { defineConfig } from "vitest/config"

// Tests run against src/, never a stale dist/: the package's `connect-effect-source` export
// condition points at the TypeScript sources.
const conditions = ["connect-effect-source", "import", "module", "node", "default"]

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: conditions } },
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000
  }
})
