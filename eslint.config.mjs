// @ts-check
import eslint from "@eslint/js"
import tseslint from "typescript-eslint"

export default tseslint.config(
  { ignores: ["**/node_modules/**", "**/dist/**", "**/gen/**", ".conformance/**", "examples/eliza/doccheck_*"] },
  eslint.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-explicit-any": "off",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/consistent-type-imports": ["error", { fixStyle: "inline-type-imports" }],
      "no-constant-condition": ["error", { checkLoops: false }]
    }
  },
  {
    // One direction of dependency: public modules delegate to internals, never the reverse.
    files: ["src/internal/**/*.ts"],
    rules: {
      "no-restricted-imports": ["error", {
        patterns: [{
          regex: "^(\\.\\./)+[A-Z][A-Za-z]*\\.js$",
          caseSensitive: true,
          message: "internal modules must not import public ones; move what they share into src/internal/"
        }, { regex: "^(\\.\\./)+(index|node)\\.js$", message: "internal modules must not import an entry" }]
      }]
    }
  },
  {
    // The platform-neutral internals run in browsers: Node's modules only under internal/node/.
    files: ["src/internal/**/*.ts"],
    ignores: ["src/internal/node/**"],
    rules: {
      "no-restricted-imports": ["error", {
        patterns: [
          { regex: "^(\\.\\./)+[A-Z][A-Za-z]*\\.js$", caseSensitive: true, message: "internal modules must not import public ones; move what they share into src/internal/" },
          { regex: "^(\\.\\./)+(index|node)\\.js$", message: "internal modules must not import an entry" },
          { regex: "^(\\.\\./)*node/", message: "Node-only internals are for connect-effect/node's modules" },
          { regex: "^(node:|undici$)", message: "Node-only: put it under src/internal/node/" }
        ]
      }]
    }
  },
  {
    files: ["**/*.mjs", "**/*.js"],
    languageOptions: { globals: { process: "readonly", console: "readonly", URL: "readonly" } }
  }
)
