#!/usr/bin/env node
/**
 * The protoc-gen-connect-effect executable: reads a CodeGeneratorRequest on stdin and writes a
 * CodeGeneratorResponse to stdout, as protoc and buf expect of a plugin.
 */
import { runNodeJs } from "@bufbuild/protoplugin"
import { protocGenConnectEffect } from "./plugin.js"

runNodeJs(protocGenConnectEffect)
