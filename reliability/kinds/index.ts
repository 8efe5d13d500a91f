/**
 * Every kind of hostile input, in the order the fuzzer runs them: the server's (HTTP/1.1
 * syntax, Connect and gRPC-Web over HTTP/1.1, every protocol over HTTP/2, raw HTTP/2 frames),
 * the client's (hostile HTTP/1.1 and HTTP/2 servers), and chaos between the two.
 */
import type { AnyKind } from "../kind.js"
import { chaosHttp1, chaosHttp2 } from "./chaos.js"
import { clientHttp1 } from "./clientHttp1.js"
import { clientHttp2 } from "./clientHttp2.js"
import { h2Frames } from "./h2Frames.js"
import { http1Syntax } from "./http1Syntax.js"
import { connectHttp1, grpcWebHttp1 } from "./rpcOverHttp1.js"
import { rpcHttp2 } from "./rpcOverHttp2.js"

export const allKinds: ReadonlyArray<AnyKind> = [
  http1Syntax,
  connectHttp1,
  grpcWebHttp1,
  rpcHttp2,
  h2Frames,
  clientHttp1,
  clientHttp2,
  chaosHttp1,
  chaosHttp2
]
