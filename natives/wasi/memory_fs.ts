/**
 * A WASI file system held in memory: directories, files, hard and symbolic links with POSIX
 * errors, for the browser build and for apps that must not touch the host's disk. Fill it
 * before the app runs ({@linkcode MemoryFs.writeFile}, {@linkcode MemoryFs.mkdirp}), preopen
 * a directory of it, and read what the app left ({@linkcode MemoryFs.readFile}).
 *
 * @module
 */

import { Errno, Filetype } from "./constants.ts";
import {
  type WasiDirEntry,
  type WasiFile,
  type WasiFs,
  WasiFsError,
  type WasiOpenOptions,
  type WasiStat,
  type WasiTimes,
} from "./fs.ts";

interface _Times {
  atim: bigint;
  mtim: bigint;
  ctim: bigint;
}

interface _Dir extends _Times {
  readonly kind: "dir";
  readonly ino: bigint;
  readonly entries: Map<string, _Node>;
  parent: _Dir;
}

interface _File extends _Times {
  readonly kind: "file";
  readonly ino: bigint;
  data: Uint8Array;
  size: number;
  nlink: number;
}

interface _Link extends _Times {
  readonly kind: "link";
  readonly ino: bigint;
  readonly target: string;
  nlink: number;
}

type _Node = _Dir | _File | _Link;

const _MAX_HOPS = 40;

function _fail(errno: number, what: string, path: string): never {
  const name = Object.entries(Errno).find(([, v]) => v === errno)?.[0] ?? String(errno);
  throw new WasiFsError(errno, `${what} "${path}": ${name}`);
}

function _parts(path: string): string[] {
  return path.split("/").filter((p) => p !== "" && p !== ".");
}

class _MemoryFile implements WasiFile {
  readonly #fs: MemoryFs;
  readonly #node: _File;
  #position = 0;

  constructor(fs: MemoryFs, node: _File) {
    this.#fs = fs;
    this.#node = node;
  }

