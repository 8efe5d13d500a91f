/**
 * The version of protoc-gen-connect-effect, printed in every generated file's preamble.
 * A test keeps it equal to the package's version.
 */
export const pluginVersion = "0.1.0"
