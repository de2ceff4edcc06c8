// The sandbox's path resolution, on an in-memory file system (the WasiFs interface a browser
// build would implement) and through real wasm on top of it.
import assert from "node:assert/strict";
import {
  Errno,
  Filetype,
  MAX_SYMLINK_HOPS,
  Oflags,
  type WasiDirEntry,
  type WasiFile,
  type WasiFs,
  WasiFsError,
  type WasiOpenOptions,
  type WasiStat,
  type WasiTimes,
} from "../natives/wasi/mod.ts";
import { decodePath, resolvePath } from "../natives/wasi/sandbox.ts";
import { openPath, readFd, wasiHarness, writeFd } from "./_wasi.ts";

interface _Node {
  type: "dir" | "file" | "link";
  ino: bigint;
  data: Uint8Array;
  target: string;
  mtim: bigint;
}

/** A small in-memory WasiFs: enough for the sandbox and for apps to read and write. */
class MemoryFs implements WasiFs {
  readonly nodes = new Map<string, _Node>();
  #ino = 1n;

  constructor(tree: Record<string, string | { link: string } | null>) {
    this.#add("/", "dir");
    for (const [path, value] of Object.entries(tree)) {
      if (value === null) this.#add(path, "dir");
      else if (typeof value === "string") {
        this.#add(path, "file").data = new TextEncoder().encode(value);
      } else this.#add(path, "link").target = value.link;
    }
  }

  #add(path: string, type: _Node["type"]): _Node {
    const node = { type, ino: this.#ino++, data: new Uint8Array(), target: "", mtim: 0n };
    this.nodes.set(path, node);
    return node;
  }

