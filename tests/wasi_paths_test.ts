// path_* conformance from real wasm, modelled on what the public WASI test suites check:
// escapes, trailing slashes, dangling and looping symlinks, rename over directories, links.
import assert from "node:assert/strict";
import { Errno, Filetype, Fstflags, Oflags, Rights } from "../natives/wasi/mod.ts";
import { onPath, openPath, readFd, tempDir, type WasiHarness, wasiHarness } from "./_wasi.ts";

const decoder = new TextDecoder();

async function inDir(dir: string): Promise<WasiHarness> {
  return await wasiHarness({ preopens: [{ guest: "/", host: dir }] });
}

function twoPaths(h: WasiHarness, name: string, a: string, b: string, fd = 3): number {
  const [pa, na] = h.str(a);
  const [pb, nb] = h.str(b);
  return name === "path_symlink"
    ? h.call(name, pa, na, fd, pb, nb)
    : h.call(name, fd, pa, na, fd, pb, nb);
}

function link(h: WasiHarness, from: string, to: string, follow = false): number {
  const [pa, na] = h.str(from);
  const [pb, nb] = h.str(to);
  return h.call("path_link", 3, follow ? 1 : 0, pa, na, 3, pb, nb);
}

function filestat(h: WasiHarness, path: string, follow = true) {
  const [p, n] = h.str(path);
  const buf = h.alloc(64);
  const errno = h.call("path_filestat_get", 3, follow ? 1 : 0, p, n, buf);
  return {
    errno,
    ino: h.u64(buf + 8),
    filetype: h.bytes(buf + 16, 1)[0],
    nlink: h.u64(buf + 24),
    size: h.u64(buf + 32),
    mtim: h.u64(buf + 48),
  };
}

Deno.test("wasi path_open: opens, creates, refuses O_EXCL on anything already there", async () => {
  using t = tempDir();
  Deno.writeTextFileSync(`${t.dir}/a.txt`, "alpha");
  Deno.symlinkSync("nowhere", `${t.dir}/dangling`);
  const h = await inDir(t.dir);
  const a = openPath(h, "a.txt");
  assert.equal(a.errno, Errno.success);
  assert.equal(a.fd, 4, "the lowest free descriptor after the preopen");
  assert.deepEqual(readFd(h, a.fd), [Errno.success, "alpha"]);
  assert.equal(openPath(h, "missing.txt").errno, Errno.noent);
  const created = openPath(h, "new.txt", { oflags: Oflags.creat });
  assert.equal(created.errno, Errno.success);
  assert.equal(Deno.statSync(`${t.dir}/new.txt`).isFile, true);
  assert.equal(openPath(h, "a.txt", { oflags: Oflags.creat | Oflags.excl }).errno, Errno.exist);
  assert.equal(openPath(h, "dangling", { oflags: Oflags.creat | Oflags.excl }).errno, Errno.exist);
  h.free();
});

Deno.test("wasi path_open: trailing slashes are for directories only", async () => {
  using t = tempDir();
  Deno.mkdirSync(`${t.dir}/dir/nested`, { recursive: true });
  Deno.writeTextFileSync(`${t.dir}/dir/nested/file`, "");
  const h = await inDir(t.dir);
  assert.equal(openPath(h, "dir/nested/file/").errno, Errno.notdir);
  assert.equal(openPath(h, "dir/nested/file///").errno, Errno.notdir);
  assert.equal(openPath(h, "dir/nested/").errno, Errno.success);
  assert.equal(openPath(h, "dir/nested///").errno, Errno.success);
  assert.equal(openPath(h, "dir/new-file/", { oflags: Oflags.creat }).errno, Errno.isdir);
  assert.equal(openPath(h, "dir/nested/file/x").errno, Errno.notdir);
  h.free();
});

