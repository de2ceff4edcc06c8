/**
 * One app's WASI state: its descriptors, command line and environment, set up when the app
 * instance is created and released with it.
 *
 * @module
 */

import type { AppHandle } from "../../sdk/native.ts";
import { encodeUtf8 } from "../../sdk/memory.ts";
import { platform } from "../../sdk/platform.ts";
import type { WasiClock } from "./clock.ts";
import {
  DIRECTORY_RIGHTS,
  Errno,
  type ErrnoValue,
  Filetype,
  type FiletypeValue,
  INHERITING_RIGHTS,
  Rights,
} from "./constants.ts";
import { type FdEntry, FdTable, type WasiReader, type WasiWriter } from "./fd_table.ts";
import { type WasiFs, WasiFsError } from "./fs.ts";

/** A host directory the app may use, and the name it sees it under. */
export interface WasiPreopen {
  /** The name the app sees (`/`, `.`, `/data`, …). */
  readonly guest: string;
  /** The host directory. */
  readonly host: string;
}

/** The settings every app of one WASI library shares. */
export interface WasiSettings {
  /** The command line; undefined: the app's name alone. */
  readonly args: readonly string[] | undefined;
  /** The environment; undefined: the app instance's `env`. */
  readonly env: Readonly<Record<string, string>> | undefined;
  /** The preopened directories, descriptors 3, 4, … in order. */
  readonly preopens: readonly WasiPreopen[];
  /** Standard input. */
  readonly stdin: WasiReader;
  /** Standard output; undefined: the app's own output, shared with libc's printf. */
  readonly stdout: WasiWriter | undefined;
  /** Standard error. */
  readonly stderr: WasiWriter;
  /** The file system. */
  readonly fs: WasiFs;
  /** The clocks. */
  readonly clock: WasiClock;
}

const R = Rights;
const STDIN_RIGHTS = R.fd_read | R.fd_fdstat_set_flags | R.fd_filestat_get | R.poll_fd_readwrite;
const STDOUT_RIGHTS = R.fd_write | R.fd_fdstat_set_flags | R.fd_filestat_get |
  R.poll_fd_readwrite;

function _stdioType(
  stream: WasiReader | WasiWriter | undefined,
  app: AppHandle,
): FiletypeValue {
  // wasi-libc line-buffers stdout when it is a character device, so the app's own output
  // (undefined here) is one when the process's stdout is a terminal, and under an app
  // manager: an event-driven app never exits, and a full buffer would hold its lines.
  let terminal = false;
  try {
    terminal = stream
      ? stream.isTerminal?.() ?? false
      : app.framework !== undefined || platform().stdout.isTerminal();
  } catch {
    // a closed or odd stream is no terminal
  }
  return terminal ? Filetype.character_device : Filetype.unknown;
}

/** Strips trailing slashes, keeping `/` itself. */
function _hostDir(host: string): string {
  const trimmed = host.replace(/\/+$/, "");
  return trimmed === "" ? "/" : trimmed;
}

/**
 * The preopened directory itself when `host` is a link to it (`/tmp` on macOS): the sandbox
 * looks at a path's last component without following it, so a root must not be a link.
 */
function _realDir(fs: WasiFs, host: string): string {
  let dir = _hostDir(host);
  for (let hops = 0; hops < 40 && fs.lstat(dir).filetype === Filetype.symbolic_link; hops++) {
    const target = fs.readLink(dir);
    const parent = dir.slice(0, dir.lastIndexOf("/")) || "/";
    dir = _hostDir(target.startsWith("/") ? target : `${parent}/${target}`);
  }
  return dir;
}

function _nulTerminated(text: string): Uint8Array {
  const bytes = encodeUtf8(text);
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  return out;
}

/** The WASI state of one app. */
export class WasiState {
  /** The shared settings. */
  readonly settings: WasiSettings;
  /** The app's descriptors. */
  readonly fds: FdTable = new FdTable();
  /** Each argument as UTF-8 with its NUL. */
  readonly args: readonly Uint8Array[];
  /** Each `KEY=value` as UTF-8 with its NUL. */
  readonly env: readonly Uint8Array[];

