/**
 * Client text quoted in an error message, bounded: the client chose its length, and an error
 * that echoes a megabyte name costs the server a megabyte more to send.
 * @internal
 */
const maxLength = 200

/** @internal */
export const quote = (text: string): string =>
  JSON.stringify(text.length > maxLength ? `${text.slice(0, maxLength)}…` : text)