Deno.test("wasi path_open: '..' and absolute paths never leave the directory", async () => {
  using outer = tempDir();
  Deno.mkdirSync(`${outer.dir}/root/dir/nested`, { recursive: true });
  Deno.writeTextFileSync(`${outer.dir}/root/dir/nested/file`, "inside");
  Deno.writeTextFileSync(`${outer.dir}/secret`, "outside");
  const h = await inDir(`${outer.dir}/root`);
  const inside = openPath(h, "dir/.//nested/../../dir/nested/../nested///./file");
  assert.equal(inside.errno, Errno.success);
  assert.deepEqual(readFd(h, inside.fd), [Errno.success, "inside"]);
  assert.equal(openPath(h, "../secret").errno, Errno.notcapable);
  assert.equal(openPath(h, "dir/nested/../../../secret").errno, Errno.notcapable);
  assert.equal(openPath(h, "..").errno, Errno.notcapable);
  assert.equal(openPath(h, "/dir/nested/file").errno, Errno.notcapable);
  assert.equal(openPath(h, `${outer.dir}/secret`).errno, Errno.notcapable);
  // A directory opened below the preopen is a boundary of its own.
  const dir = openPath(h, "dir", { oflags: Oflags.directory });
  assert.equal(openPath(h, "../dir/nested/file", { dirfd: dir.fd }).errno, Errno.notcapable);
  assert.equal(openPath(h, "nested/file", { dirfd: dir.fd }).errno, Errno.success);
  h.free();
});

Deno.test("wasi path_open: symlinks are followed inside and refused when they lead out", async () => {
  using outer = tempDir();
  const root = `${outer.dir}/root`;
  Deno.mkdirSync(`${root}/sub`, { recursive: true });
  Deno.writeTextFileSync(`${root}/target.txt`, "target");
  Deno.writeTextFileSync(`${outer.dir}/secret`, "outside");
  Deno.symlinkSync("target.txt", `${root}/rel`);
  Deno.symlinkSync("../target.txt", `${root}/sub/up`);
  Deno.symlinkSync("../secret", `${root}/escape`);
  Deno.symlinkSync(`${outer.dir}/secret`, `${root}/absolute`);
  Deno.symlinkSync("sub/../../secret", `${root}/sneaky`);
  Deno.symlinkSync(outer.dir, `${root}/outdir`);
  const h = await inDir(root);
  assert.deepEqual(readFd(h, openPath(h, "rel").fd), [Errno.success, "target"]);
  assert.deepEqual(readFd(h, openPath(h, "sub/up").fd), [Errno.success, "target"]);
  assert.equal(openPath(h, "escape").errno, Errno.notcapable);
  assert.equal(openPath(h, "absolute").errno, Errno.notcapable);
  assert.equal(openPath(h, "sneaky").errno, Errno.notcapable);
  assert.equal(openPath(h, "outdir/secret").errno, Errno.notcapable);
  assert.equal(openPath(h, "escape", { oflags: Oflags.creat }).errno, Errno.notcapable);
  // From a descriptor for sub/, "../target.txt" leaves it.
  const sub = openPath(h, "sub", { oflags: Oflags.directory });
  assert.equal(openPath(h, "up", { dirfd: sub.fd }).errno, Errno.notcapable);
  assert.equal(decoder.decode(Deno.readFileSync(`${outer.dir}/secret`)), "outside");
  h.free();
});

Deno.test("wasi path_open: links not followed, dangling and looping links", async () => {
  using t = tempDir();
  Deno.mkdirSync(`${t.dir}/target`);
  Deno.writeTextFileSync(`${t.dir}/file`, "f");
  Deno.symlinkSync("target", `${t.dir}/to_dir`);
  Deno.symlinkSync("file", `${t.dir}/to_file`);
  Deno.symlinkSync("missing", `${t.dir}/dangling`);
  Deno.symlinkSync("self", `${t.dir}/self`);
  Deno.symlinkSync("b", `${t.dir}/a`);
  Deno.symlinkSync("a", `${t.dir}/b`);
  const h = await inDir(t.dir);
  const nofollow = { follow: false };
  assert.equal(openPath(h, "to_dir", nofollow).errno, Errno.loop);
  assert.equal(openPath(h, "to_dir", { ...nofollow, oflags: Oflags.directory }).errno, Errno.loop);
  assert.equal(openPath(h, "to_file", nofollow).errno, Errno.loop);
  assert.equal(openPath(h, "dangling", nofollow).errno, Errno.loop);
  assert.equal(openPath(h, "to_dir", { oflags: Oflags.directory }).errno, Errno.success);
  assert.equal(openPath(h, "to_file", { oflags: Oflags.directory }).errno, Errno.notdir);
  assert.equal(openPath(h, "dangling").errno, Errno.noent);
  assert.equal(openPath(h, "dangling/x").errno, Errno.noent);
  assert.equal(openPath(h, "self").errno, Errno.loop);
  assert.equal(openPath(h, "a").errno, Errno.loop);
  assert.equal(openPath(h, "self/x", nofollow).errno, Errno.loop, "inner links always followed");
  // A trailing slash follows even without SYMLINK_FOLLOW.
  assert.equal(openPath(h, "to_dir/", nofollow).errno, Errno.success);
  // O_CREAT through a dangling link creates its target, inside the directory.
  assert.equal(openPath(h, "dangling", { oflags: Oflags.creat }).errno, Errno.success);
  assert.equal(Deno.statSync(`${t.dir}/missing`).isFile, true);
  h.free();
});

