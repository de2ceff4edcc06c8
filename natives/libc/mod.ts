/**
 * libc-builtin: the C library natives WAMR HEAD registers under `env` (printf, memcpy,
 * malloc, strtol, ctype, ...), each with a signature of the same wasm type as WAMR's.
 *
 * Where WAMR's letters would lose what a native needs, the symbol is declared with `i`
 * and checked by hand: strings stay raw bytes (`$` would decode them, and `strlen` of a
 * decoded string counts UTF-16 units), and natives returning or writing app offsets need
 * the string's address. Every address a native touches is bounds-checked (section 10 of the ABI
 * notes), including the first buffer of memcmp/memcpy/memmove/strncmp/strncpy, which WAMR
 * checks inside the wrapper.
 *
 * It also serves what emscripten's side modules and AssemblyScript import under `env`: the
 * `iprintf`/`siprintf` (and `__small_*`) spellings LLVM gives printf calls without floats or
 * `long double`, `__handle_stack_overflow`, `__assert_fail`, and `abort` in the three shapes
 * toolchains import it: C's `abort()`, WAMR's `abort(int)` and AssemblyScript's
 * `abort(message, file, line, column)`, told apart by the import's wasm type.
 *
 * @module
 */

// Every app gets this library, so it imports the core modules the SDK re-exports rather than
// the SDK barrel, which also loads the app framework, attr_container and the host client.
import type { AppMemory, AppPtr } from "../../sdk/memory.ts";
import { defineNativeLibrary, type NativeContext, type NativeLibrary } from "../../sdk/native.ts";
import { PrintfBuffer, printfTo } from "./printf.ts";

// glibc's <ctype.h> class bits: WAMR returns the host's isalpha() etc. unchanged, so apps
// built for it may see (and print) these exact values.
const IS_UPPER = 256;
const IS_LOWER = 512;
const IS_ALPHA = 1024;
const IS_DIGIT = 2048;
const IS_XDIGIT = 4096;
const IS_SPACE = 8192;
const IS_PRINT = 16384;
const IS_GRAPH = 32768;
const IS_PUNCT = 4;
const IS_ALNUM = 8;

// Built at the first ctype call rather than at load: its loop cost 0.1-0.4 ms of every start,
// and few apps call isalpha and friends (issue 17).
let _ctype: Uint16Array | undefined;

function _ctypeTable(): Uint16Array {
  const table = new Uint16Array(256);
  for (let c = 0; c < 128; c++) {
    let bits = 0;
    const upper = c >= 65 && c <= 90;
    const lower = c >= 97 && c <= 122;
    const digit = c >= 48 && c <= 57;
    if (upper) bits |= IS_UPPER | IS_ALPHA | IS_ALNUM;
    if (lower) bits |= IS_LOWER | IS_ALPHA | IS_ALNUM;
    if (digit) bits |= IS_DIGIT | IS_ALNUM | IS_XDIGIT;
    if ((c >= 65 && c <= 70) || (c >= 97 && c <= 102)) bits |= IS_XDIGIT;
    if (c === 32 || (c >= 9 && c <= 13)) bits |= IS_SPACE;
    if (c >= 32 && c < 127) bits |= IS_PRINT;
    if (c > 32 && c < 127) bits |= IS_GRAPH;
    if (c > 32 && c < 127 && !upper && !lower && !digit) bits |= IS_PUNCT;
    table[c] = bits;
  }
  return table;
}

/** glibc's class bits of `c` in the C locale (0 outside 0..255 and for bytes >= 0x80). */
function _ctypeOf(c: number, bit: number): number {
  return c >= 0 && c < 256 ? (_ctype ??= _ctypeTable())[c]! & bit : 0;
}

function _isSpace(b: number): boolean {
  return b === 32 || (b >= 9 && b <= 13);
}

function _lower(b: number): number {
  return b >= 65 && b <= 90 ? b + 32 : b;
}

/** The bytes of the C string at `addr` (the NUL must lie in memory), without the NUL. */
function _cstr(memory: AppMemory, addr: number): Uint8Array {
  return memory.bytes(addr, memory.strlen(addr));
}

