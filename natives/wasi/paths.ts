/**
 * The `path_*` functions of `wasi_snapshot_preview1`, every path resolved by the sandbox
 * (see `sandbox.ts`) beneath the descriptor's directory. Errno choices follow POSIX hosts
 * and the public WASI test suite: a trailing slash on a non-directory is `notdir`, opening a
 * symbolic link without following it is `loop`, unlinking a directory is `isdir`, removing a
 * file as a directory is `notdir`, linking a directory is `perm`, and a symbolic link may not
 * hold an absolute path (`notcapable`).
 *
 * @module
 */

import { encodeUtf8 } from "../../sdk/memory.ts";
import type { NativeFactory, NativeSymbols } from "../../sdk/native.ts";
import {
  DIRECTORY_RIGHTS,
  Errno,
  FILE_RIGHTS,
  Filetype,
  Lookupflags,
  Oflags,
  READ_RIGHTS,
  Rights,
  WRITE_RIGHTS,
} from "./constants.ts";
import type { FdEntry } from "./fd_table.ts";
import { WasiFsError } from "./fs.ts";
import { timesOf, writeFilestat } from "./files.ts";
import { decodePath, type ResolvedPath, resolvePath } from "./sandbox.ts";
import { errnoOf, type WasiState } from "./state.ts";

const R = Rights;
const ALL_RIGHTS = 0x3fff_ffffn;

function _errno(errno: number, message: string): WasiFsError {
  return new WasiFsError(errno, message);
}

function _resolve(
  state: WasiState,
  dir: FdEntry,
  path: Uint8Array,
  follow: boolean,
): ResolvedPath {
  return resolvePath(state.settings.fs, dir.host, decodePath(path), follow);
}

function _isDir(r: ResolvedPath): boolean {
  return r.stat?.filetype === Filetype.directory;
}

function _open(
  state: WasiState,
  fd: number,
  dirflags: number,
  path: Uint8Array,
  oflags: number,
  base: bigint,
  inheriting: bigint,
  fdflags: number,
): number {
  const creat = (oflags & Oflags.creat) !== 0;
  const excl = (oflags & Oflags.excl) !== 0;
  const trunc = (oflags & Oflags.trunc) !== 0;
  const directory = (oflags & Oflags.directory) !== 0;
  if ((oflags & ~0xf) !== 0 || (fdflags & ~0x1f) !== 0) throw _errno(Errno.inval, "bad flags");
  let needed = R.path_open;
  if (creat) needed |= R.path_create_file;
  if (trunc) needed |= R.path_filestat_set_size;
  const dir = state.dir(fd, needed);
  // O_EXCL never follows a final link: whatever is there, it exists.
  const follow = (dirflags & Lookupflags.symlink_follow) !== 0 && !(creat && excl);
  const r = _resolve(state, dir, path, follow);
  const stat = r.stat;
  const requested = Number(BigInt.asUintN(64, base) & ALL_RIGHTS);
  const inherit = Number(BigInt.asUintN(64, inheriting) & ALL_RIGHTS) & dir.rightsInheriting;
  if (stat && creat && excl) throw _errno(Errno.exist, "file exists");
  if (stat?.filetype === Filetype.symbolic_link) {
    throw _errno(Errno.loop, "symbolic link not followed");
  }
  if (stat === undefined) {
    if (!creat) throw _errno(Errno.noent, "no such file");
    if (r.trailingSlash) throw _errno(Errno.isdir, "cannot create a file with a trailing slash");
    if (directory) throw _errno(Errno.inval, "cannot create a directory with path_open");
  }
  if (stat?.filetype === Filetype.directory) {
    // Asking to write is what POSIX's O_WRONLY/O_RDWR on a directory is: `isdir`.
    if ((requested & R.fd_write) !== 0 || trunc || creat) {
      throw _errno(Errno.isdir, "is a directory");
    }
    return state.fds.add({
      kind: "directory",
      filetype: Filetype.directory,
      rightsBase: requested & dir.rightsInheriting & DIRECTORY_RIGHTS,
      rightsInheriting: inherit,
      flags: fdflags,
      host: r.host,
      depth: dir.depth + r.depth,
    });
  }
  if (directory) throw _errno(Errno.notdir, "not a directory");
  const rights = requested & dir.rightsInheriting & FILE_RIGHTS;
  const write = (rights & WRITE_RIGHTS) !== 0;
  const file = state.settings.fs.open(r.host, {
    read: (rights & READ_RIGHTS) !== 0 || !write,
    write,
    create: creat && stat === undefined,
    exclusive: excl,
    truncate: trunc,
  });
  try {
    return state.fds.add({
      kind: "file",
      filetype: stat?.filetype ?? Filetype.regular_file,
      rightsBase: rights,
      rightsInheriting: inherit,
      flags: fdflags,
      host: r.host,
      depth: dir.depth + r.depth,
      file,
    });
  } catch (e) {
    file.close();
    throw e;
  }
}

