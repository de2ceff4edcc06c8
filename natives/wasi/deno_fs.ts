/**
 * The WASI file system on Deno's synchronous file APIs: only what the sandbox asks for is
 * touched, so `--allow-read=DIR --allow-write=DIR` scoped to the preopened directories is
 * enough. Timestamps have Deno's millisecond resolution.
 *
 * @module
 */

import { Errno, Filetype, type FiletypeValue } from "./constants.ts";
import {
  type WasiDirEntry,
  type WasiFile,
  type WasiFs,
  WasiFsError,
  type WasiOpenOptions,
  type WasiStat,
  type WasiTimes,
} from "./fs.ts";

/**
 * The WASI errno for an error a Deno file API threw: by its POSIX code (`ENOENT` →
 * `noent`), then by class; Deno's own permission refusal is `notcapable`.
 *
 * @param error what was thrown
 * @returns the errno value
 */
export function errnoOfDenoError(error: unknown): number {
  if (error instanceof WasiFsError) return error.errno;
  if (error instanceof Deno.errors.NotCapable) return Errno.notcapable;
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === "string" && code.startsWith("E")) {
    if (code === "EOPNOTSUPP") return Errno.notsup;
    if (code === "EWOULDBLOCK") return Errno.again;
    const errno = (Errno as Record<string, number>)[code.slice(1).toLowerCase()];
    if (errno !== undefined) return errno;
  }
  if (error instanceof Deno.errors.NotFound) return Errno.noent;
  if (error instanceof Deno.errors.PermissionDenied) return Errno.acces;
  if (error instanceof Deno.errors.AlreadyExists) return Errno.exist;
  if (error instanceof Deno.errors.IsADirectory) return Errno.isdir;
  if (error instanceof Deno.errors.NotADirectory) return Errno.notdir;
  if (error instanceof Deno.errors.FilesystemLoop) return Errno.loop;
  if (error instanceof Deno.errors.BadResource) return Errno.badf;
  return Errno.io;
}

function _fail(error: unknown): never {
  if (error instanceof WasiFsError) throw error;
  throw new WasiFsError(errnoOfDenoError(error), (error as Error)?.message ?? String(error));
}

function _ns(date: Date | null): bigint {
  return date === null ? 0n : BigInt(date.getTime()) * 1_000_000n;
}

function _filetype(info: Deno.FileInfo): FiletypeValue {
  if (info.isFile) return Filetype.regular_file;
  if (info.isDirectory) return Filetype.directory;
  if (info.isSymlink) return Filetype.symbolic_link;
  if (info.isCharDevice) return Filetype.character_device;
  if (info.isBlockDevice) return Filetype.block_device;
  if (info.isSocket) return Filetype.socket_stream;
  return Filetype.unknown;
}

/**
 * Converts Deno's file info to WASI's.
 *
 * @param info what `Deno.lstatSync` or `FsFile.statSync` returned
 * @returns the WASI status
 */
export function wasiStatOf(info: Deno.FileInfo): WasiStat {
  return {
    filetype: _filetype(info),
    dev: BigInt(info.dev),
    ino: BigInt(info.ino ?? 0),
    nlink: BigInt(info.nlink ?? 1),
    size: BigInt(info.size),
    atim: _ns(info.atime),
    mtim: _ns(info.mtime),
    ctim: _ns(info.ctime ?? info.mtime),
  };
}

// Deno rounds a Date to whole milliseconds exactly, where a float of seconds may lose one.
function _date(ns: bigint): Date {
  return new Date(Number(ns / 1_000_000n));
}

function _times(times: WasiTimes, current: () => WasiStat): [Date, Date] {
  const now = times.atim === undefined || times.mtim === undefined ? current() : undefined;
  return [_date(times.atim ?? now!.atim), _date(times.mtim ?? now!.mtim)];
}

class _DenoFile implements WasiFile {
  readonly #file: Deno.FsFile;

  constructor(file: Deno.FsFile) {
    this.#file = file;
  }

  read(into: Uint8Array): number {
    try {
      return this.#file.readSync(into) ?? 0;
    } catch (e) {
      _fail(e);
    }
  }

  write(from: Uint8Array): number {
    try {
      return this.#file.writeSync(from);
    } catch (e) {
      _fail(e);
    }
  }