Deno.test("wasi path_open: directories, descriptor kinds and bad paths", async () => {
  using t = tempDir();
  Deno.mkdirSync(`${t.dir}/dir`);
  Deno.writeTextFileSync(`${t.dir}/file`, "f");
  const h = await inDir(t.dir);
  const rw = Rights.fd_read | Rights.fd_write;
  assert.equal(openPath(h, "file", { oflags: Oflags.directory }).errno, Errno.notdir);
  assert.equal(openPath(h, "dir", { base: BigInt(rw) }).errno, Errno.isdir);
  assert.equal(openPath(h, ".", { oflags: Oflags.directory, base: BigInt(rw) }).errno, Errno.isdir);
  assert.equal(openPath(h, "dir", { oflags: Oflags.trunc }).errno, Errno.isdir);
  assert.equal(openPath(h, ".", { base: 0n }).errno, Errno.success);
  assert.equal(
    openPath(h, ".", { oflags: Oflags.directory, base: BigInt(Rights.fd_read) }).errno,
    0,
  );
  const file = openPath(h, "file");
  assert.equal(openPath(h, "x", { dirfd: file.fd }).errno, Errno.notdir);
  assert.equal(openPath(h, "x", { dirfd: 1 }).errno, Errno.notdir);
  assert.equal(openPath(h, "x", { dirfd: 99 }).errno, Errno.badf);
  assert.equal(openPath(h, "").errno, Errno.noent);
  assert.equal(openPath(h, "file\0").errno, Errno.inval);
  const [p] = h.str("x");
  h.app.memory.setU8(p, 0xff);
  const out = h.alloc(4);
  assert.equal(h.call("path_open", 3, 0, p, 1, 0, 0n, 0n, 0, out), Errno.ilseq);
  h.free();
});

Deno.test("wasi path_open: rights narrow to the directory's inheriting rights", async () => {
  using t = tempDir();
  Deno.writeTextFileSync(`${t.dir}/file`, "data");
  const h = await inDir(t.dir);
  const ro = openPath(h, "file", { base: BigInt(Rights.fd_read), inheriting: 0n });
  const stat = h.alloc(24);
  assert.equal(h.call("fd_fdstat_get", ro.fd, stat), Errno.success);
  assert.equal(h.bytes(stat, 1)[0], Filetype.regular_file);
  assert.equal(h.u64(stat + 8), BigInt(Rights.fd_read));
  assert.equal(h.u64(stat + 16), 0n);
  const [p, n] = h.str("x");
  const iov = h.alloc(8);
  h.app.memory.setI32(iov, p);
  h.app.memory.setI32(iov + 4, n);
  assert.equal(h.call("fd_write", ro.fd, iov, 1, h.alloc(4)), Errno.notcapable);
  assert.equal(Deno.readTextFileSync(`${t.dir}/file`), "data");
  // O_TRUNC needs path_filestat_set_size on the directory.
  const dir = openPath(h, ".", { oflags: Oflags.directory });
  const rights = h.alloc(24);
  h.call("fd_fdstat_get", dir.fd, rights);
  const base = h.u64(rights + 8) & ~BigInt(Rights.path_filestat_set_size);
  assert.equal(h.call("fd_fdstat_set_rights", dir.fd, base, h.u64(rights + 16)), Errno.success);
  assert.equal(
    openPath(h, "file", { dirfd: dir.fd, oflags: Oflags.trunc }).errno,
    Errno.notcapable,
  );
  assert.equal(Deno.readTextFileSync(`${t.dir}/file`), "data");
  // Without write rights, O_TRUNC still truncates and the descriptor stays read-only.
  const trunc = openPath(h, "file", { oflags: Oflags.trunc, base: 0n });
  assert.equal(trunc.errno, Errno.success);
  assert.equal(Deno.readTextFileSync(`${t.dir}/file`), "");
  h.free();
});

