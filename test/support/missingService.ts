/**
 * A service descriptor that no test server implements (connecteffect.test.v1.MissingService,
 * built at run time next to TestService), to call methods a server does not serve.
 */
import { create, createFileRegistry } from "@bufbuild/protobuf"
import type { GenService } from "@bufbuild/protobuf/codegenv2"
import { FileDescriptorProtoSchema, MethodDescriptorProtoSchema } from "@bufbuild/protobuf/wkt"
import { type EchoRequestSchema, type EchoResponseSchema, file_connecteffect_test_v1_test } from "../gen/connecteffect/test/v1/test_pb.js"

const fileName = "connecteffect/test/v1/missing.proto"

const registry = createFileRegistry(
  create(FileDescriptorProtoSchema, {
    name: fileName,
    package: "connecteffect.test.v1",
    syntax: "proto3",
    dependency: ["connecteffect/test/v1/test.proto"],
    service: [{
      name: "MissingService",
      method: [
        create(MethodDescriptorProtoSchema, {
          name: "Echo",
          inputType: ".connecteffect.test.v1.EchoRequest",
          outputType: ".connecteffect.test.v1.EchoResponse"
        }),
        create(MethodDescriptorProtoSchema, {
          name: "ServerStream",
          inputType: ".connecteffect.test.v1.EchoRequest",
          outputType: ".connecteffect.test.v1.EchoResponse",
          serverStreaming: true
        })
      ]
    }]
  }),
  (name) => (name === file_connecteffect_test_v1_test.proto.name ? file_connecteffect_test_v1_test : undefined)
)

/** connecteffect.test.v1.MissingService: Echo (unary) and ServerStream, both on EchoRequest / EchoResponse. */
export const MissingService = registry.getService("connecteffect.test.v1.MissingService") as unknown as GenService<{
  echo: { methodKind: "unary"; input: typeof EchoRequestSchema; output: typeof EchoResponseSchema }
  serverStream: { methodKind: "server_streaming"; input: typeof EchoRequestSchema; output: typeof EchoResponseSchema }
}>
