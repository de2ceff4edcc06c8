// Test helper: calls WASI natives one by one from real wasm. A generated module imports every
// `wasi_snapshot_preview1` function with the library's own wasm types and exports each as
// `call_<name>`, so a test links through the runtime (signature checks and pointer traps
// included) and checks errno values, memory and the host files directly.
import { wat } from "./_wat.ts";
import { Runtime } from "../core/instance/runtime.ts";
import type { AppInstance } from "../core/instance/instance.ts";
import { parseSignature, signatureType } from "../sdk/signature.ts";
import { encodeUtf8 } from "../sdk/memory.ts";
import { createWasiLibrary, type WasiLibrary, type WasiOptions } from "../natives/wasi/mod.ts";

/** Bytes of scratch memory the harness hands out; the module has 4 pages. */
const SCRATCH = 1024;
const PAGES = 4;

function _shimSource(library: WasiLibrary): string {
  const imports: string[] = [];
  const exports: string[] = [];
  for (const [name, symbol] of Object.entries(library.symbols)) {
    const type = signatureType(parseSignature(symbol.signature));
    const params = type.params.map((p) => `(param ${p})`).join(" ");
    const results = type.results.map((r) => `(result ${r})`).join(" ");
    imports.push(
      `(import "wasi_snapshot_preview1" "${name}" (func $${name} ${params} ${results}))`,
    );
    const gets = type.params.map((_, i) => `local.get ${i}`).join(" ");
    exports.push(`(func (export "call_${name}") ${params} ${results} ${gets} call $${name})`);
  }
  return `(module ${imports.join("\n")}
    (memory (export "memory") ${PAGES} ${PAGES})
    ${exports.join("\n")})`;
}

let _shim: Uint8Array | undefined;

/** An app linked against a WASI library, with scratch memory helpers. */
export interface WasiHarness {
  readonly app: AppInstance;
  readonly library: WasiLibrary;
  /** What the app wrote to its output (stdout when not redirected). */
  readonly output: string[];
  /** Calls a WASI function by name. */
  call(name: string, ...args: (number | bigint)[]): number;
  /** Copies bytes into scratch memory; returns the address. */
  put(bytes: Uint8Array): number;
  /** A string as UTF-8 in scratch memory: [address, length]. */
  str(text: string): [number, number];
  /** Reserves zeroed scratch bytes; returns the address. */
  alloc(size: number, align?: number): number;
  /** An iovec array over the given regions: [address, count]. */
  iovecs(regions: readonly [number, number][]): [number, number];
  /** Reads a u32. */
  u32(addr: number): number;
  /** Reads a u64. */
  u64(addr: number): bigint;
  /** A copy of memory bytes. */
  bytes(addr: number, len: number): Uint8Array;
  /** Frees everything. */
  free(): void;
}

/**
 * Instantiates the shim against a WASI library with the given options.
 *
 * @param options the library's options
 * @returns the harness
 */
export async function wasiHarness(options: WasiOptions = {}): Promise<WasiHarness> {
  const library = createWasiLibrary(options);
  _shim ??= wat(_shimSource(library));
  const output: string[] = [];
  const decoder = new TextDecoder();
  const runtime = new Runtime({
    plugins: [library],
    stdout: (bytes) => output.push(decoder.decode(bytes)),
  });
  const app = await runtime.instantiate(await runtime.load(_shim), { heapSize: 0, name: "shim" });
  let top = SCRATCH;
  const memory = app.memory;
  const harness: WasiHarness = {
    app,
    library,
    output,
    call(name, ...args) {
      return app.call(`call_${name}`, ...args) as number;
    },
    alloc(size, align = 8) {
      top = Math.ceil(top / align) * align;
      // Scratch space wraps around: a test uses what it allocated right away.
      if (top + size > PAGES * 65536) top = SCRATCH;
      const at = top;
      top += size;
      memory.bytes(at, size).fill(0);
      return at;
    },
    put(bytes) {
      const at = harness.alloc(bytes.length, 1);
      memory.write(at, bytes);
      return at;
    },
    str(text) {
      const bytes = encodeUtf8(text);
      return [harness.put(bytes), bytes.length];
    },
    iovecs(regions) {
      const at = harness.alloc(regions.length * 8);
      regions.forEach(([addr, len], i) => {
        memory.setI32(at + 8 * i, addr);
        memory.setI32(at + 8 * i + 4, len);
      });
      return [at, regions.length];
    },
    u32: (addr) => memory.u32(addr),
    u64: (addr) => BigInt.asUintN(64, memory.i64(addr)),
    bytes: (addr, len) => memory.bytes(addr, len).slice(),
    free: () => app.free(),
  };
  return harness;
}

