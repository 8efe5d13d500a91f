/**
 * The code generated for one service, for each target: TypeScript, or JavaScript with declarations.
 * The three stay in step: the golden files show them side by side.
 */
import type { DescMethod, DescService } from "@bufbuild/protobuf"
import type { GeneratedFile, ImportSymbol, Printable, Target } from "@bufbuild/protoplugin"
import { serviceDocText } from "./docs.js"
import { methodLocalName, methodProperty, serviceNames } from "./names.js"

/** The symbols a generated file uses, imported so that protoplugin renames any that collide. */
interface Imports {
  readonly ConnectClient: ImportSymbol
  readonly ConnectService: ImportSymbol
  readonly Transport: ImportSymbol
  readonly Context: ImportSymbol
  readonly Layer: ImportSymbol
}

const runtimeModule = "connect-effect"

const importsFor = (f: GeneratedFile, target: Target): Imports => {
  const typeOnly = target === "dts"
  return {
    ConnectClient: f.import("ConnectClient", runtimeModule, typeOnly),
    ConnectService: f.import("ConnectService", runtimeModule, typeOnly),
    Transport: f.import("Transport", runtimeModule, true),
    Context: f.import("Context", "effect", typeOnly),
    Layer: f.import("Layer", "effect", typeOnly)
  }
}

/** `typeof ElizaService["method"]["say"]`: the descriptor type of one method. */
const methodDesc = (f: GeneratedFile, method: DescMethod): Printable =>
  ["typeof ", f.importSchema(method.parent, true), `["method"][${JSON.stringify(methodLocalName(method))}]`]

/** The TSDoc of a symbol generated for `service`; the main symbols repeat the proto comments. */
const serviceDoc = (f: GeneratedFile, service: DescService, text: string, withComments = false): Printable =>
  f.jsDoc(serviceDocText(service, text, withComments))

const printClientMethods = (f: GeneratedFile, service: DescService, imports: Imports): void => {
  const names = serviceNames(service)
  f.print(serviceDoc(f, service, `The methods of a client of ${service.name}: unary and client-streaming calls return an Effect, server-streaming and bidi calls a Stream.`))
  f.print(f.export("interface", names.clientMethods), " {")
  for (const method of service.methods) {
    f.print(f.jsDoc(method, "  "))
    f.print("  readonly ", methodProperty(method), ": ", imports.ConnectClient, ".MethodClient<", methodDesc(f, method), ">;")
  }
  f.print("}")
  f.print()
}

const printHandlers = (f: GeneratedFile, service: DescService, imports: Imports): void => {
  const names = serviceNames(service)
  f.print(serviceDoc(f, service, `An implementation of ${service.name}: one handler per method, whose Effects and Streams may require the services \`R\`.`, true))
  f.print(f.export("interface", names.handlers), "<R = never> {")
  for (const method of service.methods) {
    f.print(f.jsDoc(method, "  "))
    f.print("  readonly ", methodProperty(method), ": ", imports.ConnectService, ".Handler<", methodDesc(f, method), ", R>;")
  }
  f.print("}")
  f.print()
}

const clientTagDoc = (f: GeneratedFile, service: DescService): Printable =>
  serviceDoc(f, service, `The client of ${service.name}, a Context tag: \`const client = yield* ${serviceNames(service).client}\`, provided by \`${serviceNames(service).client}.layer\`.`, true)

const clientLayerDoc = "The client on the `Transport` in context."

const clientLayerType = (service: DescService, imports: Imports): Printable =>
  [imports.Layer, ".Layer<", serviceNames(service).client, ", never, ", imports.Transport, ".Transport>"]

const handlersLayerDoc = (f: GeneratedFile, service: DescService): Printable =>
  serviceDoc(f, service, `Turns an implementation of ${service.name} into a Layer, which \`ConnectServer.layer\` and \`ConnectServer.toHttpApp\` require to serve it.`)

/**
 * `<H extends ElizaServiceHandlers<unknown>>(handlers: H)`: a parameter `H` rather than `R`, so that
 * the Layer requires the union of what all handlers require (TypeScript infers `R` from one handler).
 */
const handlersLayerParameters = (service: DescService): Printable =>
  ["<H extends ", serviceNames(service).handlers, "<unknown>>(handlers: H)"]

const handlersLayerType = (f: GeneratedFile, service: DescService, imports: Imports): Printable => [
  imports.Layer, ".Layer<", imports.ConnectService, ".Registered<typeof ", f.importSchema(service, true), ">, never, ",
  imports.ConnectService, ".HandlersContext<H>>"
]

const printTs = (f: GeneratedFile, service: DescService, imports: Imports): void => {
  const names = serviceNames(service)
  printClientMethods(f, service, imports)
  f.print(clientTagDoc(f, service))
  f.print(f.export("class", names.client), " extends ", imports.Context, ".Tag(", f.string(names.clientKey), ")<", names.client, ", ", names.clientMethods, ">() {")
  f.print(f.jsDoc(clientLayerDoc, "  "))
  f.print("  static readonly layer: ", clientLayerType(service, imports), " = ", imports.Layer, ".effect(this, ", imports.ConnectClient, ".make(", f.importSchema(service), "));")
  f.print("}")
  f.print()
  printHandlers(f, service, imports)
  f.print(handlersLayerDoc(f, service))
  f.print(f.export("const", names.handlers), " = {")
  f.print("  layer: ", handlersLayerParameters(service), ": ", handlersLayerType(f, service, imports), " =>")
  f.print("    ", imports.ConnectService, ".toLayer(", f.importSchema(service), ", handlers),")
  f.print("} as const;")
}

const printJs = (f: GeneratedFile, service: DescService, imports: Imports): void => {
  const names = serviceNames(service)
  f.print(clientTagDoc(f, service))
  f.print(f.export("class", names.client), " extends ", imports.Context, ".Tag(", f.string(names.clientKey), ")() {")
  f.print(f.jsDoc(clientLayerDoc, "  "))
  f.print("  static layer = ", imports.Layer, ".effect(this, ", imports.ConnectClient, ".make(", f.importSchema(service), "));")
  f.print("}")
  f.print()
  f.print(handlersLayerDoc(f, service))
  f.print(f.export("const", names.handlers), " = {")
  f.print("  layer: (handlers) => ", imports.ConnectService, ".toLayer(", f.importSchema(service), ", handlers),")
  f.print("};")
}

const printDts = (f: GeneratedFile, service: DescService, imports: Imports): void => {
  const names = serviceNames(service)
  printClientMethods(f, service, imports)
  f.print("declare const ", names.clientBase, ": ", imports.Context, ".TagClass<", names.client, ", ", f.string(names.clientKey), ", ", names.clientMethods, ">;")
  f.print()
  f.print(clientTagDoc(f, service))
  f.print(f.export("declare class", names.client), " extends ", names.clientBase, " {")
  f.print(f.jsDoc(clientLayerDoc, "  "))
  f.print("  static readonly layer: ", clientLayerType(service, imports), ";")
  f.print("}")
  f.print()
  printHandlers(f, service, imports)
  f.print(handlersLayerDoc(f, service))
  f.print(f.export("declare const", names.handlers), ": {")
  f.print("  readonly layer: ", handlersLayerParameters(service), " => ", handlersLayerType(f, service, imports), ";")
  f.print("};")
}

/** Prints the code of one service for one target. */
export const printService = (f: GeneratedFile, service: DescService, target: Target): void => {
  const imports = importsFor(f, target)
  switch (target) {
    case "ts":
      return printTs(f, service, imports)
    case "js":
      return printJs(f, service, imports)
    case "dts":
      return printDts(f, service, imports)
  }
}
