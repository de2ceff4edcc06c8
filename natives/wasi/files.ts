/**
 * The `fd_*` functions of `wasi_snapshot_preview1`. Checks run in a fixed order: an unknown
 * descriptor is `badf`; then what the descriptor's type rules out (`isdir` for reading a
 * directory, `spipe` for seeking stdio, `notdir` for listing a file), as POSIX hosts answer;
 * then the rights, `notcapable`. Every pointer is checked before anything happens, so a bad
 * pointer traps with nothing read, written or moved.
 *
 * @module
 */

import type { AppMemory } from "../../sdk/memory.ts";
import { encodeUtf8 } from "../../sdk/memory.ts";
import type { NativeContext, NativeFactory, NativeSymbols } from "../../sdk/native.ts";
import {
  ADVICE_MAX,
  Errno,
  Fdflags,
  Filetype,
  Fstflags,
  PREOPENTYPE_DIR,
  Rights,
  Whence,
} from "./constants.ts";
import type { FdEntry, WasiWriter } from "./fd_table.ts";
import { type WasiDirEntry, WasiFsError, type WasiStat, type WasiTimes } from "./fs.ts";
import { errnoOf, type WasiState } from "./state.ts";

type _Ctx = NativeContext<WasiState>;

const R = Rights;
const ALL_RIGHTS = 0x3fff_ffff;

/** The byte regions of an iovec array, every one checked before any is used. */
export function readIovecs(memory: AppMemory, iovs: number, count: number): Uint8Array[] {
  iovs >>>= 0;
  count >>>= 0;
  memory.check(iovs, count * 8);
  const views = new Array<Uint8Array>(count);
  for (let i = 0; i < count; i++) {
    views[i] = memory.bytes(memory.u32(iovs + 8 * i), memory.u32(iovs + 8 * i + 4));
  }
  return views;
}

function _errno(errno: number, message: string): WasiFsError {
  return new WasiFsError(errno, message);
}

/** `isdir` for directories, `spipe` for stdio: what only a regular file can do. */
function _fileOnly(entry: FdEntry): void {
  if (entry.kind === "directory") throw _errno(Errno.isdir, "is a directory");
  if (entry.kind !== "file") throw _errno(Errno.spipe, "stdio cannot seek");
}

function _rights(entry: FdEntry, rights: number): void {
  if ((entry.rightsBase & rights) !== rights) {
    throw _errno(Errno.notcapable, "descriptor lacks the rights");
  }
}

/** A u64 offset or length as a number; `inval` past 2^53. */
export function safeOffset(value: bigint): number {
  const u = BigInt.asUintN(64, value);
  if (u > BigInt(Number.MAX_SAFE_INTEGER)) throw _errno(Errno.inval, "offset too large");
  return Number(u);
}

function _writeAll(writer: WasiWriter, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.length) done += writer.writeSync(bytes.subarray(done));
}

/**
 * Writes a WASI `filestat` (64 bytes) at `addr`.
 *
 * @param memory the app's memory
 * @param addr where (already checked)
 * @param st the status
 */
export function writeFilestat(memory: AppMemory, addr: number, st: WasiStat): void {
  memory.check(addr, 64).fill(0, addr, addr + 64);
  memory.setI64(addr, st.dev);
  memory.setI64(addr + 8, st.ino);
  memory.setU8(addr + 16, st.filetype);
  memory.setI64(addr + 24, st.nlink);
  memory.setI64(addr + 32, st.size);
  memory.setI64(addr + 40, st.atim);
  memory.setI64(addr + 48, st.mtim);
  memory.setI64(addr + 56, st.ctim);
}

/**
 * The timestamps `*_filestat_set_times` asks for.
 *
 * @param atim the access time given
 * @param mtim the modification time given
 * @param flags `fstflags`
 * @param now the current wall-clock time, for the `_now` flags
 * @returns what to set
 * @throws {WasiFsError} `inval` when a time is both given and `now`, or for unknown flags
 */
