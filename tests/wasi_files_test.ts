// fd_* conformance from real wasm: read/write/seek/tell, pread/pwrite, truncation, append,
// rights, close/renumber, prestat, readdir cookies, stdio, and pointer traps.
import assert from "node:assert/strict";
import { Errno, Fdflags, Filetype, Oflags, Rights, Whence } from "../natives/wasi/mod.ts";
import type { WasiReader, WasiWriter } from "../natives/wasi/mod.ts";
import { TrapError } from "../sdk/errors.ts";
import {
  DIR_RIGHTS,
  openPath,
  readFd,
  tempDir,
  type WasiHarness,
  wasiHarness,
  writeFd,
} from "./_wasi.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

async function inDir(dir: string): Promise<WasiHarness> {
  return await wasiHarness({ preopens: [{ guest: "/", host: dir }] });
}

function seek(h: WasiHarness, fd: number, offset: bigint, whence: number): [number, bigint] {
  const out = h.alloc(8);
  const errno = h.call("fd_seek", fd, offset, whence, out);
  return [errno, h.u64(out)];
}

function tell(h: WasiHarness, fd: number): [number, bigint] {
  const out = h.alloc(8);
  const errno = h.call("fd_tell", fd, out);
  return [errno, h.u64(out)];
}

function size(h: WasiHarness, fd: number): bigint {
  const buf = h.alloc(64);
  assert.equal(h.call("fd_filestat_get", fd, buf), Errno.success);
  return h.u64(buf + 32);
}

function fdstat(h: WasiHarness, fd: number) {
  const buf = h.alloc(24);
  const errno = h.call("fd_fdstat_get", fd, buf);
  return {
    errno,
    filetype: h.bytes(buf, 1)[0],
    flags: h.bytes(buf + 2, 1)[0],
    base: h.u64(buf + 8),
    inheriting: h.u64(buf + 16),
  };
}

Deno.test("wasi fd_write/fd_read: scattered iovecs, counts, end of file", async () => {
  using t = tempDir();
  const h = await inDir(t.dir);
  const f = openPath(h, "f", { oflags: Oflags.creat });
  const parts = ["hello ", "", "wasi"].map((s) => encoder.encode(s));
  const [iovs, n] = h.iovecs(parts.map((p) => [h.put(p), p.length]));
  const written = h.alloc(4);
  assert.equal(h.call("fd_write", f.fd, iovs, n, written), Errno.success);
  assert.equal(h.u32(written), 10);
  assert.equal(Deno.readTextFileSync(`${t.dir}/f`), "hello wasi");
  assert.deepEqual(seek(h, f.fd, 0n, Whence.set), [Errno.success, 0n]);
  const a = h.alloc(4);
  const b = h.alloc(16);
  const [riovs, rn] = h.iovecs([[a, 4], [b, 16]]);
  const read = h.alloc(4);
  assert.equal(h.call("fd_read", f.fd, riovs, rn, read), Errno.success);
  assert.equal(h.u32(read), 10);
  assert.equal(decoder.decode(h.bytes(a, 4)) + decoder.decode(h.bytes(b, 6)), "hello wasi");
  assert.deepEqual(readFd(h, f.fd), [Errno.success, ""], "0 bytes at the end");
  h.free();
});