/** Value of a digit in bases up to 36, or 99. */
function _digit(b: number): number {
  if (b >= 48 && b <= 57) return b - 48;
  if (b >= 97 && b <= 122) return b - 87;
  if (b >= 65 && b <= 90) return b - 55;
  return 99;
}

interface _Parsed {
  /** The magnitude, saturated just past `limit`. */
  value: number;
  negative: boolean;
  /** App offset of the first byte not used. */
  end: number;
  overflow: boolean;
}

/**
 * The shared parser of strtol/strtoul: whitespace, sign, base prefix, digits. With no digits
 * (or an invalid base) `end` is the start of the string, as C requires.
 */
function _parseLong(memory: AppMemory, s: number, base: number, limit: number): _Parsed {
  const bytes = _cstr(memory, s);
  const none = { value: 0, negative: false, end: s, overflow: false };
  if (base < 0 || base === 1 || base > 36) return none;
  let i = 0;
  while (i < bytes.length && _isSpace(bytes[i]!)) i++;
  let negative = false;
  if (bytes[i] === 45 || bytes[i] === 43) negative = bytes[i++] === 45;
  const hasHexPrefix = bytes[i] === 48 && (bytes[i + 1] === 120 || bytes[i + 1] === 88) &&
    _digit(bytes[i + 2] ?? 0) < 16;
  if ((base === 0 || base === 16) && hasHexPrefix) {
    base = 16;
    i += 2;
  } else if (base === 0) {
    base = bytes[i] === 48 ? 8 : 10;
  }
  const first = i;
  let value = 0;
  let overflow = false;
  for (; i < bytes.length; i++) {
    const d = _digit(bytes[i]!);
    if (d >= base) break;
    value = value * base + d;
    if (value > limit) {
      overflow = true;
      value = limit + 1;
    }
  }
  if (i === first) return none;
  return { value, negative, end: s + i, overflow };
}

function _writeEnd(ctx: NativeContext, endptr: number, end: number): void {
  if (endptr !== 0) ctx.memory.setI32(endptr, end);
}

const _boot = performance.now();

/** Microseconds since the runtime started (WAMR: since boot). */
function _bootMicros(): number {
  return Math.floor((performance.now() - _boot) * 1000);
}

function _printf(ctx: NativeContext, fmt: number, va: { addr: number }): number {
  const memory = ctx.memory;
  const format = _cstr(memory, fmt >>> 0);
  const out = new PrintfBuffer({ flushTo: (bytes) => ctx.app.stdout.write(bytes) });
  try {
    return printfTo(memory, format, va.addr, out);
  } finally {
    // Like WAMR's character-at-a-time output, what was printed before a trap stays printed.
    out.flush();
  }
}

function _sprintf(ctx: NativeContext, dst: number, fmt: number, va: { addr: number }): number {
  const memory = ctx.memory;
  dst >>>= 0;
  // WAMR declares the destination `$`: it must already hold a NUL somewhere.
  memory.strlen(dst);
  const format = _cstr(memory, fmt >>> 0);
  const room = memory.size - dst;
  const out = new PrintfBuffer({ keep: room });
  const result = printfTo(memory, format, va.addr, out);
  // The limit is the end of linear memory; output that would run past it traps.
  if (out.count + 1 > room) ctx.trap("out of bounds memory access");
  const bytes = out.bytes();
  const u8 = memory.check(dst, bytes.length + 1);
  u8.set(bytes, dst);
  u8[dst + bytes.length] = 0;
  return result;
}

function _snprintf(
  ctx: NativeContext,
  buf: Uint8Array,
  _size: number,
  fmt: number,
  va: { addr: number },
): number {
  const memory = ctx.memory;
  const format = _cstr(memory, fmt >>> 0);
  const out = new PrintfBuffer({ keep: buf.length > 0 ? buf.length - 1 : 0 });
  const result = printfTo(memory, format, va.addr, out);
  if (buf.length > 0) {
    const bytes = out.bytes();
    buf.set(bytes);
    buf[bytes.length] = 0;
  }
  return result;
}

// The natives below take their buffers as plain `i` and check them in the order the `*~`
// wrapper did (the source region first, then the other buffer): a `*~` region that moves
// every call cost a view object per call, and these run per message in SDK apps (issue 17).

