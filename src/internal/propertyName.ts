/**
 * The property a method is found under on clients and handler records: its protobuf-es
 * `localName`, except that `then` becomes `then$`, because an object with a `then` method is a
 * thenable, which `await` and `Promise.resolve` would call.
 * @internal
 */
export const propertyName = (localName: string): string => (localName === "then" ? "then$" : localName)
