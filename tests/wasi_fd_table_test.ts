// The descriptor table: lowest free numbers, renumbering, closing, limits.
import assert from "node:assert/strict";
import {
  Errno,
  type FdEntry,
  FdTable,
  Filetype,
  MAX_FDS,
  type WasiFile,
  WasiFsError,
} from "../natives/wasi/mod.ts";

function entry(name: string, closed?: string[]): FdEntry {
  const file = closed ? ({ close: () => closed.push(name) } as unknown as WasiFile) : undefined;
  return {
    kind: file ? "file" : "directory",
    filetype: file ? Filetype.regular_file : Filetype.directory,
    rightsBase: 0,
    rightsInheriting: 0,
    flags: 0,
    host: `/${name}`,
    depth: 0,
    ...(file ? { file } : {}),
  };
}

function errnoOf(fn: () => unknown): number | undefined {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof WasiFsError);
    return e.errno;
  }
  return undefined;
}

Deno.test("wasi fd_table: new descriptors take the lowest free number", () => {
  const table = new FdTable();
  assert.deepEqual(["a", "b", "c", "d"].map((n) => table.add(entry(n))), [0, 1, 2, 3]);
  table.close(1);
  table.close(2);
  assert.equal(table.add(entry("e")), 1);
  assert.equal(table.add(entry("f")), 2);
  assert.equal(table.add(entry("g")), 4);
  assert.equal(table.get(2)?.host, "/f");
  assert.equal(table.get(-1), undefined, "negative i32s are large unsigned numbers");
});

Deno.test("wasi fd_table: renumber closes the target's file and frees the source number", () => {
  const closed: string[] = [];
  const table = new FdTable();
  table.add(entry("a", closed));
  table.add(entry("b", closed));
  table.renumber(0, 1);
  assert.deepEqual(closed, ["b"]);
  assert.equal(table.get(1)?.host, "/a");
  assert.equal(table.get(0), undefined);
  assert.equal(table.add(entry("c", closed)), 0);
  assert.equal(errnoOf(() => table.renumber(0, 7)), Errno.badf);
  assert.equal(errnoOf(() => table.renumber(7, 0)), Errno.badf);
  table.renumber(1, 1);
  assert.deepEqual(closed, ["b"], "renumbering onto itself closes nothing");
  table.closeAll();
  assert.deepEqual(closed.sort(), ["a", "b", "c"]);
  assert.equal(errnoOf(() => table.need(0)), Errno.badf);
});

Deno.test("wasi fd_table: past MAX_FDS open descriptors, mfile", () => {
  const table = new FdTable();
  const shared = entry("x");
  for (let i = 0; i < MAX_FDS; i++) table.add(shared);
  assert.equal(errnoOf(() => table.add(shared)), Errno.mfile);
  table.close(100);
  assert.equal(table.add(shared), 100);
});