function _memcpy(ctx: NativeContext, dst: number, src: number, n: number): number {
  const d = dst >>> 0, s = src >>> 0, len = n >>> 0;
  ctx.memory.check(s, len);
  if (len === 0) return d;
  // copyWithin copies as if through a temporary when ranges overlap, so this is memmove.
  ctx.memory.check(d, len).copyWithin(d, s, s + len);
  return d;
}

function _memcmp(ctx: NativeContext, s1: number, s2: number, n: number): number {
  return _compare(ctx, s1, s2, n, false);
}

function _strncmp(ctx: NativeContext, s1: number, s2: number, n: number): number {
  return _compare(ctx, s1, s2, n, true);
}

// memcmp and strncmp: the first differing byte decides; strncmp also ends at a NUL in both.
function _compare(ctx: NativeContext, s1: number, s2: number, n: number, toNul: boolean): number {
  const a = s1 >>> 0, b = s2 >>> 0, len = n >>> 0;
  ctx.memory.check(b, len);
  const u8 = ctx.memory.check(a, len);
  for (let i = 0; i < len; i++) {
    const x = u8[a + i]!, y = u8[b + i]!;
    if (x !== y) return x - y;
    if (toNul && x === 0) return 0;
  }
  return 0;
}

/** strcmp over the bytes in memory; both NULs must lie in memory, as before any compare. */
function _strcmp(ctx: NativeContext, s1: number, s2: number): number {
  const memory = ctx.memory;
  const a = s1 >>> 0, b = s2 >>> 0;
  const n = Math.min(memory.strlen(a), memory.strlen(b));
  const u8 = memory.u8;
  for (let i = 0; i < n; i++) {
    const x = u8[a + i]!, y = u8[b + i]!;
    if (x !== y) return x - y;
  }
  return u8[a + n]! - u8[b + n]!;
}

function _trapWith(prefix: string) {
  return function trapNative(ctx: NativeContext, n: number): void {
    ctx.trap(`env.${prefix}(${n})`);
  };
}

/**
 * An AssemblyScript string: UTF-16LE code units, their byte length in the object header's
 * last field, just before the data. A null reference reads as "null", as AS's loader prints it.
 */
function _asString(memory: AppMemory, ptr: number): string {
  const addr = ptr >>> 0;
  if (addr === 0) return "null";
  const len = memory.u32(addr - 4);
  return (_utf16 ??= new TextDecoder("utf-16le")).decode(memory.bytes(addr, len));
}

// Made at the first AssemblyScript abort: made at load, it cost 0.1-0.5 ms of every start.
let _utf16: TextDecoder | undefined;

/**
 * AssemblyScript's default `env.abort`: the message AS's own loader throws
 * (`abort: <message> at <file>:<line>:<column>`), as a trap.
 */
function _asAbort(ctx: NativeContext, msg: number, file: number, line: number, col: number): void {
  // AS runs top-level code as the start function, before the instance can hand natives a
  // memory the module defines itself: then only the strings' addresses can be shown.
  const memory = ctx.app.memory as AppMemory | undefined;
  const text = (ptr: number) =>
    memory ? _asString(memory, ptr) : `<string at 0x${(ptr >>> 0).toString(16)}>`;
  ctx.trap(`abort: ${text(msg)} at ${text(file)}:${line >>> 0}:${col >>> 0}`);
}

/** emscripten's wording for a failed `assert()`, which emcc-built apps are written against. */
function _assertFail(
  ctx: NativeContext,
  expr: number,
  file: number,
  line: number,
  func: number,
): void {
  const text = (addr: number, none: string) =>
    addr === 0 ? none : new TextDecoder().decode(_cstr(ctx.memory, addr >>> 0));
  const where = [text(file, "unknown filename"), line, text(func, "unknown function")];
  ctx.trap(`Assertion failed: ${text(expr, "")}, at: ${where.join(",")}`);
}

function _ctypeNative(bit: number) {
  return function ctypeNative(_ctx: NativeContext, c: number): number {
    return _ctypeOf(c, bit);
  };
}

