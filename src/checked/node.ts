/**
 * connect-effect/node as Node loads it: the peer dependencies' versions checked first, as in
 * ./index.ts.
 * @internal
 */
import { assertPeerVersions } from "../internal/node/peerVersions.js"

assertPeerVersions(import.meta.url)

export const { ConnectServer, NodeCompression, NodeTransport } = await import("../node.js")
