/**
 * Path resolution beneath a directory descriptor, done component by component so that no
 * path ever leaves it: `..` above the directory, absolute paths and absolute symbolic-link
 * targets are refused with `notcapable` (what wasmtime and the WASI test suite expect),
 * every symbolic link is read and followed here rather than by the host, and more than
 * {@linkcode MAX_SYMLINK_HOPS} links in one lookup give `loop`.
 *
 * The host is asked one `lstat` per component (and one `readLink` per link), so a
 * concurrent rename on the host between two steps is not guarded against.
 *
 * @module
 */

import { Errno, Filetype } from "./constants.ts";
import { type WasiFs, WasiFsError, type WasiStat } from "./fs.ts";

/** Symbolic links followed in one lookup before giving up with `loop` (Linux's limit). */
export const MAX_SYMLINK_HOPS = 40;

/** Where a path leads. */
export interface ResolvedPath {
  /** Host path of the object (or where it would be created). */
  readonly host: string;
  /** Host path of the directory holding it. */
  readonly parent: string;
  /** Its name in `parent`; undefined when the path names the start directory itself. */
  readonly name: string | undefined;
  /** Its status without following a final link; undefined when nothing is there. */
  readonly stat: WasiStat | undefined;
  /** The path ended with `/`, so the object must be a directory. */
  readonly trailingSlash: boolean;
  /** Levels below the start directory. */
  readonly depth: number;
}

const _fatal = new TextDecoder("utf-8", { fatal: true });

/**
 * Decodes a path the app passed: `inval` for an embedded NUL, `ilseq` for bad UTF-8.
 *
 * @param bytes the path bytes
 * @returns the path text
 * @throws {WasiFsError} for a NUL or invalid UTF-8
 */
export function decodePath(bytes: Uint8Array): string {
  if (bytes.includes(0)) throw new WasiFsError(Errno.inval, "path contains a NUL byte");
  try {
    return _fatal.decode(bytes.buffer instanceof ArrayBuffer ? bytes : bytes.slice());
  } catch {
    throw new WasiFsError(Errno.ilseq, "path is not valid UTF-8");
  }
}

function _join(root: string, parts: readonly string[]): string {
  if (parts.length === 0) return root;
  return root === "/" ? `/${parts.join("/")}` : `${root}/${parts.join("/")}`;
}

function _lstat(fs: WasiFs, host: string): WasiStat | undefined {
  try {
    return fs.lstat(host);
  } catch (e) {
    if (e instanceof WasiFsError && e.errno === Errno.noent) return undefined;
    throw e;
  }
}

/**
 * Resolves `path` beneath the directory `root` (a host path) without ever leaving it.
 *
 * @param fs the file system
 * @param root host path of the start directory (the descriptor's directory)
 * @param path the app's path, relative to it
 * @param follow follow a symbolic link in the final component (intermediate links are always
 *   followed, and so is a final one when the path ends with `/`)
 * @returns where the path leads; `stat` is undefined when the final component does not exist
 * @throws {WasiFsError} `noent` for an empty path or a missing directory on the way,
 *   `notcapable` for an escape, `notdir` for a non-directory on the way or before a
 *   trailing slash, `loop` for too many links
 */
export function resolvePath(
  fs: WasiFs,
  root: string,
  path: string,
  follow: boolean,
): ResolvedPath {
  if (path.length === 0) throw new WasiFsError(Errno.noent, "empty path");
  if (path.startsWith("/")) {
    throw new WasiFsError(Errno.notcapable, `absolute path "${path}" is outside the directory`);
  }
  // Components still to walk, the next one last.
  const pending = path.split("/").reverse();
  const stack: string[] = [];
  let hops = 0;
  while (pending.length > 0) {
    const part = pending.pop()!;
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (stack.length === 0) {
        throw new WasiFsError(Errno.notcapable, `path "${path}" leads outside the directory`);
      }
      stack.pop();
      continue;
    }
    let final = true;
    for (const rest of pending) {
      if (rest !== "") {
        final = false;
        break;
      }
    }
    const trailingSlash = final && pending.length > 0;
    const parent = _join(root, stack);
    const host = parent === "/" ? `/${part}` : `${parent}/${part}`;
    const stat = _lstat(fs, host);
    if (stat === undefined) {
      if (final) {
        return { host, parent, name: part, stat, trailingSlash, depth: stack.length + 1 };
      }
      throw new WasiFsError(Errno.noent, `no directory "${part}" in "${path}"`);
    }
    if (stat.filetype === Filetype.symbolic_link && (!final || follow || trailingSlash)) {
      if (++hops > MAX_SYMLINK_HOPS) {
        throw new WasiFsError(Errno.loop, `too many symbolic links in "${path}"`);
      }
      const target = fs.readLink(host);
      if (target.startsWith("/")) {
        throw new WasiFsError(Errno.notcapable, `link "${part}" points outside the directory`);
      }
      if (target.length === 0) throw new WasiFsError(Errno.noent, `link "${part}" is empty`);
      for (const p of target.split("/").reverse()) pending.push(p);
      continue;
    }
    if (!final) {
      if (stat.filetype !== Filetype.directory) {
        throw new WasiFsError(Errno.notdir, `"${part}" in "${path}" is not a directory`);
      }
      stack.push(part);
      continue;
    }
    if (trailingSlash && stat.filetype !== Filetype.directory) {
      throw new WasiFsError(Errno.notdir, `"${path}" is not a directory`);
    }
    return { host, parent, name: part, stat, trailingSlash, depth: stack.length + 1 };
  }
  // The path ended in "." or "..": it names a directory already walked.
  const host = _join(root, stack);
  const stat = fs.lstat(host);
  const trailingSlash = path.endsWith("/");
  if (stack.length === 0) {
    return { host, parent: host, name: undefined, stat, trailingSlash, depth: 0 };
  }
  const name = stack.pop()!;
  return { host, parent: _join(root, stack), name, stat, trailingSlash, depth: stack.length + 1 };
}