  pread(into: Uint8Array, offset: number): number {
    return this.#at(offset, () => {
      let done = 0;
      while (done < into.length) {
        const n = this.#file.readSync(into.subarray(done));
        if (n === null || n === 0) break;
        done += n;
      }
      return done;
    });
  }

  pwrite(from: Uint8Array, offset: number): number {
    return this.#at(offset, () => {
      let done = 0;
      while (done < from.length) done += this.#file.writeSync(from.subarray(done));
      return done;
    });
  }

  // Deno has no pread/pwrite: move, do, and move back.
  #at(offset: number, fn: () => number): number {
    try {
      const position = this.#file.seekSync(0, Deno.SeekMode.Current);
      this.#file.seekSync(offset, Deno.SeekMode.Start);
      try {
        return fn();
      } finally {
        this.#file.seekSync(position, Deno.SeekMode.Start);
      }
    } catch (e) {
      _fail(e);
    }
  }

  seek(offset: number, whence: 0 | 1 | 2): number {
    try {
      return this.#file.seekSync(offset, whence);
    } catch (e) {
      _fail(e);
    }
  }

  stat(): WasiStat {
    try {
      return wasiStatOf(this.#file.statSync());
    } catch (e) {
      _fail(e);
    }
  }

  truncate(size: number): void {
    try {
      this.#file.truncateSync(size);
    } catch (e) {
      _fail(e);
    }
  }

  setTimes(times: WasiTimes): void {
    try {
      const [atime, mtime] = _times(times, () => this.stat());
      this.#file.utimeSync(atime, mtime);
    } catch (e) {
      _fail(e);
    }
  }

  sync(): void {
    try {
      this.#file.syncSync();
    } catch (e) {
      _fail(e);
    }
  }

  datasync(): void {
    try {
      this.#file.syncDataSync();
    } catch (e) {
      _fail(e);
    }
  }

  close(): void {
    try {
      this.#file.close();
    } catch {
      // already closed: nothing left to release
    }
  }
}

function _open(path: string, o: WasiOpenOptions): Deno.FsFile {
  if (o.write) {
    return Deno.openSync(path, {
      read: o.read,
      write: true,
      create: o.create,
      createNew: o.create && o.exclusive,
      truncate: o.truncate,
    });
  }
  // Deno creates and truncates only files it opens for writing; do those steps apart so that
  // a descriptor without write rights stays read-only on the host too.
  if (o.create) {
    try {
      Deno.openSync(path, { write: true, createNew: true }).close();
    } catch (e) {
      if (o.exclusive || !(e instanceof Deno.errors.AlreadyExists)) throw e;
    }
  }
  if (o.truncate) Deno.truncateSync(path, 0);
  return Deno.openSync(path, { read: true });
}

function _call<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    _fail(e);
  }
}

/**
 * The default WASI file system: Deno's synchronous file APIs on host paths.
 *
 * @example Status of a directory
 * ```ts
 * import assert from "node:assert/strict";
 * import { denoFs } from "./deno_fs.ts";
 * import { Filetype } from "./constants.ts";
 * const dir = Deno.makeTempDirSync();
 * assert.equal(denoFs.lstat(dir).filetype, Filetype.directory);
 * Deno.removeSync(dir);
 * ```
 */
export const denoFs: WasiFs = {
  lstat: (path) => _call(() => wasiStatOf(Deno.lstatSync(path))),
  stat: (path) => _call(() => wasiStatOf(Deno.statSync(path))),
  open: (path, options) => _call(() => new _DenoFile(_open(path, options))),
  readDir(path: string): WasiDirEntry[] {
    return _call(() => {
      const entries: WasiDirEntry[] = [];
      for (const entry of Deno.readDirSync(path)) {
        let stat: WasiStat | undefined;
        try {
          stat = wasiStatOf(Deno.lstatSync(`${path}/${entry.name}`));
        } catch {
          continue; // removed since the listing was read
        }
        entries.push({ name: entry.name, filetype: stat.filetype, ino: stat.ino });
      }
      return entries;
    });
  },
  mkdir: (path) => _call(() => Deno.mkdirSync(path)),
  rmdir: (path) => _call(() => Deno.removeSync(path)),
  unlink: (path) => _call(() => Deno.removeSync(path)),
  rename: (from, to) => _call(() => Deno.renameSync(from, to)),
  link: (from, to) => _call(() => Deno.linkSync(from, to)),
  symlink: (target, path) => _call(() => Deno.symlinkSync(target, path)),
  readLink: (path) => _call(() => Deno.readLinkSync(path)),
  setTimes(path: string, times: WasiTimes): void {
    _call(() => {
      const [atime, mtime] = _times(times, () => wasiStatOf(Deno.statSync(path)));
      Deno.utimeSync(path, atime, mtime);
    });
  },
};
