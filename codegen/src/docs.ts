import type { DescService } from "@bufbuild/protobuf"
import { getComments } from "@bufbuild/protoplugin"

/** Drops the single space protoc keeps after `//` at the start of each comment line. */
const unindent = (comment: string): string =>
  comment.replace(/\n$/, "").split("\n").map((line) => line.startsWith(" ") ? line.substring(1) : line).join("\n")

/**
 * The TSDoc text of a symbol generated for `service`: the service's proto comments if `withComments`,
 * then `text`, where it came from, and `@deprecated` when the service or its file is deprecated.
 */
export const serviceDocText = (service: DescService, text: string, withComments: boolean): string => {
  const comments = getComments(service)
  const deprecated = service.deprecated || service.file.deprecated
  return [
    ...(withComments ? [comments.leading, comments.trailing] : [])
      .filter((c): c is string => c !== undefined)
      .map(unindent),
    text,
    `@generated from service ${service.typeName}${deprecated ? "\n@deprecated" : ""}`
  ].join("\n\n")
}
