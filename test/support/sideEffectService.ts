/**
 * A copy of TestService (as connecteffect.hostile.v1.TestService) whose Echo is NOT marked
 * NO_SIDE_EFFECTS, so that Connect GET must be refused for it.
 */
import { clone, createFileRegistry, type DescService } from "@bufbuild/protobuf"
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt"
import { file_connecteffect_test_v1_test } from "../gen/connecteffect/test/v1/test_pb.js"

const proto = clone(FileDescriptorProtoSchema, file_connecteffect_test_v1_test.proto)
proto.name = "connecteffect/hostile/v1/hostile.proto"
proto.package = "connecteffect.hostile.v1"
for (const service of proto.service) {
  for (const method of service.method) {
    method.inputType = method.inputType.replace(".connecteffect.test.v1.", ".connecteffect.hostile.v1.")
    method.outputType = method.outputType.replace(".connecteffect.test.v1.", ".connecteffect.hostile.v1.")
    method.options = undefined
  }
}

/** TestService, with every method side-effecting. */
export const SideEffectService: DescService = createFileRegistry(proto, () => undefined).getService(
  "connecteffect.hostile.v1.TestService"
)!
