/**
 * The file system behind the WASI natives, as a small synchronous interface: the Deno one
 * ({@linkcode denoFs}) is the default, and a browser build can pass an in-memory one.
 *
 * Paths given to it are host paths the sandbox has already resolved: every component but
 * the last is a real directory, no symbolic link is left to follow except where a method
 * says so, and nothing lies outside a preopened directory. Failures throw
 * {@linkcode WasiFsError} with the WASI errno.
 *
 * @module
 */

import type { FiletypeValue } from "./constants.ts";

/** What `stat` reports, in WASI's units (nanoseconds, bytes). */
export interface WasiStat {
  /** The file's type. */
  readonly filetype: FiletypeValue;
  /** Device ID. */
  readonly dev: bigint;
  /** Inode number. */
  readonly ino: bigint;
  /** Number of hard links. */
  readonly nlink: bigint;
  /** Size in bytes. */
  readonly size: bigint;
  /** Last access, nanoseconds since the epoch. */
  readonly atim: bigint;
  /** Last modification, nanoseconds since the epoch. */
  readonly mtim: bigint;
  /** Last status change, nanoseconds since the epoch. */
  readonly ctim: bigint;
}

/** One directory entry (without `.` and `..`). */
export interface WasiDirEntry {
  /** The entry's name. */
  readonly name: string;
  /** Its type, not following symbolic links. */
  readonly filetype: FiletypeValue;
  /** Its inode number (0 when unknown). */
  readonly ino: bigint;
}

/** How {@linkcode WasiFs.open} opens a file. */
export interface WasiOpenOptions {
  /** Open for reading. */
  read: boolean;
  /** Open for writing. */
  write: boolean;
  /** Create the file when it does not exist. */
  create: boolean;
  /** Fail with `exist` when it does. */
  exclusive: boolean;
  /** Truncate it to 0 bytes. */
  truncate: boolean;
}

/** Timestamps to set: nanoseconds since the epoch, or undefined to keep the current one. */
export interface WasiTimes {
  /** New access time. */
  readonly atim: bigint | undefined;
  /** New modification time. */
  readonly mtim: bigint | undefined;
}

/** An open regular file. */
export interface WasiFile {
  /** Reads at the current position; returns 0 at the end. */
  read(into: Uint8Array): number;
  /** Writes at the current position; returns the bytes written. */
  write(from: Uint8Array): number;
  /** Reads at `offset` without moving the position. */
  pread(into: Uint8Array, offset: number): number;
  /** Writes at `offset` without moving the position. */
  pwrite(from: Uint8Array, offset: number): number;
  /** Moves the position; `whence` 0 set, 1 current, 2 end. Returns the new position. */
  seek(offset: number, whence: 0 | 1 | 2): number;
  /** The file's status. */
  stat(): WasiStat;
  /** Sets the size, extending with zeros. */
  truncate(size: number): void;
  /** Sets timestamps. */
  setTimes(times: WasiTimes): void;
  /** Flushes data and metadata. */
  sync(): void;
  /** Flushes data. */
  datasync(): void;
  /** Releases the file. */
  close(): void;
}

/** The file system operations the natives use. */
export interface WasiFs {
  /** Status of `path`, not following a final symbolic link. */
  lstat(path: string): WasiStat;
  /** Status of `path` following symbolic links (used only for the preopened directories). */
  stat(path: string): WasiStat;
  /** Opens a regular file or creates one; `path` is never a directory or a link here. */
  open(path: string, options: WasiOpenOptions): WasiFile;
  /** The entries of a directory. */
  readDir(path: string): WasiDirEntry[];
  /** Creates a directory. */
  mkdir(path: string): void;
  /** Removes an empty directory. */
  rmdir(path: string): void;
  /** Removes a file or symbolic link (never a directory). */
  unlink(path: string): void;
  /** Renames, replacing the target where POSIX `rename` does. */
  rename(from: string, to: string): void;
  /** Makes a hard link `to` for `from` (not following a link at `from`). */
  link(from: string, to: string): void;
  /** Makes a symbolic link at `path` holding `target`. */
  symlink(target: string, path: string): void;
  /** The target text of a symbolic link. */
  readLink(path: string): string;
  /** Sets the timestamps of the file at `path` (not a symbolic link). */
  setTimes(path: string, times: WasiTimes): void;
}

/** A file system failure carrying its WASI errno. */
export class WasiFsError extends Error {
  /** Always `"WasiFsError"`. */
  override name = "WasiFsError";
  /** The WASI errno value. */
  readonly errno: number;

  /**
   * Creates the error.
   *
   * @param errno the WASI errno value
   * @param message what failed
   */
  constructor(errno: number, message = `WASI errno ${errno}`) {
    super(message);
    this.errno = errno;
  }
}
