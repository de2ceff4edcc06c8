/**
 * What the runtime needs from the machine it runs on, as one small interface: standard
 * streams, reading files, TCP connections, and letting a timer not hold the process open. Under Deno the
 * default is Deno's own APIs; the browser build (`deno task bundle`) puts a browser and
 * Node.js implementation in its place, so the runtime, framework and plugins carry no Deno
 * API into a web page. Clocks and randomness need nothing here: `performance.now`,
 * `setTimeout` and `crypto.getRandomValues` are the same everywhere (and the framework's
 * {@linkcode Clock} and WASI's clock are injected where tests need them).
 *
 * @module
 */

import type { ConnTransport } from "./host_link.ts";
import { defaultPlatform } from "./platform_deno.ts";

/** A stream the process writes to: standard output or standard error. */
export interface PlatformOutput {
  /**
   * Writes all of `bytes` before returning, in order with earlier writes.
   *
   * @param bytes what to write
   */
  write(bytes: Uint8Array): void;
  /**
   * Whether it is a terminal (app output is then line-buffered).
   *
   * @returns true for a terminal
   */
  isTerminal(): boolean;
  /**
   * The terminal's size in character cells.
   *
   * @returns columns and rows, or undefined when it is no terminal or does not say
   */
  size(): { columns: number; rows: number } | undefined;
}

/** Standard input. */
export interface PlatformInput {
  /**
   * Reads what is available into `into`, blocking until something is.
   *
   * @param into where to put the bytes
   * @returns how many bytes were read; null or 0 at the end
   */
  readSync(into: Uint8Array): number | null;
  /**
   * Whether it is a terminal.
   *
   * @returns true for a terminal
   */
  isTerminal(): boolean;
}

/** Where {@linkcode Platform.connect} connects. */
export interface PlatformConnectOptions {
  /** The host name or address. */
  hostname: string;
  /** The TCP port. */
  port: number;
  /** Speak TLS, checking the certificate against `hostname`. */
  tls?: boolean;
  /** PEM certificates to trust besides the system's (TLS only). */
  caCerts?: string[];
}

/** The machine's services the runtime uses; see the module documentation. */
export interface Platform {
  /** Which implementation this is: `"deno"`, `"node"` or `"browser"`. */
  readonly name: string;
  /** Standard input. */
  readonly stdin: PlatformInput;
  /** Standard output. */
  readonly stdout: PlatformOutput;
  /** Standard error. */
  readonly stderr: PlatformOutput;
  /**
   * Reads a whole file.
   *
   * @param path a file path or a `file:` URL
   * @returns its bytes
   */
  readFile(path: string | URL): Promise<Uint8Array>;
  /**
   * Reads a whole text file at once (plugin option files given on a command line).
   *
   * @param path a file path
   * @returns its text, decoded as UTF-8
   */
  readTextFileSync(path: string): string;
  /**
   * Opens a TCP connection (TLS with `tls`), handshake done: the host link's client side.
   * Pages have none and say so; they reach a runtime over a WebSocket instead
   * (`sdk/ws_transport.ts`).
   *
   * @param options where to connect and how
   * @returns the open connection
   */
  connect(options: PlatformConnectOptions): Promise<ConnTransport>;
  /**
   * Lets a pending timer not keep the process alive (a no-op where nothing does).
   *
   * @param timer what `setTimeout` returned
   */
  unrefTimer(timer: ReturnType<typeof setTimeout>): void;
}

let _current: Platform = defaultPlatform;

/**
 * The platform in use: Deno's under Deno, the browser's or Node.js's in the bundle, or what
 * {@linkcode setPlatform} installed.
 *
 * @returns the platform
 *
 * @example Ask whether standard output is a terminal
 * ```ts
 * import assert from "node:assert/strict";
 * import { platform } from "./platform.ts";
 * assert.equal(platform().name, "deno");
 * assert.equal(typeof platform().stdout.isTerminal(), "boolean");
 * ```
 */
export function platform(): Platform {
  return _current;
}

/**
 * Replaces the platform for everything created from now on (an embedder with its own
 * consoles or files). Runtimes and libraries read it when they need a default.
 *
 * @param next the new platform
 * @returns the one it replaced, to put back later
 *
 * @example Capture what would go to standard error
 * ```ts
 * import assert from "node:assert/strict";
 * import { platform, setPlatform } from "./platform.ts";
 * import { writeStderr } from "./output.ts";
 * const seen: string[] = [];
 * const stderr = {
 *   write: (b: Uint8Array) => void seen.push(new TextDecoder().decode(b)),
 *   isTerminal: () => false,
 *   size: () => undefined,
 * };
 * const previous = setPlatform({ ...platform(), stderr });
 * try {
 *   writeStderr("careful\n");
 * } finally {
 *   setPlatform(previous);
 * }
 * assert.deepEqual(seen, ["careful\n"]);
 * ```
 */
export function setPlatform(next: Platform): Platform {
  const previous = _current;
  _current = next;
  return previous;
}
