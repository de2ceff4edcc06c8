// Test helper: runs a C app built against sdk/c without the runtime. Stand-ins for the libc
// natives it imports (a bump malloc, the mem*/str* functions, a small printf) and recording
// app-framework natives, so a test can call the app's callbacks and see what it sent.
import { COMMON_FLAGS } from "../sdk/c/build.ts";

/** One call of an app-framework native, with its pointer arguments already read. */
export interface NativeCall {
  readonly name: string;
  readonly args: readonly number[];
  /** The packet of `wasm_post_request` / `wasm_response_send`. */
  readonly bytes?: Uint8Array;
  /** The URL of `wasm_register_resource` / `wasm_sub_event`. */
  readonly text?: string;
}

/** An instantiated app and what it did. */
export interface CApp {
  readonly instance: WebAssembly.Instance;
  /** Framework native calls, oldest first. */
  readonly calls: NativeCall[];
  /** What `wasm_get_sys_tick_ms` returns. */
  now: number;
  /** Calls an export. */
  call(name: string, ...args: number[]): number;
  /** Returns and forgets what the app printed. */
  takeOutput(): string;
  /** Copies bytes into a fresh allocation in the app's memory. */
  put(bytes: Uint8Array): number;
  /** A copy of `length` bytes at `ptr`. */
  read(ptr: number, length: number): Uint8Array;
  /** The NUL-terminated string at `ptr`. */
  cstring(ptr: number): string;
}

const _decoder = new TextDecoder();

/**
 * Instantiates an app built against sdk/c with stand-in natives.
 *
 * @param wasm the module bytes
 * @returns the app
 */
export async function loadCApp(wasm: Uint8Array<ArrayBuffer>): Promise<CApp> {
  // Set once the module is instantiated; the stand-ins only run after that.
  const linked: { memory?: WebAssembly.Memory } = {};
  let heapTop = 0;
  let output = "";
  let nextTimer = 1;
  const calls: NativeCall[] = [];
  const u8 = (): Uint8Array => new Uint8Array(linked.memory!.buffer);
  const view = (): DataView => new DataView(linked.memory!.buffer);

  const cstring = (ptr: number): string => {
    const bytes = u8();
    let end = ptr;
    while (bytes[end] !== 0) end++;
    return _decoder.decode(bytes.subarray(ptr, end));
  };
  const read = (ptr: number, length: number): Uint8Array => u8().slice(ptr, ptr + length);
  // Never reuses memory, so freed blocks stay readable and fresh blocks are always zero.
  const malloc = (size: number): number => {
    const ptr = (heapTop + 7) & ~7;
    heapTop = ptr + Math.max(size, 1);
    const missing = heapTop - linked.memory!.buffer.byteLength;
    if (missing > 0) linked.memory!.grow(Math.ceil(missing / 65536));
    return ptr;
  };
  const strcmp = (a: number, b: number): number => {
    const bytes = u8();
    for (let i = 0;; i++) {
      const d = bytes[a + i]! - bytes[b + i]!;
      if (d !== 0 || bytes[a + i] === 0) return d;
    }
  };
  const app = {} as CApp;

  const env: Record<string, (...args: number[]) => number | void> = {
    malloc,
    calloc: (n, size) => malloc(n * size),
    free: () => {},
    memcpy: (dst, src, n) => (u8().copyWithin(dst, src, src + n), dst),
    memmove: (dst, src, n) => (u8().copyWithin(dst, src, src + n), dst),
    memset: (dst, c, n) => (u8().fill(c & 0xff, dst, dst + n), dst),
    memcmp: (a, b, n) => {
      const bytes = u8();
      for (let i = 0; i < n; i++) {
        const d = bytes[a + i]! - bytes[b + i]!;
        if (d !== 0) return d;
      }
      return 0;
    },
    strlen: (ptr) => {
      const bytes = u8();
      let end = ptr;
      while (bytes[end] !== 0) end++;
      return end - ptr;
    },
    strcmp,
    printf: (fmt, va) => {
      const text = formatC(view(), cstring, cstring(fmt), va);
      output += text;
      return text.length;
    },
    puts: (s) => {
      output += cstring(s) + "\n";
      return 1;
    },
    putchar: (c) => {
      output += String.fromCharCode(c & 0xff);
      return c;
    },
    wasm_register_resource: (url) => void calls.push(_call("wasm_register_resource", [url], url)),
    wasm_sub_event: (url) => void calls.push(_call("wasm_sub_event", [url], url)),
    wasm_post_request: (ptr, size) => {
      calls.push({ name: "wasm_post_request", args: [ptr, size], bytes: read(ptr, size) });
    },
    wasm_response_send: (ptr, size) => {
      calls.push({ name: "wasm_response_send", args: [ptr, size], bytes: read(ptr, size) });
      return 1;
    },
    wasm_create_timer: (...args) => {
      calls.push({ name: "wasm_create_timer", args });
      return nextTimer++;
    },
    wasm_timer_destroy: (...args) => void calls.push({ name: "wasm_timer_destroy", args }),
    wasm_timer_cancel: (...args) => void calls.push({ name: "wasm_timer_cancel", args }),
    wasm_timer_restart: (...args) => void calls.push({ name: "wasm_timer_restart", args }),
    wasm_get_sys_tick_ms: () => app.now,
  };
  function _call(name: string, args: number[], url: number): NativeCall {
    return { name, args, text: cstring(url) };
  }

  const { instance } = await WebAssembly.instantiate(wasm, { env });
  linked.memory = instance.exports.memory as WebAssembly.Memory;
  heapTop = (instance.exports.__heap_base as WebAssembly.Global).value as number;

  return Object.assign(app, {
    instance,
    calls,
    now: 0,
    call(name: string, ...args: number[]): number {
      return (instance.exports[name] as (...a: number[]) => number)(...args);
    },
    takeOutput(): string {
      const text = output;
      output = "";
      return text;
    },
    put(bytes: Uint8Array): number {
      const ptr = malloc(bytes.length);
      u8().set(bytes, ptr);
      return ptr;
    },
    read,
    cstring,
  });
}

