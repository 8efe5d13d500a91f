/**
 * Certificates for TLS tests, made with the openssl command at test time: a CA, a server
 * certificate for localhost and 127.0.0.1, and a client certificate, both signed by the CA.
 */
import { execFileSync } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

export interface TestCertificates {
  readonly ca: string
  readonly serverCert: string
  readonly serverKey: string
  readonly clientCert: string
  readonly clientKey: string
  /** A client certificate from a CA the server does not trust. */
  readonly strangerCert: string
  readonly strangerKey: string
}

let made: TestCertificates | undefined

/** Makes the certificates once per test file (in a temporary directory, removed at once). */
export const testCertificates = (): TestCertificates => {
  if (made !== undefined) return made
  const dir = mkdtempSync(join(tmpdir(), "connect-effect-tls-"))
  try {
    const openssl = (...args: Array<string>) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" })
    const key = (name: string) => openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", `${name}.key`)
    const selfSigned = (name: string, subject: string) => {
      key(name)
      openssl("req", "-x509", "-new", "-key", `${name}.key`, "-days", "2", "-subj", subject, "-out", `${name}.pem`)
    }
    const signed = (name: string, subject: string, ca: string, extensions: string) => {
      key(name)
      openssl("req", "-new", "-key", `${name}.key`, "-subj", subject, "-out", `${name}.csr`)
      writeFileSync(join(dir, `${name}.ext`), extensions)
      openssl(
        "x509", "-req", "-in", `${name}.csr`, "-CA", `${ca}.pem`, "-CAkey", `${ca}.key`, "-CAcreateserial",
        "-days", "2", "-extfile", `${name}.ext`, "-out", `${name}.pem`
      )
    }
    selfSigned("ca", "/CN=connect-effect test CA")
    selfSigned("stranger-ca", "/CN=someone else's CA")
    signed("server", "/CN=localhost", "ca", "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    signed("client", "/CN=test-client/O=connect-effect", "ca", "extendedKeyUsage=clientAuth\n")
    signed("stranger", "/CN=stranger", "stranger-ca", "extendedKeyUsage=clientAuth\n")
    const read = (file: string) => readFileSync(join(dir, file), "utf8")
    made = {
      ca: read("ca.pem"),
      serverCert: read("server.pem"),
      serverKey: read("server.key"),
      clientCert: read("client.pem"),
      clientKey: read("client.key"),
      strangerCert: read("stranger.pem"),
      strangerKey: read("stranger.key")
    }
    return made
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
