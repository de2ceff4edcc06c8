// Test helper: a self-signed certificate for 127.0.0.1 and localhost, made with openssl in a
// temporary directory (tests/setup.ts installs openssl).

/** A certificate, its key, and where they were written. */
export interface TestCertificate {
  /** The directory holding both files; remove it when done. */
  dir: string;
  /** PEM certificate (also its own CA: trust it with `caCerts`). */
  cert: string;
  /** PEM private key. */
  key: string;
  certFile: string;
  keyFile: string;
}

/**
 * Makes a fresh self-signed P-256 certificate valid for a day.
 *
 * @returns the certificate and key, as text and as files
 */
export async function selfSignedCertificate(): Promise<TestCertificate> {
  const dir = await Deno.makeTempDir({ prefix: "micro_runtime_tls_" });
  const certFile = `${dir}/cert.pem`;
  const keyFile = `${dir}/key.pem`;
  const { success, stderr } = await new Deno.Command("openssl", {
    args: [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-days",
      "1",
      "-subj",
      "/CN=localhost",
      "-addext",
      "subjectAltName=IP:127.0.0.1,DNS:localhost",
      "-addext",
      "basicConstraints=critical,CA:FALSE",
      "-keyout",
      keyFile,
      "-out",
      certFile,
    ],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!success) throw new Error(`openssl failed: ${new TextDecoder().decode(stderr)}`);
  return {
    dir,
    cert: await Deno.readTextFile(certFile),
    key: await Deno.readTextFile(keyFile),
    certFile,
    keyFile,
  };
}