  read(into: Uint8Array): number {
    const n = this.pread(into, this.#position);
    this.#position += n;
    return n;
  }

  write(from: Uint8Array): number {
    const n = this.pwrite(from, this.#position);
    this.#position += n;
    return n;
  }

  pread(into: Uint8Array, offset: number): number {
    const node = this.#node;
    if (offset >= node.size) return 0;
    const n = Math.min(into.length, node.size - offset);
    into.set(node.data.subarray(offset, offset + n));
    node.atim = this.#fs.now();
    return n;
  }

  pwrite(from: Uint8Array, offset: number): number {
    const end = offset + from.length;
    _ensure(this.#node, end);
    this.#node.data.set(from, offset);
    if (end > this.#node.size) this.#node.size = end;
    this.#node.mtim = this.#node.ctim = this.#fs.now();
    return from.length;
  }

  seek(offset: number, whence: 0 | 1 | 2): number {
    const base = whence === 0 ? 0 : whence === 1 ? this.#position : this.#node.size;
    const next = base + offset;
    if (next < 0) throw new WasiFsError(Errno.inval, `Seek to ${next} before the start`);
    this.#position = next;
    return next;
  }

  stat(): WasiStat {
    return _stat(this.#node);
  }

  truncate(size: number): void {
    _ensure(this.#node, size);
    this.#node.data.fill(0, Math.min(size, this.#node.size));
    this.#node.size = size;
    this.#node.mtim = this.#node.ctim = this.#fs.now();
  }

  setTimes(times: WasiTimes): void {
    _setTimes(this.#node, times, this.#fs.now());
  }

  sync(): void {}

  datasync(): void {}

  close(): void {}
}

function _ensure(node: _File, size: number): void {
  if (size <= node.data.length) return;
  const data = new Uint8Array(Math.max(size, node.data.length * 2, 64));
  data.set(node.data.subarray(0, node.size));
  node.data = data;
}

function _stat(node: _Node): WasiStat {
  return {
    filetype: node.kind === "dir"
      ? Filetype.directory
      : node.kind === "file"
      ? Filetype.regular_file
      : Filetype.symbolic_link,
    dev: 1n,
    ino: node.ino,
    nlink: BigInt(node.kind === "dir" ? 2 : node.nlink),
    size: BigInt(
      node.kind === "file" ? node.size : node.kind === "link" ? node.target.length : 4096,
    ),
    atim: node.atim,
    mtim: node.mtim,
    ctim: node.ctim,
  };
}

function _setTimes(node: _Node, times: WasiTimes, now: bigint): void {
  if (times.atim !== undefined) node.atim = times.atim;
  if (times.mtim !== undefined) node.mtim = times.mtim;
  node.ctim = now;
}

/**
 * An in-memory file system with one root directory, `/`.
 *
 * @example Give an app a directory of its own and read what it wrote
 * ```ts
 * import assert from "node:assert/strict";
 * import { MemoryFs } from "./memory_fs.ts";
 * const fs = new MemoryFs();
 * fs.writeFile("/data/in.txt", "hello");
 * const file = fs.open("/data/out.txt", {
 *   read: false, write: true, create: true, exclusive: true, truncate: false,
 * });
 * file.write(new TextEncoder().encode("bye"));
 * assert.equal(fs.readTextFile("/data/out.txt"), "bye");
 * assert.deepEqual(fs.readDir("/data").map((e) => e.name).sort(), ["in.txt", "out.txt"]);
 * ```
 */
export class MemoryFs implements WasiFs {
  readonly #root: _Dir;
  #nextIno = 1n;
  readonly #clock: () => number;

  /**
   * Creates an empty file system.
   *
   * @param clock milliseconds since the epoch for timestamps (default `Date.now`)
   */
  constructor(clock: () => number = Date.now) {
    this.#clock = clock;
    const now = this.now();
    const root = { kind: "dir", ino: this.#nextIno++, entries: new Map(), atim: now } as _Dir;
    root.mtim = root.ctim = now;
    root.parent = root;
    this.#root = root;
  }

  /**
   * The current time for timestamps.
   *
   * @returns nanoseconds since the epoch
   */
  now(): bigint {
    return BigInt(Math.round(this.#clock())) * 1_000_000n;
  }

  /**
   * Creates a directory and any missing parents (`mkdir -p`).
   *
   * @param path an absolute path
   * @throws {WasiFsError} `notdir` when a component is a file
   */
  mkdirp(path: string): void {
    let dir = this.#root;
    for (const name of _parts(path)) {
      const next = dir.entries.get(name);
      if (next === undefined) dir = this.#addDir(dir, name);
      else if (next.kind === "dir") dir = next;
      else _fail(Errno.notdir, "Cannot create directory", path);
    }
  }

  /**
   * Writes a whole file, creating it and its parent directories, replacing what was there.
   *
   * @param path an absolute path
   * @param data bytes, or text written as UTF-8
   */
  writeFile(path: string, data: Uint8Array | string): void {
    const parts = _parts(path);
    const name = parts.pop();
    if (name === undefined) _fail(Errno.isdir, "Cannot write", path);
    this.mkdirp(parts.join("/"));
    const file = this.open(path, {
      read: false,
      write: true,
      create: true,
      exclusive: false,
      truncate: true,
    });
    file.write(typeof data === "string" ? new TextEncoder().encode(data) : data);
  }

  /**
   * Reads a whole file (following symbolic links).
   *
   * @param path an absolute path
   * @returns a copy of its bytes
   * @throws {WasiFsError} `noent` when it does not exist, `isdir` for a directory
   */
  readFile(path: string): Uint8Array {
    const node = this.#resolve(path, true);
    if (node.kind !== "file") _fail(Errno.isdir, "Cannot read", path);
    return node.data.slice(0, node.size);
  }

  /**
   * Reads a whole file as UTF-8 text.
   *
   * @param path an absolute path
   * @returns its text
   */
  readTextFile(path: string): string {
    return new TextDecoder().decode(this.readFile(path));
  }

  lstat(path: string): WasiStat {
    return _stat(this.#resolve(path, false));
  }

  stat(path: string): WasiStat {
    return _stat(this.#resolve(path, true));
  }

  open(path: string, o: WasiOpenOptions): WasiFile {
    const [dir, name] = this.#parent(path);
    let node = dir.entries.get(name);
    if (node !== undefined) {
      if (o.create && o.exclusive) _fail(Errno.exist, "Cannot create", path);
      if (node.kind === "link") node = this.#resolve(path, true);
      if (node.kind === "dir") _fail(Errno.isdir, "Cannot open", path);
    } else {
      if (!o.create) _fail(Errno.noent, "Cannot open", path);
      const now = this.now();
      node = {
        kind: "file",
        ino: this.#nextIno++,
        data: new Uint8Array(0),
        size: 0,
        nlink: 1,
        atim: now,
        mtim: now,
        ctim: now,
      };
      dir.entries.set(name, node);
      dir.mtim = dir.ctim = now;
    }
    const file = new _MemoryFile(this, node as _File);
    if (o.truncate) file.truncate(0);
    return file;
  }

  readDir(path: string): WasiDirEntry[] {
    const dir = this.#resolve(path, true);
    if (dir.kind !== "dir") _fail(Errno.notdir, "Cannot list", path);
    return [...dir.entries].map(([name, node]) => ({
      name,
      filetype: _stat(node).filetype,
      ino: node.ino,
    }));
  }

  mkdir(path: string): void {
    const [dir, name] = this.#parent(path);
    if (dir.entries.has(name)) _fail(Errno.exist, "Cannot create directory", path);
    this.#addDir(dir, name);
  }

  rmdir(path: string): void {
    const [dir, name] = this.#parent(path);
    const node = dir.entries.get(name);
    if (node === undefined) _fail(Errno.noent, "Cannot remove", path);
    if (node.kind !== "dir") _fail(Errno.notdir, "Cannot remove", path);
    if (node.entries.size > 0) _fail(Errno.notempty, "Cannot remove", path);
    dir.entries.delete(name);
    dir.mtim = dir.ctim = this.now();
  }

  unlink(path: string): void {
    const [dir, name] = this.#parent(path);
    const node = dir.entries.get(name);
    if (node === undefined) _fail(Errno.noent, "Cannot remove", path);
    if (node.kind === "dir") _fail(Errno.isdir, "Cannot remove", path);
    dir.entries.delete(name);
    node.nlink--;
    dir.mtim = dir.ctim = node.ctim = this.now();
  }

  rename(from: string, to: string): void {
    const [fromDir, fromName] = this.#parent(from);
    const node = fromDir.entries.get(fromName);
    if (node === undefined) _fail(Errno.noent, "Cannot rename", from);
    const [toDir, toName] = this.#parent(to);
    const target = toDir.entries.get(toName);
    if (target === node) return;
    if (node.kind === "dir") {
      // A directory cannot move below itself.
      for (let d = toDir;; d = d.parent) {
        if (d === node) _fail(Errno.inval, "Cannot move a directory into itself", to);
        if (d === d.parent) break;
      }
      if (target !== undefined && target.kind !== "dir") _fail(Errno.notdir, "Cannot rename", to);
      if (target?.kind === "dir" && target.entries.size > 0) {
        _fail(Errno.notempty, "Cannot rename", to);
      }
      node.parent = toDir;
    } else if (target?.kind === "dir") {
      _fail(Errno.isdir, "Cannot rename", to);
    } else if (target !== undefined) {
      target.nlink--;
    }
    fromDir.entries.delete(fromName);
    toDir.entries.set(toName, node);
    const now = this.now();
    fromDir.mtim =
      fromDir.ctim =
      toDir.mtim =
      toDir.ctim =
      node.ctim =
        now;
  }

  link(from: string, to: string): void {
    const node = this.#resolve(from, false);
    if (node.kind === "dir") _fail(Errno.perm, "Cannot link a directory", from);
    const [dir, name] = this.#parent(to);
    if (dir.entries.has(name)) _fail(Errno.exist, "Cannot link", to);
    dir.entries.set(name, node);
    node.nlink++;
    dir.mtim = dir.ctim = node.ctim = this.now();
  }

  symlink(target: string, path: string): void {
    const [dir, name] = this.#parent(path);
    if (dir.entries.has(name)) _fail(Errno.exist, "Cannot create link", path);
    const now = this.now();
    dir.entries.set(name, {
      kind: "link",
      ino: this.#nextIno++,
      target,
      nlink: 1,
      atim: now,
      mtim: now,
      ctim: now,
    });
    dir.mtim = dir.ctim = now;
  }

  readLink(path: string): string {
    const node = this.#resolve(path, false);
    if (node.kind !== "link") _fail(Errno.inval, "Not a symbolic link", path);
    return node.target;
  }

  setTimes(path: string, times: WasiTimes): void {
    _setTimes(this.#resolve(path, true), times, this.now());
  }

  #addDir(parent: _Dir, name: string): _Dir {
    const now = this.now();
    const dir: _Dir = {
      kind: "dir",
      ino: this.#nextIno++,
      entries: new Map(),
      parent,
      atim: now,
      mtim: now,
      ctim: now,
    };
    parent.entries.set(name, dir);
    parent.mtim = parent.ctim = now;
    return dir;
  }

  /** The directory holding `path`'s last component, and that component. */
  #parent(path: string): [_Dir, string] {
    const parts = _parts(path);
    const name = parts.pop();
    if (name === undefined || name === "..") _fail(Errno.inval, "Bad path", path);
    const dir = this.#walk(parts, path, 0);
    if (dir.kind !== "dir") _fail(Errno.notdir, "Not a directory", path);
    return [dir, name];
  }

  #resolve(path: string, follow: boolean, hops = 0): _Node {
    const parts = _parts(path);
    const name = parts.pop();
    const dir = this.#walk(parts, path, hops);
    if (name === undefined) return dir;
    if (dir.kind !== "dir") _fail(Errno.notdir, "Not a directory", path);
    const node = name === ".." ? dir.parent : dir.entries.get(name);
    if (node === undefined) _fail(Errno.noent, "No such file or directory", path);
    if (node.kind !== "link" || !follow) return node;
    if (hops >= _MAX_HOPS) _fail(Errno.loop, "Too many symbolic links", path);
    const base = "/" + parts.join("/");
    const target = node.target.startsWith("/") ? node.target : `${base}/${node.target}`;
    return this.#resolve(target, true, hops + 1);
  }

  /** Walks directories from the root, following links among them. */
  #walk(parts: readonly string[], path: string, hops: number): _Node {
    let node: _Node = this.#root;
    for (let i = 0; i < parts.length; i++) {
      if (node.kind !== "dir") _fail(Errno.notdir, "Not a directory", path);
      const name = parts[i]!;
      const next: _Node | undefined = name === ".." ? node.parent : node.entries.get(name);
      if (next === undefined) _fail(Errno.noent, "No such file or directory", path);
      if (next.kind === "link") {
        if (hops >= _MAX_HOPS) _fail(Errno.loop, "Too many symbolic links", path);
        const base = "/" + parts.slice(0, i).join("/");
        const target = next.target.startsWith("/") ? next.target : `${base}/${next.target}`;
        node = this.#resolve(target, true, hops + 1);
      } else {
        node = next;
      }
    }
    return node;
  }
}