function _strdup(ctx: NativeContext, s: number): number {
  const bytes = ctx.memory.bytes(s >>> 0, ctx.memory.strlen(s >>> 0) + 1).slice();
  return ctx.heap.dup(bytes);
}

function _puts(ctx: NativeContext, s: number): number {
  const bytes = _cstr(ctx.memory, s >>> 0);
  ctx.app.stdout.write(bytes);
  ctx.app.stdout.write(new Uint8Array([10]));
  return bytes.length + 1;
}

function _putchar(ctx: NativeContext, c: number): number {
  ctx.app.stdout.write(new Uint8Array([c & 0xff]));
  return c;
}

function _memset(ctx: NativeContext, s: AppPtr, c: number, n: number): number {
  ctx.memory.bytes(s.addr, n >>> 0).fill(c & 0xff);
  return s.addr;
}

function _strchr(ctx: NativeContext, s: number, c: number): number {
  const addr = s >>> 0;
  const len = ctx.memory.strlen(addr);
  const ch = c & 0xff;
  if (ch === 0) return addr + len;
  const at = _cstr(ctx.memory, addr).indexOf(ch);
  return at < 0 ? 0 : addr + at;
}

function _strcpy(ctx: NativeContext, dst: number, src: number): number {
  const d = dst >>> 0;
  const s = src >>> 0;
  const len = ctx.memory.strlen(s) + 1;
  ctx.memory.check(d, len).copyWithin(d, s, s + len);
  return d;
}

function _strlen(ctx: NativeContext, s: number): number {
  return ctx.memory.strlen(s >>> 0);
}

function _strncpy(ctx: NativeContext, dst: number, src: Uint8Array, _n: number): number {
  const d = dst >>> 0;
  const out = ctx.memory.bytes(d, src.length);
  let len = src.indexOf(0);
  if (len < 0) len = src.length;
  out.set(src.subarray(0, len));
  out.fill(0, len);
  return d;
}

function _malloc(ctx: NativeContext, size: number): number {
  return ctx.heap.malloc(size >>> 0);
}

function _realloc(ctx: NativeContext, ptr: number, size: number): number {
  const p = ptr >>> 0;
  // Only blocks of the app heap can be resized; anything else fails like WAMR's.
  if (p !== 0 && !ctx.heap.contains(p)) return 0;
  return ctx.heap.realloc(p, size >>> 0);
}

function _calloc(ctx: NativeContext, n: number, size: number): number {
  if ((n >>> 0) * (size >>> 0) >= 2 ** 32) return 0;
  return ctx.heap.calloc(n >>> 0, size >>> 0);
}

// `i` and checked here as `*` was: a pointer object per free cost ~50 B (issue 17).
function _free(ctx: NativeContext, ptr: number): void {
  const p = ptr >>> 0;
  ctx.memory.check(p, 1);
  ctx.heap.free(p);
}

function _atoi(ctx: NativeContext, s: number): number {
  // WAMR calls the host's atoi: strtol into a 64-bit long, then truncated to int.
  const bytes = _cstr(ctx.memory, s >>> 0);
  let i = 0;
  while (i < bytes.length && _isSpace(bytes[i]!)) i++;
  let negative = false;
  if (bytes[i] === 45 || bytes[i] === 43) negative = bytes[i++] === 45;
  while (bytes[i] === 48) i++;
  const first = i;
  while (i < bytes.length && bytes[i]! >= 48 && bytes[i]! <= 57) i++;
  if (i === first) return 0;
  let v = BigInt(String.fromCharCode(...bytes.subarray(first, Math.min(i, first + 40))));
  if (negative) v = -v;
  if (v > 0x7fff_ffff_ffff_ffffn) v = 0x7fff_ffff_ffff_ffffn;
  if (v < -0x8000_0000_0000_0000n) v = -0x8000_0000_0000_0000n;
  return Number(BigInt.asIntN(32, v));
}

function _strtol(ctx: NativeContext, s: number, endptr: number, base: number): number {
  const p = _parseLong(ctx.memory, s >>> 0, base, 0x8000_0000);
  _writeEnd(ctx, endptr >>> 0, p.end);
  if (p.negative) return p.value >= 0x8000_0000 ? -0x8000_0000 : -p.value;
  return p.value > 0x7fff_ffff ? 0x7fff_ffff : p.value;
}