export function timesOf(atim: bigint, mtim: bigint, flags: number, now: () => bigint): WasiTimes {
  const F = Fstflags;
  if (
    (flags & ~0xf) !== 0 || (flags & (F.atim | F.atim_now)) === (F.atim | F.atim_now) ||
    (flags & (F.mtim | F.mtim_now)) === (F.mtim | F.mtim_now)
  ) {
    throw _errno(Errno.inval, "invalid fstflags");
  }
  const at = flags & F.atim ? BigInt.asUintN(64, atim) : flags & F.atim_now ? now() : undefined;
  const mt = flags & F.mtim ? BigInt.asUintN(64, mtim) : flags & F.mtim_now ? now() : undefined;
  return { atim: at, mtim: mt };
}

function _stdioStat(entry: FdEntry): WasiStat {
  return {
    filetype: entry.filetype,
    dev: 0n,
    ino: 0n,
    nlink: 0n,
    size: 0n,
    atim: 0n,
    mtim: 0n,
    ctim: 0n,
  };
}

/**
 * The status behind a descriptor.
 *
 * @param state the app's WASI state
 * @param entry the descriptor's entry
 * @returns its status
 */
export function statOf(state: WasiState, entry: FdEntry): WasiStat {
  if (entry.file) return entry.file.stat();
  if (entry.kind === "directory") return state.settings.fs.lstat(entry.host);
  return _stdioStat(entry);
}

function _write(ctx: _Ctx, entry: FdEntry, views: Uint8Array[]): number {
  if (entry.kind === "directory") throw _errno(Errno.isdir, "is a directory");
  _rights(entry, R.fd_write);
  let total = 0;
  const file = entry.file;
  if (file) {
    if (entry.flags & Fdflags.append) file.seek(0, Whence.end);
    for (const view of views) {
      let done = 0;
      while (done < view.length) done += file.write(view.subarray(done));
      total += done;
    }
    if (entry.flags & Fdflags.sync) file.sync();
    else if (entry.flags & Fdflags.dsync) file.datasync();
    return total;
  }
  const writer = entry.writer;
  if (writer === undefined) {
    // The app's own output: one buffer with libc's printf, so both keep their order.
    for (const view of views) {
      ctx.app.stdout.write(view);
      total += view.length;
    }
    return total;
  }
  ctx.app.stdout.flush();
  for (const view of views) {
    _writeAll(writer, view);
    total += view.length;
  }
  return total;
}

function _read(ctx: _Ctx, entry: FdEntry, views: Uint8Array[]): number {
  if (entry.kind === "directory") throw _errno(Errno.isdir, "is a directory");
  _rights(entry, R.fd_read);
  let total = 0;
  const file = entry.file;
  if (file) {
    for (const view of views) {
      const n = file.read(view);
      total += n;
      if (n < view.length) break;
    }
    return total;
  }
  // A prompt printed without a newline shows before the app waits for input.
  ctx.app.stdout.flush();
  const reader = entry.reader!;
  for (const view of views) {
    if (view.length === 0) continue;
    const n = reader.readSync(view) ?? 0;
    total += n;
    if (n < view.length) break;
  }
  return total;
}

function _listing(state: WasiState, entry: FdEntry): WasiDirEntry[] {
  const fs = state.settings.fs;
  const self = fs.lstat(entry.host);
  let parentIno = 0n;
  // Above a preopened directory is the host's business: its inode is not the app's to see.
  if (entry.depth > 0) {
    const parent = entry.host.slice(0, entry.host.lastIndexOf("/")) || "/";
    try {
      parentIno = fs.lstat(parent).ino;
    } catch {
      // gone or unreadable: 0 as for unknown inodes
    }
  }
  return [
    { name: ".", filetype: Filetype.directory, ino: self.ino },
    { name: "..", filetype: Filetype.directory, ino: parentIno },
    ...fs.readDir(entry.host),
  ];
}

/**
 * Serialises directory entries from `start` into `out` as WASI `dirent`s (24 bytes + name),
 * cutting the last one short when it does not fit, as the spec asks.
 *
 * @param out the app's buffer
 * @param entries the whole listing
 * @param start the index the cookie names
 * @returns bytes used
 */
