import { defineConfig } from "vitest/config"

// Tests run against src/, never a stale dist/: the package's `connect-effect-source` export
// condition points at the TypeScript sources.
// No "module": packages that ship ESM under it with extensionless imports (OpenTelemetry's)
// cannot be loaded by Node.
const conditions = ["connect-effect-source", "import", "node", "default"]

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: conditions } },
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000
  }
})
