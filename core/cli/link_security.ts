/**
 * The host link's security from the command line, shared by `serve` and `host`: the token
 * (a file, or the `MICRO_RUNTIME_TOKEN` environment variable) and the start-up warning of a
 * runtime that other machines can reach without TLS or a token.
 *
 * @module
 */

/** The environment variable holding the host link's token when no token file is given. */
export const TOKEN_ENV = "MICRO_RUNTIME_TOKEN";

/**
 * The host link's token: the text of `file` with surrounding whitespace removed (so
 * `openssl rand -hex 32 > token` works), else `MICRO_RUNTIME_TOKEN` when Deno may read it
 * (`--allow-env`; a server never stops to prompt for it).
 *
 * @param file the `--token-file` value, if given
 * @returns the token's bytes, or undefined when there is none
 * @throws {Error} when the file cannot be read or holds no token
 *
 * @example A token file with a trailing newline
 * ```ts
 * import assert from "node:assert/strict";
 * import { readToken } from "./link_security.ts";
 * const file = await Deno.makeTempFile();
 * await Deno.writeTextFile(file, "s3cret\n");
 * assert.equal(new TextDecoder().decode(readToken(file)), "s3cret");
 * await Deno.remove(file);
 * ```
 */
export function readToken(file: string | undefined): Uint8Array | undefined {
  if (file !== undefined) {
    let text: string;
    try {
      text = Deno.readTextFileSync(file);
    } catch (error) {
      throw new Error(`Cannot read the token file "${file}": ${(error as Error).message}`);
    }
    const token = text.trim();
    if (token === "") throw new Error(`The token file "${file}" is empty`);
    return new TextEncoder().encode(token);
  }
  const permission = Deno.permissions.querySync({ name: "env", variable: TOKEN_ENV });
  if (permission.state !== "granted") return undefined;
  const token = Deno.env.get(TOKEN_ENV)?.trim();
  return token ? new TextEncoder().encode(token) : undefined;
}

/**
 * Whether an address is reachable only from this machine.
 *
 * @param hostname an IP address (as a listener reports it) or `localhost`
 * @returns true for 127.0.0.0/8, `::1`, their IPv4-mapped forms and `localhost`
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isLoopback } from "./link_security.ts";
 * assert.equal(isLoopback("127.0.0.1"), true);
 * assert.equal(isLoopback("0.0.0.0"), false);
 * ```
 */
export function isLoopback(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, "").toLowerCase();
  return host === "localhost" || host === "::1" || /^(::ffff:)?127\.\d+\.\d+\.\d+$/.test(host);
}

/**
 * The warning `serve` prints when it listens where other machines can reach it without
 * both TLS and a token, or undefined on loopback or with both.
 *
 * @param addr the bound address
 * @param security whether TLS and a token are on
 * @returns the warning line (without a newline), or undefined
 *
 * @example Listening on every interface with neither
 * ```ts
 * import assert from "node:assert/strict";
 * import { exposureWarning } from "./link_security.ts";
 * const addr = { transport: "tcp", hostname: "0.0.0.0", port: 8888 } as const;
 * assert.match(exposureWarning(addr, { tls: false, token: false })!, /no token and no TLS/);
 * assert.equal(exposureWarning({ ...addr, hostname: "127.0.0.1" }, { tls: false, token: false }), undefined);
 * ```
 */
export function exposureWarning(
  addr: Deno.NetAddr,
  security: { tls: boolean; token: boolean },
): string | undefined {
  if (isLoopback(addr.hostname) || (security.tls && security.token)) return undefined;
  const where = `serve: warning: listening on ${addr.hostname}:${addr.port}`;
  const open = "anyone who can reach this port can install, run and remove apps";
  const fix = "(see README, Security)";
  if (!security.tls && !security.token) {
    return `${where} with no token and no TLS: ${open}; ` +
      `add --token-file FILE and --tls-cert/--tls-key ${fix}`;
  }
  if (!security.token) {
    return `${where} without a token: TLS hides the traffic, but ${open}; ` +
      `add --token-file FILE ${fix}`;
  }
  return `${where} without TLS: hosts must prove the token, but requests, apps and responses ` +
    `cross the network in clear and can be altered on the way; add --tls-cert/--tls-key ${fix}`;
}