function _rename(state: WasiState, fd: number, from: Uint8Array, newFd: number, to: Uint8Array) {
  const src = _resolve(state, state.dir(fd, R.path_rename_source), from, false);
  const dst = _resolve(state, state.dir(newFd, R.path_rename_target), to, false);
  if (src.stat === undefined) throw _errno(Errno.noent, "no such file");
  if (src.name === undefined || dst.name === undefined) {
    throw _errno(Errno.busy, "cannot rename a directory descriptor's own directory");
  }
  const srcDir = _isDir(src);
  if (dst.stat === undefined) {
    if (dst.trailingSlash && !srcDir) throw _errno(Errno.notdir, "not a directory");
  } else if (srcDir && !_isDir(dst)) {
    throw _errno(Errno.notdir, "cannot replace a file with a directory");
  } else if (!srcDir && _isDir(dst)) {
    throw _errno(Errno.isdir, "cannot replace a directory with a file");
  }
  state.settings.fs.rename(src.host, dst.host);
}

function _link(
  state: WasiState,
  fd: number,
  flags: number,
  from: Uint8Array,
  newFd: number,
  to: Uint8Array,
): void {
  const follow = (flags & Lookupflags.symlink_follow) !== 0;
  const src = _resolve(state, state.dir(fd, R.path_link_source), from, follow);
  const dst = _resolve(state, state.dir(newFd, R.path_link_target), to, false);
  if (src.stat === undefined) throw _errno(Errno.noent, "no such file");
  if (_isDir(src)) throw _errno(Errno.perm, "cannot link a directory");
  if (dst.stat !== undefined || dst.name === undefined) throw _errno(Errno.exist, "file exists");
  if (dst.trailingSlash) throw _errno(Errno.noent, "no such directory");
  state.settings.fs.link(src.host, dst.host);
}

/**
 * The `path_*` natives.
 *
 * @param native the library's `native` factory
 * @returns the symbols by name
 */