/**
 * A fresh temporary directory, removed by the returned function.
 *
 * @returns its path and a cleanup function
 */
export function tempDir(): { dir: string; [Symbol.dispose](): void } {
  const dir = Deno.makeTempDirSync({ prefix: "wasi_test_" });
  return {
    dir,
    [Symbol.dispose]() {
      Deno.removeSync(dir, { recursive: true });
    },
  };
}

/** Every right the spec defines (what a greedy app asks for). */
export const ALL_RIGHTS = 0x3fff_ffffn;

/** Every right but `fd_write`, which a directory refuses (`isdir`). */
export const DIR_RIGHTS = ALL_RIGHTS & ~(1n << 6n);

/** What `path_open` returned: the errno and, on success, the descriptor. */
export interface Opened {
  readonly errno: number;
  readonly fd: number;
}

/** Options of {@linkcode openPath}. */
export interface OpenPathOptions {
  dirfd?: number;
  follow?: boolean;
  oflags?: number;
  base?: bigint;
  inheriting?: bigint;
  fdflags?: number;
}

/**
 * Calls `path_open`.
 *
 * @param h the harness
 * @param path the path
 * @param o descriptor (default 3), lookup, open flags, rights (default all), fdflags
 * @returns the errno and descriptor
 */
export function openPath(h: WasiHarness, path: string, o: OpenPathOptions = {}): Opened {
  const [p, n] = h.str(path);
  const out = h.alloc(4);
  const errno = h.call(
    "path_open",
    o.dirfd ?? 3,
    o.follow === false ? 0 : 1,
    p,
    n,
    o.oflags ?? 0,
    o.base ?? ((o.oflags ?? 0) & 2 || path.endsWith("/") ? DIR_RIGHTS : ALL_RIGHTS),
    o.inheriting ?? ALL_RIGHTS,
    o.fdflags ?? 0,
    out,
  );
  return { errno, fd: errno === 0 ? h.u32(out) : -1 };
}

/**
 * Calls a `path_*` function whose arguments are a descriptor and one path (plus extras).
 *
 * @param h the harness
 * @param name the function
 * @param fd the directory descriptor
 * @param path the path
 * @returns the errno
 */
export function onPath(h: WasiHarness, name: string, fd: number, path: string): number {
  const [p, n] = h.str(path);
  return h.call(name, fd, p, n);
}

/**
 * Writes bytes to a descriptor with `fd_write`.
 *
 * @param h the harness
 * @param fd the descriptor
 * @param data what to write
 * @returns the errno and the count written
 */
export function writeFd(h: WasiHarness, fd: number, data: string | Uint8Array): [number, number] {
  const bytes = typeof data === "string" ? encodeUtf8(data) : data;
  const [iovs, count] = h.iovecs([[h.put(bytes), bytes.length]]);
  const out = h.alloc(4);
  const errno = h.call("fd_write", fd, iovs, count, out);
  return [errno, h.u32(out)];
}

/**
 * Reads up to `max` bytes from a descriptor with `fd_read`.
 *
 * @param h the harness
 * @param fd the descriptor
 * @param max buffer size
 * @returns the errno and the text read
 */
export function readFd(h: WasiHarness, fd: number, max = 256): [number, string] {
  const buf = h.alloc(max);
  const [iovs, count] = h.iovecs([[buf, max]]);
  const out = h.alloc(4);
  const errno = h.call("fd_read", fd, iovs, count, out);
  return [errno, new TextDecoder().decode(h.bytes(buf, errno === 0 ? h.u32(out) : 0))];
}