function _strtoul(ctx: NativeContext, s: number, endptr: number, base: number): number {
  const p = _parseLong(ctx.memory, s >>> 0, base, 0xffff_ffff);
  _writeEnd(ctx, endptr >>> 0, p.end);
  if (p.overflow) return -1;
  return (p.negative ? -p.value : p.value) | 0;
}

function _memchr(ctx: NativeContext, s: AppPtr, c: number, n: number): number {
  const at = ctx.memory.bytes(s.addr, n >>> 0).indexOf(c & 0xff);
  return at < 0 ? 0 : s.addr + at;
}

function _strncasecmp(ctx: NativeContext, s1: number, s2: number, n: number): number {
  const a = _cstr(ctx.memory, s1 >>> 0);
  const b = _cstr(ctx.memory, s2 >>> 0);
  const limit = Math.min(n >>> 0, Math.max(a.length, b.length) + 1);
  for (let i = 0; i < limit; i++) {
    const x = _lower(a[i] ?? 0);
    const y = _lower(b[i] ?? 0);
    if (x !== y || x === 0) return x - y;
  }
  return 0;
}

function _strspn(ctx: NativeContext, s: number, accept: number): number {
  const str = _cstr(ctx.memory, s >>> 0);
  const set = _cstr(ctx.memory, accept >>> 0);
  let i = 0;
  while (i < str.length && set.includes(str[i]!)) i++;
  return i;
}

function _strcspn(ctx: NativeContext, s: number, reject: number): number {
  const str = _cstr(ctx.memory, s >>> 0);
  const set = _cstr(ctx.memory, reject >>> 0);
  let i = 0;
  while (i < str.length && !set.includes(str[i]!)) i++;
  return i;
}

function _strstr(ctx: NativeContext, s: number, find: number): number {
  const addr = s >>> 0;
  const hay = _cstr(ctx.memory, addr);
  const needle = _cstr(ctx.memory, find >>> 0);
  if (needle.length === 0) return addr;
  const first = needle[0]!;
  const last = hay.length - needle.length;
  outer: for (
    let i = hay.indexOf(first);
    i >= 0 && i <= last;
    i = hay.indexOf(first, i + 1)
  ) {
    for (let k = 1; k < needle.length; k++) {
      if (hay[i + k] !== needle[k]) continue outer;
    }
    return addr + i;
  }
  return 0;
}

function _tolower(_ctx: NativeContext, c: number): number {
  return c >= 65 && c <= 90 ? c + 32 : c;
}

function _toupper(_ctx: NativeContext, c: number): number {
  return c >= 97 && c <= 122 ? c - 32 : c;
}

/** C's `abort()`, without WAMR's code argument. */
function _abort(ctx: NativeContext): void {
  ctx.trap("env.abort()");
}

// emcc's STACK_OVERFLOW_CHECK=2 code calls it; WAMR's message for the C stack.
function _handleStackOverflow(ctx: NativeContext): void {
  ctx.trap("wasm auxiliary stack overflow");
}

function _cxaBeginCatch(): void {}

function _cxaThrow(ctx: NativeContext): void {
  ctx.trap("exception thrown by stdc++");
}

function _clockGettime(ctx: NativeContext, _clockId: number, ts: AppPtr): number {
  const us = _bootMicros();
  ctx.memory.check(ts.addr, 16);
  ctx.memory.setI64(ts.addr, BigInt(Math.floor(us / 1e6)));
  ctx.memory.setI32(ts.addr + 8, (us % 1e6) * 1000);
  ctx.memory.setI32(ts.addr + 12, 0);
  return 0;
}

function _clock(): bigint {
  return BigInt(_bootMicros()) * 1000n;
}

// The table only names the implementations above, so V8 compiles each one when an app first
// calls it rather than all of them at every start (issue 17: ~0.6 ms of start-up). Natives
// that take their strings or buffers as plain `i` name, with `traceAs`, how `--trace` shows
// their arguments (the same wasm types).