/**
 * Enough of C's printf for the SDK and the examples: flags are ignored except a precision for
 * `%f`; `d i u x s p f c %` with `ll`. Arguments are read from the wasm32 va_list at `va`.
 *
 * @param view the app's memory
 * @param cstring reads a C string
 * @param fmt the format
 * @param va address of the first variadic argument
 * @returns the formatted text
 */
export function formatC(
  view: DataView,
  cstring: (ptr: number) => string,
  fmt: string,
  va: number,
): string {
  let out = "";
  let ap = va;
  const slot = (size: 4 | 8): number => {
    ap = (ap + size - 1) & ~(size - 1);
    const at = ap;
    ap += size;
    return at;
  };
  for (let i = 0; i < fmt.length; i++) {
    if (fmt[i] !== "%") {
      out += fmt[i];
      continue;
    }
    const m = /^[-0+ #]*\d*(?:\.(\d+))?(ll|l|hh|h|z)?([diuxspfc%])/.exec(fmt.slice(i + 1));
    if (m === null) throw new Error(`Unsupported printf format at "${fmt.slice(i)}"`);
    i += m[0].length;
    const [, precision, length, conv] = m;
    const wide = length === "ll";
    switch (conv) {
      case "%":
        out += "%";
        break;
      case "d":
      case "i":
        out += wide ? view.getBigInt64(slot(8), true) : view.getInt32(slot(4), true);
        break;
      case "u":
        out += wide ? view.getBigUint64(slot(8), true) : view.getUint32(slot(4), true);
        break;
      case "x":
        out += (wide ? view.getBigUint64(slot(8), true) : view.getUint32(slot(4), true))
          .toString(16);
        break;
      case "p": {
        const ptr = view.getUint32(slot(4), true);
        out += ptr === 0 ? "(nil)" : `0x${ptr.toString(16)}`;
        break;
      }
      case "s": {
        const ptr = view.getUint32(slot(4), true);
        out += ptr === 0 ? "(null)" : cstring(ptr);
        break;
      }
      case "c":
        out += String.fromCharCode(view.getInt32(slot(4), true) & 0xff);
        break;
      case "f":
        out += view.getFloat64(slot(8), true).toFixed(precision === undefined ? 6 : +precision);
        break;
    }
  }
  return out;
}

/**
 * Builds C sources into a module with the examples' flags, into a temp dir.
 *
 * @param sources C files relative to the repository root
 * @returns the module bytes
 */
export async function buildCApp(sources: readonly string[]): Promise<Uint8Array<ArrayBuffer>> {
  const root = new URL("..", import.meta.url).pathname;
  const dir = await Deno.makeTempDir({ prefix: "c_app_" });
  try {
    const out = `${dir}/app.wasm`;
    const { success, stderr } = await new Deno.Command("clang-19", {
      args: [...COMMON_FLAGS, ...sources, "-o", out],
      cwd: root,
      stderr: "piped",
    }).output();
    if (!success) throw new Error(`Cannot build ${sources.join(" ")}\n${_decoder.decode(stderr)}`);
    return await Deno.readFile(out);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
