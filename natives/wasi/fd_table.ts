/**
 * An app's file descriptors: stdio, preopened directories, and what it opens, each with its
 * WASI rights and flags.
 *
 * @module
 */

import { Errno, type FiletypeValue } from "./constants.ts";
import { type WasiDirEntry, type WasiFile, WasiFsError } from "./fs.ts";

/** Where an app's standard input comes from (`Deno.stdin` fits). */
export interface WasiReader {
  /** Reads into `into`; null or 0 at the end. */
  readSync(into: Uint8Array): number | null;
  /** Whether it is a terminal (reported as a character device). */
  isTerminal?(): boolean;
}

/** Where an app's standard output or error goes (`Deno.stderr` fits). */
export interface WasiWriter {
  /** Writes some of `from`; returns how many bytes. */
  writeSync(from: Uint8Array): number;
  /** Whether it is a terminal (reported as a character device). */
  isTerminal?(): boolean;
}

/** One open descriptor. */
export interface FdEntry {
  /** What it is. */
  readonly kind: "stdin" | "stdout" | "stderr" | "file" | "directory";
  /** The WASI file type `fd_fdstat_get` reports. */
  readonly filetype: FiletypeValue;
  /** Rights on this descriptor. */
  rightsBase: number;
  /** Rights that descriptors opened through it may get. */
  rightsInheriting: number;
  /** `fdflags`: append, dsync, nonblock, rsync, sync. */
  flags: number;
  /** Host path of a file or directory ("" for stdio). */
  readonly host: string;
  /** For a directory: how many levels below its preopened directory it lies. */
  readonly depth: number;
  /** The name the app sees for a preopened directory. */
  readonly preopen?: string;
  /** The open file (kind `file`). */
  readonly file?: WasiFile;
  /** The stream (stdio kinds); undefined stdout means the app's own output. */
  readonly reader?: WasiReader;
  /** The stream (stdout, stderr). */
  readonly writer?: WasiWriter;
  /** `fd_readdir`'s listing, read at cookie 0 and reused for later cookies. */
  listing?: WasiDirEntry[];
}

/** At most this many descriptors are open at once (`mfile` past it). */
export const MAX_FDS = 65536;

/** Descriptor numbers to entries; new descriptors take the lowest free number (POSIX). */
export class FdTable {
  readonly #entries: (FdEntry | undefined)[] = [];
  #free = 0;

  /**
   * The entry of a descriptor.
   *
   * @param fd the descriptor (any i32)
   * @returns the entry, or undefined when it is not open
   */
  get(fd: number): FdEntry | undefined {
    return this.#entries[fd >>> 0];
  }

  /**
   * The entry of a descriptor that must be open.
   *
   * @param fd the descriptor
   * @returns the entry
   * @throws {WasiFsError} `badf` when it is not open
   */
  need(fd: number): FdEntry {
    const entry = this.#entries[fd >>> 0];
    if (entry === undefined) throw new WasiFsError(Errno.badf, `fd ${fd >>> 0} is not open`);
    return entry;
  }

  /**
   * Opens a descriptor for an entry.
   *
   * @param entry what the descriptor refers to
   * @returns its number
   * @throws {WasiFsError} `mfile` when too many are open
   */
  add(entry: FdEntry): number {
    let fd = this.#free;
    while (this.#entries[fd] !== undefined) fd++;
    if (fd >= MAX_FDS) throw new WasiFsError(Errno.mfile, "too many open files");
    this.#entries[fd] = entry;
    this.#free = fd + 1;
    return fd;
  }

  /**
   * Closes a descriptor (its file too, unless another descriptor holds the same entry).
   *
   * @param fd the descriptor
   * @throws {WasiFsError} `badf` when it is not open
   */
  close(fd: number): void {
    const entry = this.need(fd);
    this.#entries[fd >>> 0] = undefined;
    if (fd >>> 0 < this.#free) this.#free = fd >>> 0;
    entry.file?.close();
  }

  /**
   * Moves descriptor `from` to number `to`, closing what `to` held.
   *
   * @param from an open descriptor
   * @param to an open descriptor
   * @throws {WasiFsError} `badf` when either is not open
   */
  renumber(from: number, to: number): void {
    const entry = this.need(from);
    this.need(to);
    if (from >>> 0 === to >>> 0) return;
    this.close(to);
    this.#entries[to >>> 0] = entry;
    this.#entries[from >>> 0] = undefined;
    if (from >>> 0 < this.#free) this.#free = from >>> 0;
  }

  /** Closes everything (when the app instance is freed). */
  closeAll(): void {
    for (const entry of this.#entries) entry?.file?.close();
    this.#entries.length = 0;
    this.#free = 0;
  }
}
