/**
 * Per-method codecs, built once per method and codec and then reused by every call.
 * @internal
 */
import type { DescMessage, DescMethod, MessageShape } from "@bufbuild/protobuf"
import { makeSerialization, type Serialization } from "./serialization.js"

/** @internal */
export interface MethodCodec<I extends DescMessage = DescMessage, O extends DescMessage = DescMessage> {
  readonly input: Serialization<MessageShape<I>>
  readonly output: Serialization<MessageShape<O>>
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
    codec = { input: makeSerialization(method.input, json), output: makeSerialization(method.output, json) }
    cache.set(method, codec)
  }
  return codec as unknown as MethodCodec<I, O>
}