export function writeDirents(
  out: Uint8Array,
  entries: readonly WasiDirEntry[],
  start: number,
): number {
  const head = new Uint8Array(24);
  const dv = new DataView(head.buffer);
  let used = 0;
  for (let i = start; i < entries.length && used < out.length; i++) {
    const entry = entries[i]!;
    const name = encodeUtf8(entry.name);
    head.fill(0);
    dv.setBigUint64(0, BigInt(i + 1), true);
    dv.setBigUint64(8, entry.ino, true);
    dv.setUint32(16, name.length, true);
    dv.setUint8(20, entry.filetype);
    const h = Math.min(24, out.length - used);
    out.set(head.subarray(0, h), used);
    used += h;
    const n = Math.min(name.length, out.length - used);
    out.set(name.subarray(0, n), used);
    used += n;
  }
  return used;
}

/**
 * The `fd_*` natives.
 *
 * @param native the library's `native` factory
 * @returns the symbols by name
 */
export function fdSymbols(native: NativeFactory<WasiState>): NativeSymbols<WasiState> {
  return {
    fd_advise: native("(iIIi)i", function fdAdvise(ctx, fd, offset, len, advice) {
      try {
        const entry = ctx.state.fds.need(fd);
        if (entry.kind !== "file" && entry.kind !== "directory") {
          throw _errno(Errno.spipe, "stdio takes no advice");
        }
        _rights(entry, R.fd_advise);
        if ((advice >>> 0) > ADVICE_MAX || offset < 0n || len < 0n) {
          throw _errno(Errno.inval, "invalid advice");
        }
        return Errno.success;
      } catch (e) {
        return errnoOf(e);
      }
    }),

    fd_allocate: native("(iII)i", function fdAllocate(ctx, fd, offset, len) {
      try {
        const entry = ctx.state.fds.need(fd);
        _fileOnly(entry);
        _rights(entry, R.fd_allocate);
        if (offset < 0n || len <= 0n) throw _errno(Errno.inval, "invalid range");
        const end = safeOffset(offset + len);
        if (BigInt(end) > entry.file!.stat().size) entry.file!.truncate(end);
        return Errno.success;
      } catch (e) {
        return errnoOf(e);
      }
    }),

    fd_close: native("(i)i", function fdClose(ctx, fd) {
      try {
        ctx.state.fds.close(fd);
        return Errno.success;
      } catch (e) {
        return errnoOf(e);
      }
    }),

    fd_datasync: native("(i)i", function fdDatasync(ctx, fd) {
      try {
        ctx.state.need(fd, R.fd_datasync).file?.datasync();
        return Errno.success;
      } catch (e) {
        return errnoOf(e);
      }
    }),

    fd_sync: native("(i)i", function fdSync(ctx, fd) {
      try {
        ctx.state.need(fd, R.fd_sync).file?.sync();
        return Errno.success;
      } catch (e) {
        return errnoOf(e);
      }
    }),

    fd_fdstat_get: native("(ii)i", function fdFdstatGet(ctx, fd, buf) {
      try {
        const entry = ctx.state.fds.need(fd);
        const m = ctx.memory;
        const at = buf >>> 0;
        m.check(at, 24).fill(0, at, at + 24);
        m.setU8(at, entry.filetype);
        m.dv.setUint16(at + 2, entry.flags, true);
        m.setI64(at + 8, BigInt(entry.rightsBase));
        m.setI64(at + 16, BigInt(entry.rightsInheriting));
        return Errno.success;
      } catch (e) {
        return errnoOf(e);
      }
    }, { traceAs: "(i*)i" }),

    fd_fdstat_set_flags: native("(ii)i", function fdFdstatSetFlags(ctx, fd, flags) {
      try {
        const entry = ctx.state.need(fd, R.fd_fdstat_set_flags);
        if ((flags & ~0x1f) !== 0) throw _errno(Errno.inval, "unknown fdflags");
        entry.flags = flags;
        return Errno.success;
      } catch (e) {
        return errnoOf(e);
      }
    }),

    fd_fdstat_set_rights: native("(iII)i", function fdFdstatSetRights(ctx, fd, base, inh) {
      try {
        const entry = ctx.state.fds.need(fd);
        // Rights can only be dropped, never gained back.
        const b = BigInt.asUintN(64, base);
        const i = BigInt.asUintN(64, inh);
        if (
          (b & ~BigInt(entry.rightsBase)) !== 0n || (i & ~BigInt(entry.rightsInheriting)) !== 0n
        ) {
          throw _errno(Errno.notcapable, "cannot add rights");
        }
        entry.rightsBase = Number(b & BigInt(ALL_RIGHTS));
        entry.rightsInheriting = Number(i & BigInt(ALL_RIGHTS));
        return Errno.success;
      } catch (e) {
        return errnoOf(e);
      }
    }),

    fd_filestat_get: native("(ii)i", function fdFilestatGet(ctx, fd, buf) {
      try {
        const entry = ctx.state.need(fd, R.fd_filestat_get);
        ctx.memory.check(buf >>> 0, 64);
        writeFilestat(ctx.memory, buf >>> 0, statOf(ctx.state, entry));
        return Errno.success;
      } catch (e) {
        return errnoOf(e);
      }
    }, { traceAs: "(i*)i" }),

    fd_filestat_set_size: native("(iI)i", function fdFilestatSetSize(ctx, fd, size) {
      try {
        const entry = ctx.state.fds.need(fd);
        if (entry.kind === "directory") throw _errno(Errno.isdir, "is a directory");
        if (entry.kind !== "file") throw _errno(Errno.inval, "stdio has no size");
        _rights(entry, R.fd_filestat_set_size);
        entry.file!.truncate(safeOffset(size));
        return Errno.success;
      } catch (e) {
        return errnoOf(e);
      }
    }),

    fd_filestat_set_times: native(
      "(iIIi)i",
      function fdFilestatSetTimes(ctx, fd, atim, mtim, flags) {
        try {
          const state = ctx.state;
          const entry = state.need(fd, R.fd_filestat_set_times);
          const times = timesOf(atim, mtim, flags, state.settings.clock.realtime);
          if (entry.file) entry.file.setTimes(times);
          else if (entry.kind === "directory") state.settings.fs.setTimes(entry.host, times);
          else throw _errno(Errno.notsup, "stdio has no times");
          return Errno.success;
        } catch (e) {
          return errnoOf(e);
        }
      },
    ),

    fd_pread: native("(iiiIi)i", function fdPread(ctx, fd, iovs, count, offset, nread) {
      try {
        const entry = ctx.state.fds.need(fd);
        _fileOnly(entry);
        _rights(entry, R.fd_read | R.fd_seek);
        const m = ctx.memory;
        m.check(nread >>> 0, 4);
        const views = readIovecs(m, iovs, count);
        let at = safeOffset(offset);
        let total = 0;
        for (const view of views) {
          const n = entry.file!.pread(view, at);
          total += n;
          at += n;
          if (n < view.length) break;
        }
        m.setI32(nread >>> 0, total);
        return Errno.success;
      } catch (e) {
        return errnoOf(e);
      }
    }, { traceAs: "(i*iI*)i" }),

    fd_pwrite: native("(iiiIi)i", function fdPwrite(ctx, fd, iovs, count, offset, nwritten) {
      try {
        const entry = ctx.state.fds.need(fd);
        _fileOnly(entry);
        _rights(entry, R.fd_write | R.fd_seek);
        const m = ctx.memory;
        m.check(nwritten >>> 0, 4);
        const views = readIovecs(m, iovs, count);
        let at = safeOffset(offset);
        let total = 0;
        for (const view of views) {
          total += entry.file!.pwrite(view, at);
          at += view.length;
        }
        m.setI32(nwritten >>> 0, total);
        return Errno.success;
      } catch (e) {
        return errnoOf(e);
      }
    }, { traceAs: "(i*iI*)i" }),

    fd_prestat_get: native("(ii)i", function fdPrestatGet(ctx, fd, buf) {
      try {
        const entry = ctx.state.fds.need(fd);
        if (entry.preopen === undefined) throw _errno(Errno.badf, "not a preopened directory");
        const m = ctx.memory;
        m.check(buf >>> 0, 8).fill(0, buf >>> 0, (buf >>> 0) + 8);
        m.setU8(buf >>> 0, PREOPENTYPE_DIR);
        m.setI32((buf >>> 0) + 4, encodeUtf8(entry.preopen).length);
        return Errno.success;
      } catch (e) {
        return errnoOf(e);
      }
    }, { traceAs: "(i*)i" }),

    fd_prestat_dir_name: native("(i*~)i", function fdPrestatDirName(ctx, fd, buf) {
      try {
        const entry = ctx.state.fds.need(fd);
        if (entry.preopen === undefined) throw _errno(Errno.badf, "not a preopened directory");
        const name = encodeUtf8(entry.preopen);
        if (buf.length < name.length) throw _errno(Errno.nametoolong, "buffer too small");
        buf.set(name);
        return Errno.success;
      } catch (e) {
        return errnoOf(e);
      }
    }),

    fd_read: native("(iiii)i", function fdRead(ctx, fd, iovs, count, nread) {
      try {
        const entry = ctx.state.fds.need(fd);
        const m = ctx.memory;
        m.check(nread >>> 0, 4);
        const n = _read(ctx, entry, readIovecs(m, iovs, count));
        m.setI32(nread >>> 0, n);
        return Errno.success;
      } catch (e) {
        return errnoOf(e);
      }
    }, { traceAs: "(i*i*)i" }),

    fd_readdir: native("(i*~Ii)i", function fdReaddir(ctx, fd, buf, _len, cookie, bufused) {
      try {
        const state = ctx.state;
        const entry = state.fds.need(fd);
        if (entry.kind !== "directory") throw _errno(Errno.notdir, "not a directory");
        _rights(entry, R.fd_readdir);
        ctx.memory.check(bufused >>> 0, 4);
        const start = BigInt.asUintN(64, cookie);
        // Cookie 0 starts a fresh listing; later cookies index the one read then.
        if (start === 0n || entry.listing === undefined) entry.listing = _listing(state, entry);
        const used = start >= BigInt(entry.listing.length)
          ? 0
          : writeDirents(buf, entry.listing, Number(start));
        ctx.memory.setI32(bufused >>> 0, used);
        return Errno.success;
      } catch (e) {
        return errnoOf(e);
      }
    }, { traceAs: "(i*~I*)i" }),

    fd_renumber: native("(ii)i", function fdRenumber(ctx, from, to) {
      try {
        ctx.state.fds.renumber(from, to);
        return Errno.success;
      } catch (e) {
        return errnoOf(e);
      }
    }),

    fd_seek: native("(iIii)i", function fdSeek(ctx, fd, offset, whence, newOffset) {
      try {
        const entry = ctx.state.fds.need(fd);
        _fileOnly(entry);
        const w = whence >>> 0;
        if (w > Whence.end) throw _errno(Errno.inval, "invalid whence");
        const tellOnly = w === Whence.cur && offset === 0n;
        if (!tellOnly || (entry.rightsBase & R.fd_tell) === 0) _rights(entry, R.fd_seek);
        ctx.memory.check(newOffset >>> 0, 8);
        if (offset > BigInt(Number.MAX_SAFE_INTEGER) || offset < -BigInt(Number.MAX_SAFE_INTEGER)) {
          throw _errno(Errno.inval, "offset too large");
        }
        const at = entry.file!.seek(Number(offset), w as 0 | 1 | 2);
        ctx.memory.setI64(newOffset >>> 0, BigInt(at));
        return Errno.success;
      } catch (e) {
        return errnoOf(e);
      }
    }, { traceAs: "(iIi*)i" }),

    fd_tell: native("(ii)i", function fdTell(ctx, fd, offset) {
      try {
        const entry = ctx.state.fds.need(fd);
        _fileOnly(entry);
        _rights(entry, R.fd_tell);
        ctx.memory.check(offset >>> 0, 8);
        ctx.memory.setI64(offset >>> 0, BigInt(entry.file!.seek(0, Whence.cur)));
        return Errno.success;
      } catch (e) {
        return errnoOf(e);
      }
    }, { traceAs: "(i*)i" }),

    fd_write: native("(iiii)i", function fdWrite(ctx, fd, iovs, count, nwritten) {
      try {
        const entry = ctx.state.fds.need(fd);
        const m = ctx.memory;
        m.check(nwritten >>> 0, 4);
        const n = _write(ctx, entry, readIovecs(m, iovs, count));
        m.setI32(nwritten >>> 0, n);
        return Errno.success;
      } catch (e) {
        return errnoOf(e);
      }
    }, { traceAs: "(i*i*)i" }),
  };
}