Deno.test("wasi path_create_directory and path_remove_directory: errno cases", async () => {
  using t = tempDir();
  Deno.writeTextFileSync(`${t.dir}/file`, "");
  Deno.mkdirSync(`${t.dir}/full/inner`, { recursive: true });
  Deno.mkdirSync(`${t.dir}/target`);
  Deno.symlinkSync("target", `${t.dir}/link`);
  const h = await inDir(t.dir);
  assert.equal(onPath(h, "path_create_directory", 3, "made"), Errno.success);
  assert.equal(Deno.statSync(`${t.dir}/made`).isDirectory, true);
  assert.equal(onPath(h, "path_create_directory", 3, "made"), Errno.exist);
  assert.equal(onPath(h, "path_create_directory", 3, "link"), Errno.exist);
  assert.equal(onPath(h, "path_create_directory", 3, "no/such"), Errno.noent);
  assert.equal(onPath(h, "path_create_directory", 3, "file/sub"), Errno.notdir);
  assert.equal(onPath(h, "path_create_directory", 3, "../up"), Errno.notcapable);
  assert.equal(onPath(h, "path_create_directory", 3, "slash/"), Errno.success);
  assert.equal(onPath(h, "path_remove_directory", 3, "made/"), Errno.success);
  assert.equal(onPath(h, "path_remove_directory", 3, "slash"), Errno.success);
  assert.equal(onPath(h, "path_remove_directory", 3, "made"), Errno.noent);
  assert.equal(onPath(h, "path_remove_directory", 3, "full"), Errno.notempty);
  assert.equal(onPath(h, "path_remove_directory", 3, "file"), Errno.notdir);
  assert.equal(onPath(h, "path_remove_directory", 3, "file/"), Errno.notdir);
  assert.equal(onPath(h, "path_remove_directory", 3, "link"), Errno.notdir);
  assert.equal(onPath(h, "path_remove_directory", 3, "."), Errno.inval);
  assert.equal(Deno.statSync(`${t.dir}/target`).isDirectory, true);
  h.free();
});

Deno.test("wasi path_unlink_file: files and links go, directories stay", async () => {
  using t = tempDir();
  Deno.writeTextFileSync(`${t.dir}/file`, "");
  Deno.writeTextFileSync(`${t.dir}/kept`, "k");
  Deno.mkdirSync(`${t.dir}/dir`);
  Deno.symlinkSync("kept", `${t.dir}/link`);
  Deno.symlinkSync("missing", `${t.dir}/dangling`);
  const h = await inDir(t.dir);
  assert.equal(onPath(h, "path_unlink_file", 3, "dir"), Errno.isdir);
  assert.equal(onPath(h, "path_unlink_file", 3, "dir/"), Errno.isdir);
  assert.equal(onPath(h, "path_unlink_file", 3, "file/"), Errno.notdir);
  assert.equal(onPath(h, "path_unlink_file", 3, "file"), Errno.success);
  assert.equal(onPath(h, "path_unlink_file", 3, "file"), Errno.noent);
  assert.equal(onPath(h, "path_unlink_file", 3, "link"), Errno.success);
  assert.equal(Deno.readTextFileSync(`${t.dir}/kept`), "k", "the link's target stays");
  assert.equal(onPath(h, "path_unlink_file", 3, "dangling"), Errno.success);
  assert.equal(onPath(h, "path_unlink_file", 3, "../kept"), Errno.notcapable);
  h.free();
});