Deno.test("wasi fd_seek/fd_tell: origins, bad whence, negative offsets, directories, stdio", async () => {
  using t = tempDir();
  Deno.writeTextFileSync(`${t.dir}/f`, "0123456789");
  const h = await inDir(t.dir);
  const f = openPath(h, "f");
  assert.deepEqual(seek(h, f.fd, 4n, Whence.set), [Errno.success, 4n]);
  assert.deepEqual(seek(h, f.fd, 2n, Whence.cur), [Errno.success, 6n]);
  assert.deepEqual(tell(h, f.fd), [Errno.success, 6n]);
  assert.deepEqual(seek(h, f.fd, -3n, Whence.end), [Errno.success, 7n]);
  assert.deepEqual(readFd(h, f.fd), [Errno.success, "789"]);
  assert.deepEqual(seek(h, f.fd, 20n, Whence.set), [Errno.success, 20n], "past the end is fine");
  assert.equal(seek(h, f.fd, -1n, Whence.set)[0], Errno.inval);
  assert.equal(seek(h, f.fd, 0n, 3)[0], Errno.inval);
  assert.equal(seek(h, 3, 0n, Whence.cur)[0], Errno.isdir);
  assert.equal(tell(h, 3)[0], Errno.isdir);
  assert.equal(seek(h, 1, 0n, Whence.cur)[0], Errno.spipe);
  assert.equal(seek(h, 42, 0n, Whence.cur)[0], Errno.badf);
  // fd_tell alone allows seeking by 0 from the current position, and nothing more.
  const tellOnly = openPath(h, "f", { base: BigInt(Rights.fd_read | Rights.fd_tell) });
  assert.deepEqual(seek(h, tellOnly.fd, 0n, Whence.cur), [Errno.success, 0n]);
  assert.equal(seek(h, tellOnly.fd, 1n, Whence.cur)[0], Errno.notcapable);
  // A directory never gets the seek right, even when asked.
  const dir = openPath(h, ".", { oflags: Oflags.directory, base: BigInt(Rights.fd_seek) });
  assert.equal(fdstat(h, dir.fd).base & BigInt(Rights.fd_seek), 0n);
  h.free();
});

Deno.test("wasi fd_pread/fd_pwrite: at an offset, the position stays", async () => {
  using t = tempDir();
  Deno.writeTextFileSync(`${t.dir}/f`, "abcdefgh");
  const h = await inDir(t.dir);
  const f = openPath(h, "f");
  seek(h, f.fd, 2n, Whence.set);
  const buf = h.alloc(3);
  const [iovs, n] = h.iovecs([[buf, 3]]);
  const out = h.alloc(4);
  assert.equal(h.call("fd_pread", f.fd, iovs, n, 5n, out), Errno.success);
  assert.equal(decoder.decode(h.bytes(buf, h.u32(out))), "fgh");
  assert.equal(h.call("fd_pread", f.fd, iovs, n, 100n, out), Errno.success);
  assert.equal(h.u32(out), 0);
  const data = h.put(encoder.encode("XY"));
  const [wiovs, wn] = h.iovecs([[data, 2]]);
  assert.equal(h.call("fd_pwrite", f.fd, wiovs, wn, 10n, out), Errno.success);
  assert.equal(h.u32(out), 2);
  assert.deepEqual(tell(h, f.fd), [Errno.success, 2n]);
  assert.deepEqual(Deno.readFileSync(`${t.dir}/f`), encoder.encode("abcdefgh\0\0XY"));
  assert.equal(h.call("fd_pread", 3, iovs, n, 0n, out), Errno.isdir);
  assert.equal(h.call("fd_pwrite", 3, wiovs, wn, 0n, out), Errno.isdir);
  assert.equal(h.call("fd_pread", 0, iovs, n, 0n, out), Errno.spipe);
  h.free();
});

Deno.test("wasi fd_filestat_set_size and fd_allocate: truncate, extend, never shrink", async () => {
  using t = tempDir();
  Deno.writeTextFileSync(`${t.dir}/f`, "0123456789");
  const h = await inDir(t.dir);
  const f = openPath(h, "f");
  assert.equal(h.call("fd_filestat_set_size", f.fd, 4n), Errno.success);
  assert.equal(Deno.readTextFileSync(`${t.dir}/f`), "0123");
  assert.equal(h.call("fd_filestat_set_size", f.fd, 6n), Errno.success);
  assert.deepEqual(Deno.readFileSync(`${t.dir}/f`), encoder.encode("0123\0\0"));
  assert.equal(h.call("fd_allocate", f.fd, 0n, 100n), Errno.success);
  assert.equal(size(h, f.fd), 100n);
  assert.equal(h.call("fd_allocate", f.fd, 0n, 10n), Errno.success);
  assert.equal(size(h, f.fd), 100n, "allocate does not shrink");
  assert.equal(h.call("fd_allocate", f.fd, 0n, 0n), Errno.inval);
  assert.equal(h.call("fd_filestat_set_size", 3, 0n), Errno.isdir);
  assert.equal(h.call("fd_allocate", 3, 0n, 1n), Errno.isdir);
  const ro = openPath(h, "f", { base: BigInt(Rights.fd_read) });
  assert.equal(h.call("fd_filestat_set_size", ro.fd, 0n), Errno.notcapable);
  assert.equal(size(h, f.fd), 100n);
  h.free();
});