  /**
   * Sets up stdio and the preopened directories (descriptors 3, 4, … in order).
   *
   * @param settings the library's settings
   * @param app the app instance
   * @throws {Error} when a preopened directory is missing or not a directory
   */
  constructor(settings: WasiSettings, app: AppHandle) {
    this.settings = settings;
    this.args = (settings.args ?? [app.name]).map(_nulTerminated);
    this.env = Object.entries(settings.env ?? app.env).map(([k, v]) => _nulTerminated(`${k}=${v}`));
    const stdio = (
      kind: "stdin" | "stdout" | "stderr",
      rights: number,
      stream: WasiReader | WasiWriter | undefined,
    ): FdEntry => ({
      kind,
      filetype: _stdioType(stream, app),
      rightsBase: rights,
      rightsInheriting: 0,
      flags: 0,
      host: "",
      depth: 0,
      ...(kind === "stdin" ? { reader: stream as WasiReader } : {}),
      ...(kind !== "stdin" && stream ? { writer: stream as WasiWriter } : {}),
    });
    this.fds.add(stdio("stdin", STDIN_RIGHTS, settings.stdin));
    this.fds.add(stdio("stdout", STDOUT_RIGHTS, settings.stdout));
    this.fds.add(stdio("stderr", STDOUT_RIGHTS, settings.stderr));
    for (const { guest, host } of settings.preopens) {
      let dir: string;
      let isDir: boolean;
      try {
        isDir = settings.fs.stat(host).filetype === Filetype.directory;
        dir = _realDir(settings.fs, host);
      } catch (e) {
        throw new Error(`Cannot preopen "${host}" as "${guest}": ${(e as Error).message}`);
      }
      if (!isDir) throw new Error(`Cannot preopen "${host}" as "${guest}": not a directory`);
      this.fds.add({
        kind: "directory",
        filetype: Filetype.directory,
        rightsBase: DIRECTORY_RIGHTS,
        rightsInheriting: INHERITING_RIGHTS,
        flags: 0,
        host: dir,
        depth: 0,
        preopen: guest,
      });
    }
  }

  /**
   * The entry of an open descriptor holding `rights`.
   *
   * @param fd the descriptor
   * @param rights every right the operation needs
   * @returns the entry
   * @throws {WasiFsError} `badf` when not open, `notcapable` when a right is missing
   */
  need(fd: number, rights: number): FdEntry {
    const entry = this.fds.need(fd);
    if ((entry.rightsBase & rights) !== rights) {
      throw new WasiFsError(Errno.notcapable, `fd ${fd >>> 0} lacks the rights`);
    }
    return entry;
  }

  /**
   * The directory entry of `fd` for a path operation needing `rights`.
   *
   * @param fd the descriptor
   * @param rights the rights the operation needs on the directory
   * @returns the entry
   * @throws {WasiFsError} `badf`, `notdir` for a non-directory, `notcapable`
   */
  dir(fd: number, rights: number): FdEntry {
    const entry = this.fds.need(fd);
    if (entry.kind !== "directory") {
      throw new WasiFsError(Errno.notdir, `fd ${fd >>> 0} is not a directory`);
    }
    if ((entry.rightsBase & rights) !== rights) {
      throw new WasiFsError(Errno.notcapable, `fd ${fd >>> 0} lacks the rights`);
    }
    return entry;
  }

  /** Closes every descriptor. */
  dispose(): void {
    this.fds.closeAll();
  }
}

/**
 * The errno for what a native caught: file system errors carry theirs; traps (and
 * `proc_exit`) and programming errors are thrown on.
 *
 * @param error what was caught
 * @returns the errno to return to the app
 */
export function errnoOf(error: unknown): ErrnoValue {
  if (error instanceof WasiFsError) return error.errno as ErrnoValue;
  if (!(error instanceof Error)) throw error;
  const errno = _STREAM_ERRNOS[error.name] ?? _STREAM_ERRNOS[String(_code(error))];
  if (errno !== undefined) return errno;
  const code = _code(error);
  if (_IO_ERRORS.has(error.name) || (typeof code === "string" && /^E[A-Z]+$/.test(code))) {
    return Errno.io;
  }
  throw error;
}

function _code(error: Error): unknown {
  return (error as { code?: unknown }).code;
}

// What a platform's streams throw, by the class names of Deno's errors and by Node.js's codes.
const _STREAM_ERRNOS: Readonly<Record<string, ErrnoValue>> = {
  BrokenPipe: Errno.pipe,
  EPIPE: Errno.pipe,
  Interrupted: Errno.intr,
  EINTR: Errno.intr,
  WouldBlock: Errno.again,
  EAGAIN: Errno.again,
  BadResource: Errno.badf,
  EBADF: Errno.badf,
  NotCapable: Errno.notcapable,
};

// The rest of Deno's I/O error classes (`Deno.errors`); Node.js's carry a code instead.
const _IO_ERRORS: ReadonlySet<string> = new Set([
  "NotFound",
  "PermissionDenied",
  "ConnectionRefused",
  "ConnectionReset",
  "ConnectionAborted",
  "NotConnected",
  "AddrInUse",
  "AddrNotAvailable",
  "AlreadyExists",
  "InvalidData",
  "TimedOut",
  "WriteZero",
  "UnexpectedEof",
  "Http",
  "Busy",
  "NotSupported",
  "FilesystemLoop",
  "IsADirectory",
  "NetworkUnreachable",
  "NotADirectory",
]);
