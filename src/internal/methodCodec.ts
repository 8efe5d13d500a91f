/**
 * Per-method codecs, built once per method and codec and then reused by every call.
 * @internal
 */
import type { DescFile, DescMessage, DescMethod, MessageShape, Registry } from "@bufbuild/protobuf"
import { createRegistry } from "@bufbuild/protobuf"
import { makeSerialization, type Serialization } from "./serialization.js"

/** @internal */
export interface MethodCodec<I extends DescMessage = DescMessage, O extends DescMessage = DescMessage> {
  readonly input: Serialization<MessageShape<I>>
  readonly output: Serialization<MessageShape<O>>
}

const registries = new WeakMap<DescFile, Registry>()

/**
 * Every type of the method's file and of the files it imports, so that JSON can carry
 * google.protobuf.Any values of those types.
 */
const registryOf = (file: DescFile): Registry => {
  let registry = registries.get(file)
  if (registry === undefined) {
    const files = new Set<DescFile>()
    const visit = (f: DescFile) => {
      if (files.has(f)) return
      files.add(f)
      f.dependencies.forEach(visit)
    }
    visit(file)
    registry = createRegistry(...files)
    registries.set(file, registry)
  }
  return registry
}

const binaryCache = new WeakMap<DescMethod, MethodCodec>()
const jsonCache = new WeakMap<DescMethod, MethodCodec>()

/** @internal */
export const methodCodec = <I extends DescMessage, O extends DescMessage>(
  method: DescMethod & { readonly input: I; readonly output: O },
  json: boolean
): MethodCodec<I, O> => {
  const cache = json ? jsonCache : binaryCache
  let codec = cache.get(method)
  if (codec === undefined) {
    const registry = json ? registryOf(method.parent.file) : undefined
    codec = {
      input: makeSerialization(method.input, json, registry),
      output: makeSerialization(method.output, json, registry)
    }
    cache.set(method, codec)
  }
  return codec as unknown as MethodCodec<I, O>
}