Deno.test("wasi path_rename: files, directories, and what may not be replaced", async () => {
  using t = tempDir();
  const h = await inDir(t.dir);
  const mk = (p: string) => Deno.mkdirSync(`${t.dir}/${p}`, { recursive: true });
  const file = (p: string, text = "") => Deno.writeTextFileSync(`${t.dir}/${p}`, text);
  file("a", "A");
  assert.equal(twoPaths(h, "path_rename", "a", "b"), Errno.success);
  assert.equal(Deno.readTextFileSync(`${t.dir}/b`), "A");
  file("c", "C");
  assert.equal(twoPaths(h, "path_rename", "c", "b"), Errno.success, "a file replaces a file");
  assert.equal(Deno.readTextFileSync(`${t.dir}/b`), "C");
  mk("src");
  mk("empty");
  assert.equal(twoPaths(h, "path_rename", "src", "empty"), Errno.success, "over an empty dir");
  mk("src");
  mk("full/x");
  assert.equal(twoPaths(h, "path_rename", "src", "full"), Errno.notempty);
  file("full/file");
  assert.equal(twoPaths(h, "path_rename", "src", "full/file"), Errno.notdir);
  assert.equal(twoPaths(h, "path_rename", "b", "full"), Errno.isdir);
  assert.equal(twoPaths(h, "path_rename", "missing", "x"), Errno.noent);
  assert.equal(twoPaths(h, "path_rename", "b/", "x"), Errno.notdir);
  assert.equal(twoPaths(h, "path_rename", "b", "x/"), Errno.notdir);
  assert.equal(twoPaths(h, "path_rename", "src/", "moved"), Errno.success);
  assert.equal(twoPaths(h, "path_rename", "moved", "src/"), Errno.success);
  assert.equal(twoPaths(h, "path_rename", "src/", "moved/"), Errno.success);
  assert.equal(twoPaths(h, "path_rename", "b", "../out"), Errno.notcapable);
  assert.equal(twoPaths(h, "path_rename", "moved", "moved/inside"), Errno.inval);
  assert.equal(Deno.statSync(`${t.dir}/moved`).isDirectory, true);
  h.free();
});

Deno.test("wasi path_rename: between two preopened directories", async () => {
  using a = tempDir();
  using b = tempDir();
  Deno.writeTextFileSync(`${a.dir}/f`, "moved");
  const h = await wasiHarness({
    preopens: [{ guest: "/a", host: a.dir }, { guest: "/b", host: b.dir }],
  });
  const [pa, na] = h.str("f");
  const [pb, nb] = h.str("g");
  assert.equal(h.call("path_rename", 3, pa, na, 4, pb, nb), Errno.success);
  assert.equal(Deno.readTextFileSync(`${b.dir}/g`), "moved");
  h.free();
});

Deno.test("wasi path_symlink and path_readlink: contents, truncation, trailing slashes", async () => {
  using t = tempDir();
  Deno.writeTextFileSync(`${t.dir}/file`, "");
  Deno.mkdirSync(`${t.dir}/dir`);
  const h = await inDir(t.dir);
  assert.equal(twoPaths(h, "path_symlink", "target", "link"), Errno.success);
  assert.equal(Deno.readLinkSync(`${t.dir}/link`), "target");
  assert.equal(twoPaths(h, "path_symlink", "/etc", "abs"), Errno.notcapable);
  assert.equal(twoPaths(h, "path_symlink", "x", "link"), Errno.exist);
  assert.equal(twoPaths(h, "path_symlink", "x", "dir"), Errno.exist);
  assert.equal(twoPaths(h, "path_symlink", "x", "dir/"), Errno.exist);
  assert.equal(twoPaths(h, "path_symlink", "x", "file/"), Errno.notdir);
  assert.equal(twoPaths(h, "path_symlink", "x", "new/"), Errno.noent);
  assert.equal(twoPaths(h, "path_symlink", "x", "../out"), Errno.notcapable);
  const readlink = (path: string, size: number) => {
    const [p, n] = h.str(path);
    const buf = h.alloc(size + 4);
    const used = h.alloc(4);
    const errno = h.call("path_readlink", 3, p, n, buf, size, used);
    return {
      errno,
      text: decoder.decode(h.bytes(buf, h.u32(used))),
      after: h.bytes(buf + size, 4),
    };
  };
  assert.deepEqual(readlink("link", 10).text, "target");
  const short = readlink("link", 4);
  assert.equal(short.errno, Errno.success);
  assert.equal(short.text, "targ", "truncated to the buffer");
  assert.deepEqual(short.after, new Uint8Array(4), "nothing written past it");
  assert.equal(readlink("file", 10).errno, Errno.inval);
  assert.equal(readlink("missing", 10).errno, Errno.noent);
  h.free();
});

