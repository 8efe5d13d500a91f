/**
 * Copies of TestService under other packages, with the idempotency of every method changed:
 * SideEffectService (as connecteffect.hostile.v1.TestService) whose Echo is NOT marked
 * NO_SIDE_EFFECTS, so that Connect GET must be refused for it; IdempotentService (as
 * connecteffect.idempotent.v1.TestService) whose every method is IDEMPOTENT, so retries may
 * repeat its streams.
 */
import { clone, create, createFileRegistry, type DescService } from "@bufbuild/protobuf"
import { FileDescriptorProtoSchema, MethodOptions_IdempotencyLevel, MethodOptionsSchema } from "@bufbuild/protobuf/wkt"
import { file_connecteffect_test_v1_test, type TestService } from "../gen/connecteffect/test/v1/test_pb.js"

const copyOfTestService = (packageName: string, idempotency: MethodOptions_IdempotencyLevel | undefined): DescService => {
  const proto = clone(FileDescriptorProtoSchema, file_connecteffect_test_v1_test.proto)
  proto.name = `${packageName.replaceAll(".", "/")}/copy.proto`
  proto.package = packageName
  for (const service of proto.service) {
    for (const method of service.method) {
      method.inputType = method.inputType.replace(".connecteffect.test.v1.", `.${packageName}.`)
      method.outputType = method.outputType.replace(".connecteffect.test.v1.", `.${packageName}.`)
      method.options = idempotency === undefined ? undefined : create(MethodOptionsSchema, { idempotencyLevel: idempotency })
    }
  }
  return createFileRegistry(proto, () => undefined).getService(`${packageName}.TestService`)!
}

/** TestService, with every method side-effecting. */
export const SideEffectService: DescService = copyOfTestService("connecteffect.hostile.v1", undefined)

/** TestService, with every method idempotent; typed as TestService, whose shape it has. */
export const IdempotentService = copyOfTestService(
  "connecteffect.idempotent.v1",
  MethodOptions_IdempotencyLevel.IDEMPOTENT
) as typeof TestService
