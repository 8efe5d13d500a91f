import type { DescFile, DescMethod, DescService } from "@bufbuild/protobuf"

/**
 * The generated file for a proto file: `eliza.proto` gives `eliza_connect_effect.ts`, beside
 * protoc-gen-es's `eliza_pb.ts`. Named after the plugin, so it never collides with the output of
 * protoc-gen-es (`_pb`) or protoc-gen-connect-es (`_connect`) in the same output folder.
 */
export const generatedFileName = (file: DescFile): string => `${file.name}_connect_effect`

/**
 * The names generated for one service. Each ends with a different word that no other ends with
 * ("Client", "ClientMethods", "Handlers"), so the names of two services in one file never collide;
 * protoplugin renames imports that collide with them.
 */
export interface ServiceNames {
  /** The Context tag of the client, e.g. `ElizaServiceClient`. */
  readonly client: string
  /** The interface of the client's methods, e.g. `ElizaServiceClientMethods`. */
  readonly clientMethods: string
  /** The interface of an implementation, and the object turning one into a Layer, e.g. `ElizaServiceHandlers`. */
  readonly handlers: string
  /** The unexported base class of the client tag in declaration files; `$` never occurs in proto names. */
  readonly clientBase: string
  /** The key of the client tag, unique per service. */
  readonly clientKey: string
}

/** The names generated for `service`. */
export const serviceNames = (service: DescService): ServiceNames => ({
  client: `${service.name}Client`,
  clientMethods: `${service.name}ClientMethods`,
  handlers: `${service.name}Handlers`,
  clientBase: `${service.name}Client$base`,
  clientKey: `connect-effect/ConnectClient/${service.typeName}`
})

/**
 * The key of `method` in its service descriptor: protobuf-es's `localName` (`Say` is `say`,
 * `ToString` is `toString$`).
 */
export const methodLocalName = (method: DescMethod): string => method.localName

/**
 * The property of `method` in a client and in an implementation: its `localName`, except that
 * `Then` is `then$`, as the runtime names it (`ConnectClient.PropertyName`), so that neither is
 * ever a thenable (awaiting one would call the method).
 */
export const methodProperty = (method: DescMethod): string =>
  method.localName === "then" ? "then$" : method.localName