  #get(path: string): _Node {
    const node = this.nodes.get(path);
    if (!node) throw new WasiFsError(Errno.noent, `no ${path}`);
    return node;
  }

  #stat(node: _Node): WasiStat {
    const filetype = {
      dir: Filetype.directory,
      file: Filetype.regular_file,
      link: Filetype.symbolic_link,
    }[node.type];
    return {
      filetype,
      dev: 1n,
      ino: node.ino,
      nlink: 1n,
      size: BigInt(node.data.length),
      atim: 0n,
      mtim: node.mtim,
      ctim: 0n,
    };
  }

  lstat(path: string): WasiStat {
    return this.#stat(this.#get(path));
  }
  stat(path: string): WasiStat {
    return this.lstat(path);
  }
  readLink(path: string): string {
    return this.#get(path).target;
  }
  readDir(path: string): WasiDirEntry[] {
    const prefix = path === "/" ? "/" : `${path}/`;
    return [...this.nodes].filter(([p]) =>
      p.startsWith(prefix) && p !== prefix && !p.slice(prefix.length).includes("/")
    )
      .map(([p, n]) => ({
        name: p.slice(prefix.length),
        filetype: this.#stat(n).filetype,
        ino: n.ino,
      }));
  }
  mkdir(path: string): void {
    this.#add(path, "dir");
  }
  rmdir(path: string): void {
    if (this.readDir(path).length > 0) throw new WasiFsError(Errno.notempty, "not empty");
    this.nodes.delete(path);
  }
  unlink(path: string): void {
    this.nodes.delete(path);
  }
  rename(from: string, to: string): void {
    this.nodes.set(to, this.#get(from));
    this.nodes.delete(from);
  }
  link(from: string, to: string): void {
    this.nodes.set(to, this.#get(from));
  }
  symlink(target: string, path: string): void {
    this.#add(path, "link").target = target;
  }
  setTimes(path: string, times: WasiTimes): void {
    this.#get(path).mtim = times.mtim ?? this.#get(path).mtim;
  }
  open(path: string, o: WasiOpenOptions): WasiFile {
    const node = this.nodes.get(path) ?? (o.create ? this.#add(path, "file") : this.#get(path));
    if (o.truncate) node.data = new Uint8Array();
    let position = 0;
    const stat = (): WasiStat => this.#stat(node);
    return {
      read(into) {
        const n = Math.max(0, Math.min(into.length, node.data.length - position));
        into.set(node.data.subarray(position, position + n));
        position += n;
        return n;
      },
      write(from) {
        this.pwrite(from, position);
        position += from.length;
        return from.length;
      },
      pread(into, offset) {
        const n = Math.max(0, Math.min(into.length, node.data.length - offset));
        into.set(node.data.subarray(offset, offset + n));
        return n;
      },
      pwrite(from, offset) {
        if (offset + from.length > node.data.length) this.truncate(offset + from.length);
        node.data.set(from, offset);
        return from.length;
      },
      seek(offset, whence) {
        const base = whence === 0 ? 0 : whence === 1 ? position : node.data.length;
        if (base + offset < 0) throw new WasiFsError(Errno.inval, "negative");
        return position = base + offset;
      },
      stat,
      truncate(size) {
        const data = new Uint8Array(size);
        data.set(node.data.subarray(0, size));
        node.data = data;
      },
      setTimes(times) {
        node.mtim = times.mtim ?? node.mtim;
      },
      sync() {},
      datasync() {},
      close() {},
    };
  }
}

function _errno(fn: () => unknown): number {
  try {
    fn();
  } catch (e) {
    if (e instanceof WasiFsError) return e.errno;
    throw e;
  }
  return Errno.success;
}

Deno.test("wasi sandbox: resolvePath walks '.', '..' and slashes without leaving the start", () => {
  const fs = new MemoryFs({ "/r": null, "/r/a": null, "/r/a/b": null, "/r/a/f": "x" });
  const r = resolvePath(fs, "/r", "a//./b/../f", true);
  assert.deepEqual([r.host, r.parent, r.name, r.depth], ["/r/a/f", "/r/a", "f", 2]);
  const back = resolvePath(fs, "/r", "a/b/..", true);
  assert.deepEqual([back.host, back.parent, back.name], ["/r/a", "/r", "a"]);
  const self = resolvePath(fs, "/r", "a/..", true);
  assert.deepEqual([self.host, self.name, self.depth], ["/r", undefined, 0]);
  assert.equal(resolvePath(fs, "/r", "new", true).stat, undefined, "a missing final component");
  assert.equal(_errno(() => resolvePath(fs, "/r", "..", true)), Errno.notcapable);
  assert.equal(_errno(() => resolvePath(fs, "/r", "a/../..", true)), Errno.notcapable);
  assert.equal(_errno(() => resolvePath(fs, "/r", "a/../../r/a", true)), Errno.notcapable);
  assert.equal(_errno(() => resolvePath(fs, "/r", "/r/a", true)), Errno.notcapable);
  assert.equal(_errno(() => resolvePath(fs, "/r", "", true)), Errno.noent);
  assert.equal(_errno(() => resolvePath(fs, "/r", "x/y", true)), Errno.noent);
  assert.equal(_errno(() => resolvePath(fs, "/r", "a/f/g", true)), Errno.notdir);
  assert.equal(_errno(() => resolvePath(fs, "/r", "a/f/", true)), Errno.notdir);
  assert.equal(_errno(() => resolvePath(fs, "/r", "a/f/.", true)), Errno.notdir);
  assert.equal(resolvePath(fs, "/r", "a/b/", true).trailingSlash, true);
  assert.equal(resolvePath(fs, "/", "r/a", true).host, "/r/a", "a start at the host's root");
});

Deno.test("wasi sandbox: links are read by the sandbox, never by the host, and never lead out", () => {
  const fs = new MemoryFs({
    "/r": null,
    "/r/d": null,
    "/r/d/f": "x",
    "/r/to_d": { link: "d" },
    "/r/d/up": { link: "../d/f" },
    "/r/out": { link: "../secret" },
    "/r/abs": { link: "/r/d/f" },
    "/r/empty": { link: "" },
    "/secret": "s",
  });
  assert.equal(
    resolvePath(fs, "/r", "to_d/f", false).host,
    "/r/d/f",
    "inner links always followed",
  );
  assert.equal(resolvePath(fs, "/r", "d/up", true).host, "/r/d/f");
  assert.equal(resolvePath(fs, "/r", "d/up", false).stat?.filetype, Filetype.symbolic_link);
  assert.equal(resolvePath(fs, "/r", "to_d/", false).host, "/r/d", "a trailing slash follows");
  assert.equal(_errno(() => resolvePath(fs, "/r/d", "up", true)), Errno.notcapable);
  assert.equal(_errno(() => resolvePath(fs, "/r", "out", true)), Errno.notcapable);
  assert.equal(_errno(() => resolvePath(fs, "/r", "abs", true)), Errno.notcapable, "even inside");
  assert.equal(_errno(() => resolvePath(fs, "/r", "empty", true)), Errno.noent);
  assert.equal(resolvePath(fs, "/r", "out", false).name, "out", "not followed: the link itself");
});

Deno.test("wasi sandbox: 40 links in a row resolve, 41 are a loop", () => {
  const tree: Record<string, string | { link: string } | null> = { "/r": null, "/r/end": "x" };
  for (let i = 0; i <= MAX_SYMLINK_HOPS; i++) {
    tree[`/r/l${i}`] = { link: i === 0 ? "end" : `l${i - 1}` };
  }
  const fs = new MemoryFs(tree);
  assert.equal(resolvePath(fs, "/r", `l${MAX_SYMLINK_HOPS - 1}`, true).host, "/r/end");
  assert.equal(_errno(() => resolvePath(fs, "/r", `l${MAX_SYMLINK_HOPS}`, true)), Errno.loop);
  const loop = new MemoryFs({ "/r": null, "/r/a": { link: "b" }, "/r/b": { link: "a/x" } });
  assert.equal(_errno(() => resolvePath(loop, "/r", "a", true)), Errno.loop);
});

Deno.test("wasi sandbox: decodePath refuses NUL bytes and invalid UTF-8", () => {
  assert.equal(decodePath(new TextEncoder().encode("dir/ü")), "dir/ü");
  assert.equal(_errno(() => decodePath(new Uint8Array([97, 0]))), Errno.inval);
  assert.equal(_errno(() => decodePath(new Uint8Array([0xc3]))), Errno.ilseq);
  assert.equal(_errno(() => decodePath(new Uint8Array([0xed, 0xa0, 0x80]))), Errno.ilseq);
});

Deno.test("wasi sandbox: an app reads, writes and lists an in-memory file system", async () => {
  const fs = new MemoryFs({ "/root": null, "/root/hello.txt": "hi from memory" });
  const h = await wasiHarness({ fs, preopens: [{ guest: "/", host: "/root" }] });
  assert.deepEqual(readFd(h, openPath(h, "hello.txt").fd), [Errno.success, "hi from memory"]);
  const out = openPath(h, "new.txt", { oflags: Oflags.creat });
  assert.deepEqual(writeFd(h, out.fd, "written"), [Errno.success, 7]);
  assert.equal(new TextDecoder().decode(fs.nodes.get("/root/new.txt")!.data), "written");
  assert.equal(openPath(h, "../etc").errno, Errno.notcapable);
  const [p, n] = h.str("sub");
  assert.equal(h.call("path_create_directory", 3, p, n), Errno.success);
  assert.equal(fs.nodes.get("/root/sub")?.type, "dir");
  const buf = h.alloc(256);
  const used = h.alloc(4);
  assert.equal(h.call("fd_readdir", 3, buf, 256, 0n, used), Errno.success);
  const text = new TextDecoder().decode(h.bytes(buf, h.u32(used)));
  for (const name of ["hello.txt", "new.txt", "sub"]) assert.ok(text.includes(name), name);
  h.free();
});
