import assert from "node:assert/strict";
import { Runtime } from "../core/instance/runtime.ts";
import libc from "../natives/libc/mod.ts";
import { createWasiLibrary } from "../natives/wasi/library.ts";
import { MemoryFs } from "../natives/wasi/memory_fs.ts";
import { Errno, Filetype, WasiFsError, type WasiOpenOptions } from "../natives/wasi/mod.ts";

const RW: WasiOpenOptions = {
  read: true,
  write: true,
  create: true,
  exclusive: false,
  truncate: false,
};

function errnoOf(fn: () => unknown): number | undefined {
  try {
    fn();
    return undefined;
  } catch (e) {
    if (e instanceof WasiFsError) return e.errno;
    throw e;
  }
}

Deno.test("memory fs: failures carry POSIX's errno, as Deno's file system reports them", () => {
  const fs = new MemoryFs();
  fs.mkdirp("/t/full/sub");
  fs.mkdir("/t/empty");
  fs.writeFile("/t/file", "x");
  assert.equal(errnoOf(() => fs.lstat("/t/missing")), Errno.noent);
  assert.equal(errnoOf(() => fs.rmdir("/t/full")), Errno.notempty);
  assert.equal(errnoOf(() => fs.mkdir("/t/full")), Errno.exist);
  assert.equal(errnoOf(() => fs.link("/t/empty", "/t/l")), Errno.perm);
  assert.equal(errnoOf(() => fs.lstat("/t/file/x")), Errno.notdir);
  assert.equal(errnoOf(() => fs.rename("/t/file", "/t/empty")), Errno.isdir);
  assert.equal(errnoOf(() => fs.rename("/t/empty", "/t/file")), Errno.notdir);
  assert.equal(errnoOf(() => fs.rename("/t/empty", "/t/full")), Errno.notempty);
  assert.equal(errnoOf(() => fs.rename("/t/full", "/t/full/sub/in")), Errno.inval);
  assert.equal(errnoOf(() => fs.readLink("/t/file")), Errno.inval);
  assert.equal(errnoOf(() => fs.unlink("/t/empty")), Errno.isdir);
  assert.equal(errnoOf(() => fs.rmdir("/t/file")), Errno.notdir);
  assert.equal(errnoOf(() => fs.open("/t/file", { ...RW, exclusive: true })), Errno.exist);
  assert.equal(errnoOf(() => fs.open("/t/none", { ...RW, create: false })), Errno.noent);
  assert.equal(errnoOf(() => fs.open("/t/full", RW)), Errno.isdir);
  fs.symlink("loop", "/t/loop");
  assert.equal(errnoOf(() => fs.stat("/t/loop")), Errno.loop);
});

Deno.test("memory fs: files read, write, seek, truncate and keep their position", () => {
  const fs = new MemoryFs();
  const file = fs.open("/f", RW);
  assert.equal(file.write(new TextEncoder().encode("hello world")), 11);
  assert.equal(file.seek(0, 1), 11);
  assert.equal(file.seek(-5, 2), 6);
  const five = new Uint8Array(5);
  assert.equal(file.read(five), 5);
  assert.equal(new TextDecoder().decode(five), "world");
  assert.equal(file.read(five), 0, "at the end");
  assert.equal(file.pwrite(new TextEncoder().encode("J"), 0), 1);
  assert.equal(file.seek(0, 1), 11, "pwrite leaves the position");
  assert.equal(file.pread(five, 0), 5);
  assert.equal(new TextDecoder().decode(five), "Jello");
  file.seek(20, 0);
  file.write(new Uint8Array([33]));
  assert.equal(file.stat().size, 21n);
  assert.deepEqual([...fs.readFile("/f").subarray(11, 20)], new Array(9).fill(0), "a hole reads 0");
  file.truncate(4);
  assert.equal(fs.readTextFile("/f"), "Jell");
  file.truncate(6);
  assert.deepEqual([...fs.readFile("/f")], [74, 101, 108, 108, 0, 0], "extended with zeros");
  assert.equal(errnoOf(() => file.seek(-1, 0)), Errno.inval);
  fs.open("/f", { ...RW, truncate: true }).close();
  assert.equal(fs.readTextFile("/f"), "");
});

