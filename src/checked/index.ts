/**
 * The main entry as Node loads it (package.json's `node` condition): the peer dependencies'
 * versions are checked first, so that a program beside effect 4 fails here, saying what to
 * install. A static `export ... from` would make Node link the whole module graph, and fail deep
 * inside @effect/platform, before any code of this module ran; a dynamic import runs after it.
 * @internal
 */
import { assertPeerVersions } from "../internal/node/peerVersions.js"

assertPeerVersions(import.meta.url)

// The names of ../index.ts (test/peer-versions.test.ts holds the two lists equal).
export const {
  ClientInterceptor,
  Code,
  Compression,
  ConnectClient,
  ConnectError,
  ConnectService,
  ConnectTransport,
  Cors,
  GrpcHealth,
  GrpcReflection,
  Observability,
  Retry,
  ServerInterceptor,
  Transport
} = await import("../index.js")