export function pathSymbols(native: NativeFactory<WasiState>): NativeSymbols<WasiState> {
  return {
    path_create_directory: native("(i*~)i", function pathCreateDirectory(ctx, fd, path) {
      try {
        const state = ctx.state;
        const r = _resolve(state, state.dir(fd, R.path_create_directory), path, false);
        if (r.stat !== undefined) throw _errno(Errno.exist, "file exists");
        state.settings.fs.mkdir(r.host);
        return Errno.success;
      } catch (e) {
        return errnoOf(e);
      }
    }),

    path_filestat_get: native("(ii*~i)i", function pathFilestatGet(ctx, fd, flags, path, _n, buf) {
      try {
        const state = ctx.state;
        const dir = state.dir(fd, R.path_filestat_get);
        ctx.memory.check(buf >>> 0, 64);
        const r = _resolve(state, dir, path, (flags & Lookupflags.symlink_follow) !== 0);
        if (r.stat === undefined) throw _errno(Errno.noent, "no such file");
        writeFilestat(ctx.memory, buf >>> 0, r.stat);
        return Errno.success;
      } catch (e) {
        return errnoOf(e);
      }
    }, { traceAs: "(ii*~*)i" }),

    path_filestat_set_times: native(
      "(ii*~IIi)i",
      function pathFilestatSetTimes(ctx, fd, flags, path, _n, atim, mtim, fst) {
        try {
          const state = ctx.state;
          const dir = state.dir(fd, R.path_filestat_set_times);
          const times = timesOf(atim, mtim, fst, state.settings.clock.realtime);
          const r = _resolve(state, dir, path, (flags & Lookupflags.symlink_follow) !== 0);
          if (r.stat === undefined) throw _errno(Errno.noent, "no such file");
          if (r.stat.filetype === Filetype.symbolic_link) {
            // Deno has no lutimes: a link's own times cannot be set.
            throw _errno(Errno.notsup, "cannot set the times of a symbolic link");
          }
          state.settings.fs.setTimes(r.host, times);
          return Errno.success;
        } catch (e) {
          return errnoOf(e);
        }
      },
    ),

    path_link: native(
      "(ii*~i*~)i",
      function pathLink(ctx, fd, flags, from, _n, newFd, to) {
        try {
          _link(ctx.state, fd, flags, from, newFd, to);
          return Errno.success;
        } catch (e) {
          return errnoOf(e);
        }
      },
    ),

    path_open: native(
      "(ii*~iIIii)i",
      function pathOpen(ctx, fd, dirflags, path, _n, oflags, base, inheriting, fdflags, out) {
        try {
          ctx.memory.check(out >>> 0, 4);
          const opened = _open(ctx.state, fd, dirflags, path, oflags, base, inheriting, fdflags);
          ctx.memory.setI32(out >>> 0, opened);
          return Errno.success;
        } catch (e) {
          return errnoOf(e);
        }
      },
      { traceAs: "(ii*~iIIi*)i" },
    ),

    path_readlink: native("(i*~*~i)i", function pathReadlink(ctx, fd, path, _n, buf, _b, used) {
      try {
        const state = ctx.state;
        const dir = state.dir(fd, R.path_readlink);
        ctx.memory.check(used >>> 0, 4);
        const r = _resolve(state, dir, path, false);
        if (r.stat === undefined) throw _errno(Errno.noent, "no such file");
        if (r.stat.filetype !== Filetype.symbolic_link) {
          throw _errno(Errno.inval, "not a symbolic link");
        }
        const target = encodeUtf8(state.settings.fs.readLink(r.host));
        const n = Math.min(target.length, buf.length);
        buf.set(target.subarray(0, n));
        ctx.memory.setI32(used >>> 0, n);
        return Errno.success;
      } catch (e) {
        return errnoOf(e);
      }
    }, { traceAs: "(i*~*~*)i" }),

    path_remove_directory: native("(i*~)i", function pathRemoveDirectory(ctx, fd, path) {
      try {
        const state = ctx.state;
        const r = _resolve(state, state.dir(fd, R.path_remove_directory), path, false);
        if (r.name === undefined) throw _errno(Errno.inval, "cannot remove the start directory");
        if (r.stat === undefined) throw _errno(Errno.noent, "no such directory");
        if (!_isDir(r)) throw _errno(Errno.notdir, "not a directory");
        state.settings.fs.rmdir(r.host);
        return Errno.success;
      } catch (e) {
        return errnoOf(e);
      }
    }),

    path_rename: native("(i*~i*~)i", function pathRename(ctx, fd, from, _n, newFd, to) {
      try {
        _rename(ctx.state, fd, from, newFd, to);
        return Errno.success;
      } catch (e) {
        return errnoOf(e);
      }
    }),

    path_symlink: native("(*~i*~)i", function pathSymlink(ctx, target, _n, fd, path) {
      try {
        const state = ctx.state;
        const dir = state.dir(fd, R.path_symlink);
        const text = decodePath(target);
        if (text.startsWith("/")) {
          throw _errno(Errno.notcapable, "a link may not hold an absolute path");
        }
        if (text.length === 0) throw _errno(Errno.noent, "empty link target");
        const r = _resolve(state, dir, path, false);
        if (r.stat !== undefined || r.name === undefined) throw _errno(Errno.exist, "file exists");
        if (r.trailingSlash) throw _errno(Errno.noent, "no such directory");
        state.settings.fs.symlink(text, r.host);
        return Errno.success;
      } catch (e) {
        return errnoOf(e);
      }
    }),

    path_unlink_file: native("(i*~)i", function pathUnlinkFile(ctx, fd, path) {
      try {
        const state = ctx.state;
        const r = _resolve(state, state.dir(fd, R.path_unlink_file), path, false);
        if (r.stat === undefined) throw _errno(Errno.noent, "no such file");
        if (r.name === undefined || _isDir(r)) throw _errno(Errno.isdir, "is a directory");
        state.settings.fs.unlink(r.host);
        return Errno.success;
      } catch (e) {
        return errnoOf(e);
      }
    }),
  };
}