Deno.test("wasi fd_fdstat_set_flags: append writes at the end until turned off", async () => {
  using t = tempDir();
  const h = await inDir(t.dir);
  const f = openPath(h, "f", { oflags: Oflags.creat, fdflags: Fdflags.append });
  assert.equal(fdstat(h, f.fd).flags, Fdflags.append);
  writeFd(h, f.fd, "aaaa");
  seek(h, f.fd, 0n, Whence.set);
  writeFd(h, f.fd, "bbbb");
  assert.equal(Deno.readTextFileSync(`${t.dir}/f`), "aaaabbbb");
  assert.deepEqual(tell(h, f.fd), [Errno.success, 8n]);
  assert.equal(h.call("fd_fdstat_set_flags", f.fd, 0), Errno.success);
  seek(h, f.fd, 0n, Whence.set);
  writeFd(h, f.fd, "cc");
  assert.equal(Deno.readTextFileSync(`${t.dir}/f`), "ccaabbbb");
  assert.equal(h.call("fd_fdstat_set_flags", f.fd, 0x40), Errno.inval);
  h.free();
});

Deno.test("wasi fd_fdstat_get/set_rights: preopen rights, dropping, never regaining", async () => {
  using t = tempDir();
  const h = await inDir(t.dir);
  const pre = fdstat(h, 3);
  assert.equal(pre.filetype, Filetype.directory);
  for (const right of ["path_open", "path_create_file", "fd_readdir", "path_symlink"] as const) {
    assert.notEqual(pre.base & BigInt(Rights[right]), 0n, right);
  }
  assert.equal(pre.base & BigInt(Rights.fd_filestat_set_size | Rights.fd_seek), 0n);
  assert.notEqual(pre.inheriting & BigInt(Rights.fd_write), 0n);
  const f = openPath(h, "f", { oflags: Oflags.creat });
  const st = fdstat(h, f.fd);
  assert.equal(st.filetype, Filetype.regular_file);
  const drop = BigInt(Rights.fd_read | Rights.fd_write);
  assert.equal(h.call("fd_fdstat_set_rights", f.fd, st.base & ~drop, 0n), Errno.success);
  assert.equal(writeFd(h, f.fd, "x")[0], Errno.notcapable);
  assert.equal(readFd(h, f.fd)[0], Errno.notcapable);
  assert.equal(h.call("fd_fdstat_set_rights", f.fd, st.base, 0n), Errno.notcapable);
  assert.equal(h.call("fd_fdstat_set_rights", 77, 0n, 0n), Errno.badf);
  assert.equal(fdstat(h, 77).errno, Errno.badf);
  h.free();
});

