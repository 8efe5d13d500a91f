/**
 * One ServerReflectionInfo exchange, the same in `grpc.reflection.v1` and `v1alpha` (whose
 * messages differ in their package only): a request's `message_request` in, the response's
 * `message_response` out.
 * @internal
 */
import type { DescFile } from "@bufbuild/protobuf"
import * as Effect from "effect/Effect"
import { toNumber } from "../code.js"
import { ConnectError } from "../connectError.js"
import { quote } from "../quote.js"
import type { DescriptorIndex } from "./descriptorIndex.js"

/** A request's `message_request`, as protoc-gen-es types it in either version. @internal */
export type MessageRequest =
  | { readonly case: "fileByFilename"; readonly value: string }
  | { readonly case: "fileContainingSymbol"; readonly value: string }
  | {
    readonly case: "fileContainingExtension"
    readonly value: { readonly containingType: string; readonly extensionNumber: number }
  }
  | { readonly case: "allExtensionNumbersOfType"; readonly value: string }
  | { readonly case: "listServices"; readonly value: string }
  | { readonly case: undefined; readonly value?: undefined }

/** A response's `message_response`, as an init shape either version accepts. @internal */
export type MessageResponse =
  | { readonly case: "fileDescriptorResponse"; readonly value: { readonly fileDescriptorProto: Array<Uint8Array> } }
  | {
    readonly case: "allExtensionNumbersResponse"
    readonly value: { readonly baseTypeName: string; readonly extensionNumber: Array<number> }
  }
  | { readonly case: "listServicesResponse"; readonly value: { readonly service: Array<{ readonly name: string }> } }
  | { readonly case: "errorResponse"; readonly value: { readonly errorCode: number; readonly errorMessage: string } }

// Unknown names are answered in the stream (as gRPC's servers do), which goes on; only a
// request that asks nothing ends it.
const notFound = (message: string): MessageResponse => ({
  case: "errorResponse",
  value: { errorCode: toNumber("not_found"), errorMessage: message }
})

const files = (index: DescriptorIndex, sent: Set<string>, file: DescFile | undefined, missing: string): MessageResponse =>
  file === undefined
    ? notFound(missing)
    : { case: "fileDescriptorResponse", value: { fileDescriptorProto: index.withDependencies(file, sent) } }

/**
 * The answer to one request of a stream; `sent` holds the files the stream has sent already.
 * @internal
 */
export const answer = (
  index: DescriptorIndex,
  sent: Set<string>,
  request: MessageRequest
): Effect.Effect<MessageResponse, ConnectError> => {
  switch (request.case) {
    case "fileByFilename":
      return Effect.succeed(files(index, sent, index.fileByName(request.value), `file ${quote(request.value)} not found`))
    case "fileContainingSymbol":
      return Effect.succeed(
        files(index, sent, index.fileBySymbol(request.value), `symbol ${quote(request.value)} not found`)
      )
    case "fileContainingExtension": {
      const { containingType, extensionNumber } = request.value
      return Effect.succeed(files(
        index,
        sent,
        index.fileByExtension(containingType, extensionNumber),
        `extension ${extensionNumber} of ${quote(containingType)} not found`
      ))
    }
    case "allExtensionNumbersOfType": {
      const numbers = index.extensionNumbers(request.value)
      return Effect.succeed(
        numbers === undefined
          ? notFound(`type ${quote(request.value)} not found`)
          : { case: "allExtensionNumbersResponse", value: { baseTypeName: request.value, extensionNumber: [...numbers] } }
      )
    }
    case "listServices":
      return Effect.succeed({
        case: "listServicesResponse",
        value: { service: index.serviceNames.map((name) => ({ name })) }
      })
    case undefined:
      return Effect.fail(new ConnectError({ code: "invalid_argument", message: "the request asks for nothing (message_request unset)" }))
  }
}