/** The libc-builtin library (WAMR HEAD's list, module `env`). */
const libc: NativeLibrary<undefined> = defineNativeLibrary({
  name: "libc",
  symbols: (native) => {
    const printf = native("(i*)i", _printf, { traceAs: "($*)i" });
    const sprintf = native("(ii*)i", _sprintf, { traceAs: "(*$*)i" });
    const snprintf = native("(*~i*)i", _snprintf, { traceAs: "(*~$*)i" });
    const memcpy = native("(iii)i", _memcpy, { traceAs: "(i*~)i" });
    const strdup = native("(i)i", _strdup, { traceAs: "($)i" });
    return {
      printf,
      sprintf,
      snprintf,
      iprintf: printf,
      __small_printf: printf,
      siprintf: sprintf,
      __small_sprintf: sprintf,
      vprintf: printf,
      vsprintf: sprintf,
      vsnprintf: snprintf,
      puts: native("(i)i", _puts, { traceAs: "($)i" }),
      putchar: native("(i)i", _putchar),
      memcmp: native("(iii)i", _memcmp, { traceAs: "(i*~)i" }),
      memcpy,
      memmove: memcpy,
      memset: native("(*ii)i", _memset),
      strchr: native("(ii)i", _strchr, { traceAs: "($i)i" }),
      strcmp: native("(ii)i", _strcmp, { traceAs: "($$)i" }),
      strcpy: native("(ii)i", _strcpy, { traceAs: "(*$)i" }),
      strlen: native("(i)i", _strlen, { traceAs: "($)i" }),
      strncmp: native("(iii)i", _strncmp, { traceAs: "(i*~)i" }),
      strncpy: native("(i*~)i", _strncpy),
      malloc: native("(i)i", _malloc),
      realloc: native("(ii)i", _realloc),
      calloc: native("(ii)i", _calloc),
      strdup,
      _strdup: strdup,
      free: native("(i)", _free, { traceAs: "(*)" }),
      atoi: native("(i)i", _atoi, { traceAs: "($)i" }),
      exit: native("(i)", _trapWith("exit")),
      strtol: native("(iii)i", _strtol, { traceAs: "($*i)i" }),
      strtoul: native("(iii)i", _strtoul, { traceAs: "($*i)i" }),
      memchr: native("(*ii)i", _memchr),
      strncasecmp: native("(iii)i", _strncasecmp, { traceAs: "($$i)i" }),
      strspn: native("(ii)i", _strspn, { traceAs: "($$)i" }),
      strcspn: native("(ii)i", _strcspn, { traceAs: "($$)i" }),
      strstr: native("(ii)i", _strstr, { traceAs: "($$)i" }),
      isupper: native("(i)i", _ctypeNative(IS_UPPER)),
      isalpha: native("(i)i", _ctypeNative(IS_ALPHA)),
      isspace: native("(i)i", _ctypeNative(IS_SPACE)),
      isgraph: native("(i)i", _ctypeNative(IS_GRAPH)),
      isprint: native("(i)i", _ctypeNative(IS_PRINT)),
      isdigit: native("(i)i", _ctypeNative(IS_DIGIT)),
      isxdigit: native("(i)i", _ctypeNative(IS_XDIGIT)),
      isalnum: native("(i)i", _ctypeNative(IS_ALNUM)),
      tolower: native("(i)i", _tolower),
      toupper: native("(i)i", _toupper),
      emscripten_memcpy_big: memcpy,
      // The three shapes as one symbol with overloads, written out: `overload()` would check
      // that their wasm types differ, which they plainly do, at ~0.16 ms of every start.
      abort: {
        ...native("(i)", _trapWith("abort")),
        overloads: [native("()", _abort), native("(iiii)", _asAbort)],
      },
      __assert_fail: native("(iiii)", _assertFail),
      __handle_stack_overflow: native("(i)", _handleStackOverflow),
      abortStackOverflow: native("(i)", _trapWith("abortStackOverflow")),
      nullFunc_X: native("(i)", _trapWith("nullFunc_X")),
      __cxa_allocate_exception: native("(i)i", _malloc),
      __cxa_begin_catch: native("(*)", _cxaBeginCatch),
      __cxa_throw: native("(**i)", _cxaThrow),
      clock_gettime: native("(i*)i", _clockGettime),
      clock: native("()I", _clock),
    };
  },
});

export default libc;