Deno.test("wasi fd_close and fd_renumber: descriptors move, unknown ones are badf", async () => {
  using t = tempDir();
  Deno.writeTextFileSync(`${t.dir}/one`, "1");
  Deno.writeTextFileSync(`${t.dir}/two`, "2");
  const h = await inDir(t.dir);
  const one = openPath(h, "one");
  const two = openPath(h, "two");
  assert.equal(h.call("fd_renumber", one.fd, two.fd), Errno.success);
  assert.deepEqual(readFd(h, two.fd), [Errno.success, "1"]);
  assert.equal(h.call("fd_close", one.fd), Errno.badf);
  assert.equal(h.call("fd_renumber", two.fd, one.fd), Errno.badf, "the target must be open");
  assert.equal(h.call("fd_renumber", 99, two.fd), Errno.badf);
  assert.equal(h.call("fd_renumber", two.fd, two.fd), Errno.success);
  assert.equal(openPath(h, "one").fd, one.fd, "the lowest free number is reused");
  // stdio can be renumbered away, and a preopen can be closed.
  assert.equal(h.call("fd_renumber", 1, two.fd), Errno.success);
  assert.equal(fdstat(h, 1).errno, Errno.badf);
  assert.equal(h.call("fd_close", 3), Errno.success);
  assert.equal(h.call("fd_prestat_get", 3, h.alloc(8)), Errno.badf);
  assert.equal(h.call("fd_close", 3), Errno.badf);
  h.free();
});

Deno.test("wasi fd_prestat_get/dir_name: names, short buffers, non-preopens", async () => {
  using a = tempDir();
  using b = tempDir();
  const h = await wasiHarness({
    preopens: [{ guest: "/", host: a.dir }, { guest: "/data/x", host: b.dir + "/" }],
  });
  const prestat = h.alloc(8);
  assert.equal(h.call("fd_prestat_get", 4, prestat), Errno.success);
  assert.equal(h.bytes(prestat, 1)[0], 0, "preopentype dir");
  assert.equal(h.u32(prestat + 4), 7);
  const name = h.alloc(8);
  assert.equal(h.call("fd_prestat_dir_name", 4, name, 8), Errno.success);
  assert.equal(decoder.decode(h.bytes(name, 7)), "/data/x");
  assert.equal(h.call("fd_prestat_dir_name", 4, name, 3), Errno.nametoolong);
  assert.equal(h.call("fd_prestat_get", 5, prestat), Errno.badf, "wasi-libc's loop stops here");
  assert.equal(h.call("fd_prestat_get", 1, prestat), Errno.badf);
  const sub = openPath(h, ".", { oflags: Oflags.directory });
  assert.equal(h.call("fd_prestat_get", sub.fd, prestat), Errno.badf);
  h.free();
});

function readdir(h: WasiHarness, fd: number, cookie: bigint, len = 256) {
  const buf = h.alloc(len);
  const used = h.alloc(4);
  const errno = h.call("fd_readdir", fd, buf, len, cookie, used);
  const bytes = h.bytes(buf, h.u32(used));
  const entries: { next: bigint; ino: bigint; type: number; name: string }[] = [];
  const dv = new DataView(bytes.buffer);
  for (let at = 0; at + 24 <= bytes.length;) {
    const namlen = dv.getUint32(at + 16, true);
    if (at + 24 + namlen > bytes.length) break;
    entries.push({
      next: dv.getBigUint64(at, true),
      ino: dv.getBigUint64(at + 8, true),
      type: dv.getUint8(at + 20),
      name: decoder.decode(bytes.subarray(at + 24, at + 24 + namlen)),
    });
    at += 24 + namlen;
  }
  return { errno, used: h.u32(used), entries };
}

