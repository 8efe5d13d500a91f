/**
 * What server reflection can describe: the files of the given services and files, with their
 * transitive imports, indexed by file name, by every fully-qualified name they declare, and by
 * extension (extendee and number).
 * @internal
 */
import type { DescEnum, DescFile, DescMessage, DescService } from "@bufbuild/protobuf"
import { toBinary } from "@bufbuild/protobuf"
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt"

/** @internal */
export interface DescriptorIndex {
  /** The services to list, sorted (as grpc-go lists them). */
  readonly serviceNames: ReadonlyArray<string>
  readonly fileByName: (name: string) => DescFile | undefined
  /** A service, method, message, field, oneof, enum, enum value or extension, by its full name. */
  readonly fileBySymbol: (name: string) => DescFile | undefined
  readonly fileByExtension: (extendee: string, number: number) => DescFile | undefined
  /** The numbers of the known extensions of a message, sorted; undefined if the message is unknown. */
  readonly extensionNumbers: (extendee: string) => ReadonlyArray<number> | undefined
  /**
   * `file` serialized, then those of its transitive imports not in `sent` (which it updates):
   * a reflection stream sends each file once. `file` itself is always sent, so that an answer
   * is never empty.
   */
  readonly withDependencies: (file: DescFile, sent: Set<string>) => Array<Uint8Array>
}

/** @internal */
export const makeDescriptorIndex = (
  services: Iterable<DescService>,
  files: Iterable<DescFile> = []
): DescriptorIndex => {
  const filesByName = new Map<string, DescFile>()
  const symbols = new Map<string, DescFile>()
  const messages = new Set<string>()
  const extensions = new Map<string, Map<number, DescFile>>()

  const addMessage = (file: DescFile, message: DescMessage): void => {
    symbols.set(message.typeName, file)
    messages.add(message.typeName)
    for (const field of message.fields) symbols.set(`${message.typeName}.${field.name}`, file)
    for (const oneof of message.oneofs) symbols.set(`${message.typeName}.${oneof.name}`, file)
    for (const nested of message.nestedMessages) addMessage(file, nested)
    for (const nested of message.nestedEnums) addEnum(file, nested)
    for (const extension of message.nestedExtensions) addExtension(file, extension)
  }
  const addEnum = (file: DescFile, enumeration: DescEnum): void => {
    symbols.set(enumeration.typeName, file)
    // Enum values are scoped like C++ enumerators: siblings of their enum, not children.
    const scope = enumeration.typeName.slice(0, enumeration.typeName.length - enumeration.name.length)
    for (const value of enumeration.values) symbols.set(`${scope}${value.name}`, file)
  }
  const addExtension = (file: DescFile, extension: DescFile["extensions"][number]): void => {
    symbols.set(extension.typeName, file)
    let numbers = extensions.get(extension.extendee.typeName)
    if (numbers === undefined) extensions.set(extension.extendee.typeName, numbers = new Map())
    numbers.set(extension.number, file)
  }
  const addFile = (file: DescFile): void => {
    if (filesByName.has(file.proto.name)) return
    filesByName.set(file.proto.name, file)
    for (const message of file.messages) addMessage(file, message)
    for (const enumeration of file.enums) addEnum(file, enumeration)
    for (const extension of file.extensions) addExtension(file, extension)
    for (const service of file.services) {
      symbols.set(service.typeName, file)
      for (const method of service.methods) symbols.set(`${service.typeName}.${method.name}`, file)
    }
    for (const dependency of file.dependencies) addFile(dependency)
  }

  const serviceNames = new Set<string>()
  for (const service of services) {
    serviceNames.add(service.typeName)
    addFile(service.file)
  }
  for (const file of files) addFile(file)

  const serialized = new Map<DescFile, Uint8Array>()
  const serialize = (file: DescFile): Uint8Array => {
    let bytes = serialized.get(file)
    if (bytes === undefined) serialized.set(file, bytes = toBinary(FileDescriptorProtoSchema, file.proto))
    return bytes
  }

  return {
    serviceNames: [...serviceNames].sort(),
    fileByName: (name) => filesByName.get(name),
    fileBySymbol: (name) => symbols.get(name),
    fileByExtension: (extendee, number) => extensions.get(extendee)?.get(number),
    extensionNumbers: (extendee) =>
      messages.has(extendee) ? [...(extensions.get(extendee)?.keys() ?? [])].sort((a, b) => a - b) : undefined,
    withDependencies: (file, sent) => {
      const out = [serialize(file)]
      sent.add(file.proto.name)
      const queue = [...file.dependencies]
      for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
        if (sent.has(next.proto.name)) continue
        sent.add(next.proto.name)
        out.push(serialize(next))
        queue.push(...next.dependencies)
      }
      return out
    }
  }
}
