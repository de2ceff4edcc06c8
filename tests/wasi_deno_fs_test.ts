// The Deno file system behind WASI: errno mapping, opening without write access, positions
// kept by pread/pwrite, timestamps, directory listings.
import assert from "node:assert/strict";
import { denoFs, Errno, errnoOfDenoError, Filetype, WasiFsError } from "../natives/wasi/mod.ts";
import { tempDir } from "./_wasi.ts";

function errnoOf(fn: () => unknown): number | undefined {
  try {
    fn();
  } catch (e) {
    return e instanceof WasiFsError ? e.errno : errnoOfDenoError(e);
  }
  return undefined;
}

Deno.test("wasi deno_fs: host errors become their WASI errno", () => {
  using t = tempDir();
  Deno.mkdirSync(`${t.dir}/full/x`, { recursive: true });
  Deno.mkdirSync(`${t.dir}/empty`);
  Deno.writeTextFileSync(`${t.dir}/file`, "");
  assert.equal(errnoOf(() => denoFs.lstat(`${t.dir}/missing`)), Errno.noent);
  assert.equal(errnoOf(() => denoFs.rmdir(`${t.dir}/full`)), Errno.notempty);
  assert.equal(errnoOf(() => denoFs.mkdir(`${t.dir}/full`)), Errno.exist);
  assert.equal(errnoOf(() => denoFs.link(`${t.dir}/empty`, `${t.dir}/l`)), Errno.perm);
  assert.equal(errnoOf(() => denoFs.lstat(`${t.dir}/file/x`)), Errno.notdir);
  assert.equal(errnoOf(() => denoFs.rename(`${t.dir}/file`, `${t.dir}/empty`)), Errno.isdir);
  assert.equal(errnoOf(() => denoFs.readLink(`${t.dir}/file`)), Errno.inval);
  assert.equal(errnoOfDenoError(new Deno.errors.NotCapable("no")), Errno.notcapable);
  assert.equal(errnoOfDenoError(Object.assign(new Error("x"), { code: "E2BIG" })), Errno["2big"]);
  assert.equal(
    errnoOfDenoError(Object.assign(new Error("x"), { code: "EOPNOTSUPP" })),
    Errno.notsup,
  );
  assert.equal(errnoOfDenoError(new Error("plain")), Errno.io);
});

Deno.test("wasi deno_fs: a file opened without write access is read-only on the host too", () => {
  using t = tempDir();
  const path = `${t.dir}/f`;
  const o = { read: false, write: false, create: true, exclusive: false, truncate: false };
  const created = denoFs.open(path, o);
  assert.equal(created.stat().size, 0n);
  assert.equal(errnoOf(() => created.write(new Uint8Array([1]))), Errno.badf);
  created.close();
  Deno.writeTextFileSync(path, "data");
  denoFs.open(path, { ...o, create: false, truncate: true }).close();
  assert.equal(Deno.readTextFileSync(path), "", "truncated without a writable descriptor");
  assert.equal(errnoOf(() => denoFs.open(path, { ...o, exclusive: true })), Errno.exist);
  const rw = denoFs.open(path, { ...o, create: false, read: true, write: true });
  assert.equal(rw.write(new TextEncoder().encode("abcdef")), 6);
  rw.seek(1, 0);
  const buf = new Uint8Array(2);
  assert.equal(rw.pread(buf, 3), 2);
  assert.equal(new TextDecoder().decode(buf), "de");
  assert.equal(rw.pwrite(new TextEncoder().encode("XY"), 8), 2);
  assert.equal(rw.seek(0, 1), 1, "pread and pwrite keep the position");
  assert.deepEqual(Deno.readFileSync(path), new TextEncoder().encode("abcdef\0\0XY"));
  rw.close();
  rw.close();
});

Deno.test("wasi deno_fs: timestamps in nanoseconds at Deno's millisecond resolution", () => {
  using t = tempDir();
  const path = `${t.dir}/f`;
  Deno.writeTextFileSync(path, "");
  Deno.utimeSync(path, new Date(1_500_000_000_000), new Date(1_600_000_000_000));
  denoFs.setTimes(path, { atim: undefined, mtim: 1_700_000_000_123_456_789n });
  const st = denoFs.lstat(path);
  assert.equal(st.mtim, 1_700_000_000_123_000_000n);
  assert.equal(st.atim, 1_500_000_000_000_000_000n, "the other time is kept");
  const file = denoFs.open(path, {
    read: true,
    write: false,
    create: false,
    exclusive: false,
    truncate: false,
  });
  file.setTimes({ atim: 1_000_000n, mtim: undefined });
  assert.equal(file.stat().atim, 1_000_000n);
  assert.equal(file.stat().mtim, 1_700_000_000_123_000_000n);
  file.close();
});

Deno.test("wasi deno_fs: listings carry types and inodes, not . and ..", () => {
  using t = tempDir();
  Deno.writeTextFileSync(`${t.dir}/f`, "");
  Deno.mkdirSync(`${t.dir}/d`);
  Deno.symlinkSync("f", `${t.dir}/l`);
  const entries = denoFs.readDir(t.dir).sort((a, b) => a.name < b.name ? -1 : 1);
  assert.deepEqual(entries.map((e) => [e.name, e.filetype]), [
    ["d", Filetype.directory],
    ["f", Filetype.regular_file],
    ["l", Filetype.symbolic_link],
  ]);
  assert.equal(entries[1]!.ino, BigInt(Deno.statSync(`${t.dir}/f`).ino!));
  assert.equal(denoFs.stat(`${t.dir}/l`).filetype, Filetype.regular_file);
  assert.equal(denoFs.lstat(`${t.dir}/l`).filetype, Filetype.symbolic_link);
});