Deno.test("wasi fd_readdir: dot entries, types, cookies, short buffers", async () => {
  using t = tempDir();
  Deno.writeTextFileSync(`${t.dir}/file`, "");
  Deno.mkdirSync(`${t.dir}/sub`);
  Deno.symlinkSync("file", `${t.dir}/link`);
  const h = await inDir(t.dir);
  const all = readdir(h, 3, 0n);
  assert.equal(all.errno, Errno.success);
  assert.ok(all.used < 256, "everything fits: the listing is complete");
  const byName = Object.fromEntries(all.entries.map((e) => [e.name, e]));
  assert.deepEqual(Object.keys(byName).sort(), [".", "..", "file", "link", "sub"]);
  assert.equal(byName["."]!.type, Filetype.directory);
  assert.equal(byName[".."]!.type, Filetype.directory);
  assert.equal(byName.file!.type, Filetype.regular_file);
  assert.equal(byName.link!.type, Filetype.symbolic_link);
  assert.equal(byName.sub!.type, Filetype.directory);
  const dirStat = h.alloc(64);
  h.call("fd_filestat_get", 3, dirStat);
  assert.equal(byName["."]!.ino, h.u64(dirStat + 8));
  assert.equal(byName.file!.ino, BigInt(Deno.statSync(`${t.dir}/file`).ino!));
  assert.deepEqual(all.entries.map((e) => e.next), [1n, 2n, 3n, 4n, 5n]);
  const rest = readdir(h, 3, all.entries[2]!.next);
  assert.deepEqual(rest.entries.map((e) => e.name), all.entries.slice(3).map((e) => e.name));
  assert.equal(readdir(h, 3, 99n).used, 0);
  // A buffer too small for the next entry is filled to the brim: the caller sees it is full.
  const short = readdir(h, 3, 0n, 30);
  assert.equal(short.used, 30);
  assert.equal(short.entries.length, 1);
  assert.equal(readdir(h, 4, 0n).errno, Errno.badf);
  const f = openPath(h, "file");
  assert.equal(readdir(h, f.fd, 0n).errno, Errno.notdir);
  h.free();
});

Deno.test("wasi fd_readdir: a thousand entries read through cookies", async () => {
  using t = tempDir();
  for (let i = 0; i < 1000; i++) Deno.writeTextFileSync(`${t.dir}/file.${i}`, "");
  const h = await inDir(t.dir);
  const names = new Set<string>();
  let cookie = 0n;
  for (;;) {
    const page = readdir(h, 3, cookie);
    for (const e of page.entries) names.add(e.name);
    if (page.used < 256) break;
    cookie = page.entries.at(-1)!.next;
  }
  assert.equal(names.size, 1002);
  h.free();
});

Deno.test("wasi fd_advise, fd_sync, fd_datasync, fd_filestat_set_times: rights and values", async () => {
  using t = tempDir();
  const h = await inDir(t.dir);
  const f = openPath(h, "f", { oflags: Oflags.creat });
  assert.equal(h.call("fd_advise", f.fd, 0n, 10n, 5), Errno.success);
  assert.equal(h.call("fd_advise", f.fd, 0n, 10n, 6), Errno.inval);
  assert.equal(h.call("fd_advise", 1, 0n, 10n, 0), Errno.spipe);
  assert.equal(h.call("fd_sync", f.fd), Errno.success);
  assert.equal(h.call("fd_datasync", f.fd), Errno.success);
  assert.equal(h.call("fd_sync", 1), Errno.notcapable);
  const mtim = 1_600_000_000_250_000_000n;
  assert.equal(h.call("fd_filestat_set_times", f.fd, mtim, mtim, 1 | 4), Errno.success);
  assert.equal(Deno.statSync(`${t.dir}/f`).mtime!.getTime(), 1_600_000_000_250);
  assert.equal(h.call("fd_filestat_set_times", f.fd, 0n, 0n, 4 | 8), Errno.inval);
  assert.equal(h.call("fd_filestat_set_times", 3, mtim, mtim, 4), Errno.success);
  assert.equal(Deno.statSync(t.dir).mtime!.getTime(), 1_600_000_000_250);
  h.free();
});

