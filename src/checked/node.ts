/**
 * connect-effect/node as Node loads it: the peer dependencies' versions checked first, as in
 * ./index.ts.
 * @internal
 */
import { assertPeerVersions } from "../internal/node/peerVersions.js"

assertPeerVersions(import.meta.url)

// The names of ../node.ts (test/peer-versions.test.ts holds the two lists equal).
export const { ConnectServer, NodeCompression, NodeTransport } = await import("../node.js")
