/**
 * gRPC server reflection (`grpc.reflection.v1` and `v1alpha`) as a ready-made service: tools
 * such as `grpcurl` and `buf curl --reflect` list the server's services and read their schemas
 * from it, with no .proto file at hand.
 *
 * @since 0.2.0
 */
import type { DescFile, DescService } from "@bufbuild/protobuf"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import * as ConnectService from "./ConnectService.js"
import { ServerReflection } from "./gen/grpc/reflection/v1/reflection_pb.js"
import { ServerReflection as ServerReflectionV1alpha } from "./gen/grpc/reflection/v1alpha/reflection_pb.js"
import { answer, type MessageRequest } from "./internal/reflection/answer.js"
import { type DescriptorIndex, makeDescriptorIndex } from "./internal/reflection/descriptorIndex.js"

export {
  /**
   * The descriptor of `grpc.reflection.v1.ServerReflection`.
   *
   * @since 0.2.0
   * @category descriptors
   */
  ServerReflection
} from "./gen/grpc/reflection/v1/reflection_pb.js"

export {
  /**
   * The descriptor of `grpc.reflection.v1alpha.ServerReflection`, which older clients (and
   * grpcurl before it tries v1) call.
   *
   * @since 0.2.0
   * @category descriptors
   */
  ServerReflection as ServerReflectionV1alpha
} from "./gen/grpc/reflection/v1alpha/reflection_pb.js"

/**
 * Both reflection services, to list in `ConnectServer.layer`'s `services` beside the others.
 *
 * @since 0.2.0
 * @category descriptors
 */
export const services: readonly [typeof ServerReflection, typeof ServerReflectionV1alpha] = [
  ServerReflection,
  ServerReflectionV1alpha
]

/**
 * @since 0.2.0
 * @category models
 */
export interface Options {
  /**
   * Files to describe besides those of the services and their imports: e.g. the files that
   * declare extensions of the services' messages, which nothing imports.
   */
  readonly files?: Iterable<DescFile>
}

/** One ServerReflectionInfo stream: each request answered in turn, each file sent once. */
const info = (index: DescriptorIndex) =>
<R extends { readonly host: string; readonly messageRequest: MessageRequest }>(requests: Stream.Stream<R, unknown>) =>
  Stream.suspend(() => {
    const sent = new Set<string>()
    return Stream.mapEffect(requests, (request) =>
      Effect.map(answer(index, sent, request.messageRequest), (messageResponse) => ({
        validHost: request.host,
        originalRequest: request,
        messageResponse
      })))
  })

/**
 * `grpc.reflection.v1.ServerReflection` and `v1alpha`, describing `services` (listed by
 * `list_services`) and the files that declare them, with their transitive imports. Pass every
 * service the server serves, the reflection services included if they are to be listed.
 *
 * @example
 * ```ts
 * const services = [ElizaService, ...GrpcReflection.services] as const
 * const ServerLive = ConnectServer.layer({ services }).pipe(
 *   Layer.provide([ElizaLive, GrpcReflection.layer(services)])
 * )
 * ```
 * @since 0.2.0
 * @category layers
 */
export const layer = (
  services: Iterable<DescService>,
  options: Options = {}
): Layer.Layer<
  ConnectService.Registered<typeof ServerReflection> | ConnectService.Registered<typeof ServerReflectionV1alpha>
> =>
  Layer.unwrapEffect(Effect.sync(() => {
    const index = makeDescriptorIndex(services, options.files)
    return Layer.merge(
      ConnectService.toLayer(ServerReflection, { serverReflectionInfo: info(index) }),
      ConnectService.toLayer(ServerReflectionV1alpha, { serverReflectionInfo: info(index) })
    )
  }))