Deno.test("memory fs: links, renames, listings and timestamps", () => {
  let now = 1_000;
  const fs = new MemoryFs(() => now);
  fs.writeFile("/d/a", "A");
  now = 2_000;
  fs.link("/d/a", "/d/b");
  assert.equal(fs.lstat("/d/a").nlink, 2n);
  assert.equal(fs.lstat("/d/a").ino, fs.lstat("/d/b").ino);
  fs.unlink("/d/a");
  assert.equal(fs.readTextFile("/d/b"), "A", "the other name keeps the data");
  assert.equal(fs.lstat("/d/b").nlink, 1n);
  fs.symlink("b", "/d/s");
  assert.equal(fs.lstat("/d/s").filetype, Filetype.symbolic_link);
  assert.equal(fs.stat("/d/s").filetype, Filetype.regular_file);
  assert.equal(fs.readLink("/d/s"), "b");
  fs.mkdir("/d/sub");
  fs.rename("/d/b", "/d/sub/c");
  fs.writeFile("/d/x", "X");
  fs.rename("/d/x", "/d/sub/c"); // replaces
  assert.equal(fs.readTextFile("/d/sub/c"), "X");
  fs.rename("/d/sub", "/e");
  assert.deepEqual(fs.readDir("/e").map((e) => e.name), ["c"]);
  assert.deepEqual(
    fs.readDir("/d").map((e) => [e.name, e.filetype]).sort(),
    [["s", Filetype.symbolic_link]],
  );
  assert.equal(fs.lstat("/d/s").mtim, 2_000_000_000n);
  fs.setTimes("/e/c", { atim: 5n, mtim: undefined });
  const stat = fs.lstat("/e/c");
  assert.equal(stat.atim, 5n);
  assert.equal(stat.mtim, 2_000_000_000n);
  assert.equal(fs.lstat("/").filetype, Filetype.directory);
});

Deno.test("memory fs: a WASI app copies a file between preopened directories in memory", async () => {
  const fs = new MemoryFs();
  fs.writeFile("/in/a.txt", "in memory\n");
  fs.mkdirp("/out");
  let out = "";
  const wasi = createWasiLibrary({
    fs,
    args: ["wasi_app", "/in/a.txt", "/out/b.txt", "0"],
    env: { GREETING: "hi" },
    preopens: [{ host: "/in", guest: "/in" }, { host: "/out", guest: "/out" }],
  });
  const runtime = new Runtime({
    plugins: [libc, wasi],
    stdout: (b) => out += new TextDecoder().decode(b),
  });
  const app = await runtime.instantiate(
    await runtime.load(new URL("../examples/wasi/c/wasi_app.wasm", import.meta.url)),
    { heapSize: 0 },
  );
  try {
    await app.callMainAsync(["wasi_app"]);
  } finally {
    app.stdout.flush();
    app.free();
  }
  assert.equal(app.exitCode, 0);
  assert.match(out, /copy \/in\/a\.txt -> \/out\/b\.txt: 10 bytes\n/);
  assert.equal(fs.readTextFile("/out/b.txt"), "in memory\n");
  // The sandbox still guards the preopens: `..` above one is refused.
  out = "";
  const escape = runtime.register(
    wasi.configure({ args: ["wasi_app", "/in/../../etc/x", "/out/c.txt", "0"] }),
  );
  const again = await escape.instantiate(
    await escape.load(new URL("../examples/wasi/c/wasi_app.wasm", import.meta.url)),
    { heapSize: 0 },
  );
  try {
    await again.callMainAsync(["wasi_app"]).catch(() => {});
  } finally {
    again.stdout.flush();
    again.free();
  }
  assert.match(out, /errno 76/);
});