Deno.test("wasi path_link: hard links, and what cannot be linked", async () => {
  using t = tempDir();
  Deno.writeTextFileSync(`${t.dir}/file`, "f");
  Deno.mkdirSync(`${t.dir}/dir`);
  Deno.symlinkSync("missing", `${t.dir}/dangling`);
  const h = await inDir(t.dir);
  assert.equal(link(h, "file", "hard"), Errno.success);
  const a = filestat(h, "file");
  const b = filestat(h, "hard");
  assert.equal(a.ino, b.ino);
  assert.equal(b.nlink, 2n);
  assert.equal(link(h, "file", "hard"), Errno.exist);
  assert.equal(link(h, "file", "file"), Errno.exist);
  assert.equal(link(h, "file", "dir"), Errno.exist);
  assert.equal(link(h, "file", "dangling"), Errno.exist);
  assert.equal(link(h, "dir", "dirlink"), Errno.perm);
  assert.equal(link(h, "file", "new/"), Errno.noent);
  assert.equal(link(h, "dangling", "link2"), Errno.success, "the link itself is linked");
  assert.equal(Deno.lstatSync(`${t.dir}/link2`).isSymlink, true);
  assert.equal(link(h, "dangling", "link3", true), Errno.noent);
  assert.equal(link(h, "file", "../out"), Errno.notcapable);
  h.free();
});

Deno.test("wasi path_filestat_get and _set_times: follow, sizes, fstflags", async () => {
  using t = tempDir();
  Deno.writeTextFileSync(`${t.dir}/file`, "12345");
  Deno.symlinkSync("file", `${t.dir}/link`);
  const h = await inDir(t.dir);
  const st = filestat(h, "file");
  assert.equal(st.errno, Errno.success);
  assert.equal(st.filetype, Filetype.regular_file);
  assert.equal(st.size, 5n);
  assert.equal(filestat(h, "link", true).filetype, Filetype.regular_file);
  assert.equal(filestat(h, "link", false).filetype, Filetype.symbolic_link);
  assert.equal(filestat(h, ".").filetype, Filetype.directory);
  assert.equal(filestat(h, "missing").errno, Errno.noent);
  const setTimes = (path: string, mtim: bigint, flags: number, follow = true) => {
    const [p, n] = h.str(path);
    return h.call("path_filestat_set_times", 3, follow ? 1 : 0, p, n, 0n, mtim, flags);
  };
  // Deno keeps timestamps to the millisecond.
  const mtim = 1_700_000_000_123_000_000n;
  assert.equal(setTimes("file", mtim, Fstflags.mtim), Errno.success);
  assert.equal(filestat(h, "file").mtim, mtim);
  assert.equal(setTimes("file", 5n, Fstflags.mtim | Fstflags.mtim_now), Errno.inval);
  assert.equal(setTimes("file", 5n, Fstflags.atim | Fstflags.atim_now), Errno.inval);
  assert.equal(filestat(h, "file").mtim, mtim, "unchanged after inval");
  assert.equal(setTimes("link", mtim + 1_000_000n, Fstflags.mtim, true), Errno.success);
  assert.equal(filestat(h, "file").mtim, mtim + 1_000_000n, "set through the link");
  assert.equal(setTimes("link", mtim, Fstflags.mtim, false), Errno.notsup);
  const before = Date.now();
  assert.equal(setTimes("file", 0n, Fstflags.mtim_now), Errno.success);
  assert.ok(filestat(h, "file").mtim >= BigInt(before - 1000) * 1_000_000n);
  h.free();
});

Deno.test("wasi preopens: a preopened directory reached through a link works as itself", async () => {
  using t = tempDir();
  Deno.mkdirSync(`${t.dir}/real`);
  Deno.writeTextFileSync(`${t.dir}/real/f`, "through");
  Deno.symlinkSync("real", `${t.dir}/alias`);
  const h = await wasiHarness({ preopens: [{ guest: "/", host: `${t.dir}/alias/` }] });
  assert.equal(openPath(h, ".", { oflags: Oflags.directory }).errno, Errno.success);
  assert.deepEqual(readFd(h, openPath(h, "f").fd), [Errno.success, "through"]);
  assert.equal(filestat(h, ".").filetype, Filetype.directory);
  assert.equal(openPath(h, "../real/f").errno, Errno.notcapable);
  h.free();
});
