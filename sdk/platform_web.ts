/**
 * The platform of the browser build, for web pages and Node.js ≥ 20: `deno task bundle`
 * puts this module where `platform_deno.ts` is imported. In Node.js the standard streams and
 * files are the process's own (through `process.getBuiltinModule`, Node.js 20.16 and later,
 * so the bundle imports no `node:` module a browser would choke on; an older Node.js is
 * treated as a browser); in a browser standard output and error go to the console a line at
 * a time, files are fetched relative to the page, and standard input
 * is empty. Neither opens TCP connections: a page reaches a runtime over a WebSocket
 * (`sdk/ws_transport.ts`). Pages pass their own sinks to the runtime and plugins for anything
 * visible.
 *
 * @module
 */

import type { Platform, PlatformInput, PlatformOutput } from "./platform.ts";

interface _NodeStream {
  isTTY?: boolean;
  columns?: number;
  rows?: number;
  fd?: number;
}

interface _NodeFs {
  writeSync(fd: number, bytes: Uint8Array, offset: number, length: number): number;
  readSync(fd: number, into: Uint8Array, offset: number, length: number): number;
  readFileSync(path: string | URL, encoding: "utf8"): string;
}

interface _NodeProcess {
  versions: { node?: string };
  stdin: _NodeStream;
  stdout: _NodeStream;
  stderr: _NodeStream;
  getBuiltinModule?(name: string): unknown;
}

function _noSockets(): Promise<never> {
  return Promise.reject(
    new Error(
      "The browser build opens no TCP connections: reach a runtime over a WebSocket " +
        "(serve --ws PORT, webSocketTransport)",
    ),
  );
}

function _nodeProcess(): _NodeProcess | undefined {
  const process = (globalThis as { process?: _NodeProcess }).process;
  return process?.versions?.node !== undefined && process.getBuiltinModule ? process : undefined;
}

function _nodeOutput(fs: _NodeFs, stream: _NodeStream, fd: number): PlatformOutput {
  return {
    // Synchronous like Deno's writeSync: output keeps its order with a trap line or exit.
    write: function writeAll(bytes: Uint8Array): void {
      let off = 0;
      while (off < bytes.length) {
        try {
          off += fs.writeSync(fd, bytes, off, bytes.length - off);
        } catch (e) {
          // A non-blocking pipe that is full: try again (the reader is draining it).
          if ((e as { code?: string }).code !== "EAGAIN") throw e;
        }
      }
    },
    isTerminal: () => stream.isTTY === true,
    size: () =>
      stream.isTTY && stream.columns && stream.rows
        ? { columns: stream.columns, rows: stream.rows }
        : undefined,
  };
}

function _nodePlatform(process: _NodeProcess): Platform {
  const fs = process.getBuiltinModule!("node:fs") as _NodeFs;
  const fsp = process.getBuiltinModule!("node:fs/promises") as {
    readFile(path: string | URL): Promise<Uint8Array>;
  };
  const stdin: PlatformInput = {
    readSync: function readStdin(into: Uint8Array): number | null {
      try {
        return fs.readSync(0, into, 0, into.length);
      } catch (e) {
        if ((e as { code?: string }).code === "EOF") return 0;
        throw e;
      }
    },
    isTerminal: () => process.stdin.isTTY === true,
  };
  return {
    name: "node",
    stdin,
    stdout: _nodeOutput(fs, process.stdout, 1),
    stderr: _nodeOutput(fs, process.stderr, 2),
    readFile: async (path) => new Uint8Array(await fsp.readFile(path)),
    readTextFileSync: (path) => fs.readFileSync(path, "utf8"),
    connect: _noSockets,
    // Node.js's timers are objects with `unref`.
    unrefTimer: (timer) => (timer as unknown as { unref?: () => void }).unref?.(),
  };
}

/** Writes to the console a whole line at a time, keeping a partial line until its end. */
function _consoleOutput(print: (line: string) => void): PlatformOutput {
  const decoder = new TextDecoder();
  let pending = "";
  return {
    write: function writeLines(bytes: Uint8Array): void {
      pending += decoder.decode(bytes, { stream: true });
      const end = pending.lastIndexOf("\n");
      if (end < 0) return;
      for (const line of pending.slice(0, end).split("\n")) print(line);
      pending = pending.slice(end + 1);
    },
    isTerminal: () => false,
    size: () => undefined,
  };
}

function _browserPlatform(): Platform {
  const noFiles = (path: string | URL): never => {
    throw new Error(`Cannot read "${String(path)}": a web page has no file system`);
  };
  return {
    name: "browser",
    stdin: { readSync: () => 0, isTerminal: () => false },
    stdout: _consoleOutput((line) => console.log(line)),
    stderr: _consoleOutput((line) => console.error(line)),
    readFile: async function fetchFile(path: string | URL): Promise<Uint8Array> {
      const response = await fetch(path);
      if (!response.ok) {
        await response.body?.cancel();
        throw new Error(`HTTP ${response.status} ${response.statusText}`);
      }
      return new Uint8Array(await response.arrayBuffer());
    },
    readTextFileSync: noFiles,
    connect: _noSockets,
    unrefTimer: () => {},
  };
}

/** Node.js's streams and files when running under Node.js, else the browser's console. */
export const defaultPlatform: Platform = ((): Platform => {
  const process = _nodeProcess();
  return process ? _nodePlatform(process) : _browserPlatform();
})();