Deno.test("wasi stdio: stdout joins the app's output, stderr and stdin use their streams", async () => {
  const errors: string[] = [];
  const stderr: WasiWriter = {
    writeSync: (b) => (errors.push(decoder.decode(b)), b.length),
    isTerminal: () => true,
  };
  const input = encoder.encode("typed\n");
  let offset = 0;
  const stdin: WasiReader = {
    readSync(into) {
      const n = Math.min(into.length, input.length - offset);
      into.set(input.subarray(offset, offset + n));
      offset += n;
      return n === 0 ? null : n;
    },
  };
  const h = await wasiHarness({ stderr, stdin });
  assert.deepEqual(writeFd(h, 1, "to stdout\n"), [Errno.success, 10]);
  assert.deepEqual(writeFd(h, 2, "to stderr\n"), [Errno.success, 10]);
  h.app.stdout.flush();
  assert.deepEqual(h.output, ["to stdout\n"]);
  assert.deepEqual(errors, ["to stderr\n"]);
  assert.deepEqual(readFd(h, 0, 3), [Errno.success, "typ"]);
  assert.deepEqual(readFd(h, 0), [Errno.success, "ed\n"]);
  assert.deepEqual(readFd(h, 0), [Errno.success, ""]);
  assert.equal(writeFd(h, 0, "x")[0], Errno.notcapable);
  assert.equal(readFd(h, 1)[0], Errno.notcapable);
  assert.equal(fdstat(h, 2).filetype, Filetype.character_device);
  assert.equal(fdstat(h, 0).filetype, Filetype.unknown);
  assert.equal(fdstat(h, 2).base & BigInt(Rights.fd_seek | Rights.fd_tell), 0n, "isatty");
  h.free();
});

Deno.test("wasi fd_write/fd_read: bad pointers trap before anything is written", async () => {
  using t = tempDir();
  const h = await inDir(t.dir);
  const f = openPath(h, "f", { oflags: Oflags.creat });
  const good = h.put(encoder.encode("good"));
  const end = 4 * 65536;
  const cases: [number, number][][] = [[[good, 4], [end - 2, 4]], [[good, 4], [end, 1]]];
  for (const regions of cases) {
    const [iovs, n] = h.iovecs(regions);
    assert.throws(() => h.call("fd_write", f.fd, iovs, n, h.alloc(4)), (e: unknown) => {
      return e instanceof TrapError && e.message === "out of bounds memory access";
    });
  }
  const [iovs, n] = h.iovecs([[good, 4]]);
  for (
    const args of [[f.fd, iovs, n, end], [f.fd, end - 4, 1, h.alloc(4)], [f.fd, iovs, 1 << 29, 0]]
  ) {
    assert.throws(() => h.call("fd_write", ...args), TrapError);
  }
  assert.equal(Deno.statSync(`${t.dir}/f`).size, 0, "nothing reached the file");
  assert.throws(() => h.call("fd_read", f.fd, iovs, n, end), TrapError);
  assert.throws(() => h.call("fd_fdstat_get", f.fd, end - 8), TrapError);
  assert.throws(() => h.call("fd_filestat_get", f.fd, end - 63), TrapError);
  assert.throws(() => h.call("fd_prestat_dir_name", 3, end - 1, 4), TrapError);
  assert.throws(() => h.call("fd_readdir", 3, end - 10, 20, 0n, h.alloc(4)), TrapError);
  // An unknown descriptor is badf before its pointers are looked at.
  assert.equal(h.call("fd_write", 99, iovs, n, end), Errno.badf);
  h.free();
});

Deno.test("wasi fd_*: directories are not read or written, unknown descriptors are badf", async () => {
  using t = tempDir();
  const h = await inDir(t.dir);
  assert.equal(readFd(h, 3)[0], Errno.isdir);
  assert.equal(writeFd(h, 3, "x")[0], Errno.isdir);
  assert.equal(h.call("fd_close", 1000), Errno.badf);
  assert.equal(h.call("fd_close", -1), Errno.badf);
  assert.equal(readFd(h, 12)[0], Errno.badf);
  assert.equal(h.call("fd_sync", 12), Errno.badf);
  assert.equal(h.call("fd_filestat_get", 12, h.alloc(64)), Errno.badf);
  const dirFd = openPath(h, ".", { oflags: Oflags.directory, base: DIR_RIGHTS });
  assert.equal(fdstat(h, dirFd.fd).filetype, Filetype.directory);
  h.free();
});
