/**
 * A grpc-js service definition of any protobuf-es service descriptor, with protobuf-es
 * serializers: grpc-js servers and clients with no generated grpc-js code (the interop tests and
 * the benchmark's grpc-js server and client).
 */
import { create, type DescMethod, type DescService, fromBinary, toBinary } from "@bufbuild/protobuf"
import type * as Grpc from "@grpc/grpc-js"

const definitionOf = (method: DescMethod) => ({
  path: `/${method.parent.typeName}/${method.name}`,
  requestStream: method.methodKind === "client_streaming" || method.methodKind === "bidi_streaming",
  responseStream: method.methodKind === "server_streaming" || method.methodKind === "bidi_streaming",
  requestSerialize: (m: any) => Buffer.from(toBinary(method.input, create(method.input, m))),
  requestDeserialize: (b: Buffer) => fromBinary(method.input, b),
  responseSerialize: (m: any) => Buffer.from(toBinary(method.output, create(method.output, m))),
  responseDeserialize: (b: Buffer) => fromBinary(method.output, b),
  originalName: method.localName
})

/** `service`'s methods as a grpc-js service definition, keyed by their local names. */
export const grpcJsDefinition = (service: DescService): Grpc.ServiceDefinition =>
  Object.fromEntries(service.methods.map((method) => [method.localName, definitionOf(method)])) as unknown as Grpc.ServiceDefinition
