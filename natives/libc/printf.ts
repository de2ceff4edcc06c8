/**
 * The printf format engine of the libc natives: C semantics as glibc prints them, reading
 * the variadic arguments from the buffer wasm32 clang lays out in linear memory.
 *
 * The va buffer is walked as WAMR HEAD does: 4 bytes for i32-class values; `ll`/`j`
 * integers and doubles align the cursor up to 8 and take 8 bytes; `long double` (`L`, IEEE
 * binary128 on wasm32) aligns to 16 and takes 16. Every read is bounds-checked and traps
 * with `out of bounds memory access`.
 *
 * The format and `%s` strings are bytes and are copied through unchanged, so text that is
 * not UTF-8 survives.
 *
 * @module
 */

import type { AppMemory } from "../../sdk/memory.ts";
import {
  type CFormatFlags,
  decodeBinary128,
  type FloatConversion,
  formatFloatParts,
  formatIntParts,
  type IntConversion,
  type NumberParts,
} from "../../sdk/c_format.ts";

const CHUNK = 16384;
const INT_MAX = 0x7fff_ffff;
// Widths and precisions saturate here; any field this long makes the call fail as glibc's
// EOVERFLOW does, while padding is only ever counted, never allocated, past the limit.
const FIELD_MAX = 2 ** 31;

/** Options of a {@linkcode PrintfBuffer}. */
export interface PrintfBufferOptions {
  /** Bytes to keep; later bytes are only counted (default: unlimited). Ignored with `flushTo`. */
  keep?: number;
  /** Receives the output in chunks as it is produced (printf to stdout). */
  flushTo?: (bytes: Uint8Array) => void;
}

/**
 * Collects printf output as bytes: counts everything produced, keeps up to a limit
 * (snprintf), or streams it out in chunks (printf), so a huge field never needs a huge
 * buffer.
 */
export class PrintfBuffer {
  #buf = new Uint8Array(256);
  #len = 0;
  #count = 0;
  readonly #keep: number;
  readonly #flushTo: ((bytes: Uint8Array) => void) | undefined;

  /**
   * Creates an empty buffer.
   *
   * @param options what to keep and where to stream
   */
  constructor(options: PrintfBufferOptions = {}) {
    this.#flushTo = options.flushTo;
    this.#keep = this.#flushTo ? Infinity : Math.max(0, options.keep ?? Infinity);
  }

  /** Bytes produced so far, kept or not. */
  get count(): number {
    return this.#count;
  }

  /**
   * The kept bytes not yet flushed.
   *
   * @returns a view into the buffer, valid until the next write
   */
  bytes(): Uint8Array {
    return this.#buf.subarray(0, this.#len);
  }

  /** Sends the kept bytes to `flushTo` (no-op without one). */
  flush(): void {
    if (this.#flushTo && this.#len > 0) {
      this.#flushTo(this.#buf.subarray(0, this.#len));
      this.#len = 0;
    }
  }

  /** How many of `n` new bytes to store; makes room for them. */
  #room(n: number): number {
    this.#count += n;
    let take = n;
    if (this.#flushTo) {
      if (this.#len + n > CHUNK) this.flush();
    } else if (n > this.#keep - this.#len) {
      take = this.#keep - this.#len;
    }
    const need = this.#len + take;
    if (need > this.#buf.length) {
      const grown = new Uint8Array(Math.max(need, this.#buf.length * 2));
      grown.set(this.#buf.subarray(0, this.#len));
      this.#buf = grown;
    }
    return take;
  }

  /** Appends one byte. */
  byte(b: number): void {
    if (this.#room(1) === 1) this.#buf[this.#len++] = b;
  }

  /** Appends bytes (copied). */
  append(src: Uint8Array): void {
    if (this.#flushTo && src.length >= CHUNK) {
      this.flush();
      this.#count += src.length;
      this.#flushTo(src);
      return;
    }
    const take = this.#room(src.length);
    this.#buf.set(take === src.length ? src : src.subarray(0, take), this.#len);
    this.#len += take;
  }

  /** Appends an ASCII string. */
  ascii(s: string): void {
    const take = this.#room(s.length);
    const buf = this.#buf;
    let len = this.#len;
    for (let i = 0; i < take; i++) buf[len++] = s.charCodeAt(i);
    this.#len = len;
  }

  /** Appends `n` copies of a byte without allocating more than a chunk when streaming. */
  fill(b: number, n: number): void {
    while (n > 0) {
      const step = this.#flushTo ? Math.min(n, CHUNK) : n;
      const take = this.#room(step);
      this.#buf.fill(b, this.#len, this.#len + take);
      this.#len += take;
      n -= step;
    }
  }
}

/** Reads variadic arguments from a wasm32 va buffer, checking every read. */
class _VaReader {
  #ap: number;
  readonly #memory: AppMemory;

  constructor(memory: AppMemory, ap: number) {
    this.#memory = memory;
    this.#ap = ap;
  }

  i32(): number {
    const v = this.#memory.i32(this.#ap);
    this.#ap += 4;
    return v;
  }

  i64(): bigint {
    this.#align(8);
    const v = this.#memory.i64(this.#ap);
    this.#ap += 8;
    return v;
  }

  f64(): number {
    this.#align(8);
    const v = this.#memory.f64(this.#ap);
    this.#ap += 8;
    return v;
  }

  f128(): [bigint, bigint] {
    this.#align(16);
    this.#memory.check(this.#ap, 16);
    const lo = this.#memory.i64(this.#ap);
    const hi = this.#memory.i64(this.#ap + 8);
    this.#ap += 16;
    return [lo, hi];
  }

  #align(n: number): void {
    this.#ap = Math.ceil(this.#ap / n) * n;
  }
}

const _NULL_TEXT = new Uint8Array([40, 110, 117, 108, 108, 41]); // "(null)"
const _NIL_TEXT = new Uint8Array([40, 110, 105, 108, 41]); // "(nil)"
const _encoder = new TextEncoder();

const enum _Len {
  None,
  HH,
  H,
  L32, // l z t: 32-bit on wasm32
  LL, // ll j q
  LD, // L
}

function _isDigit(b: number | undefined): b is number {
  return b !== undefined && b >= 48 && b <= 57;
}

/** Writes converted number parts into a field of `width`. */
function _writeNumber(out: PrintfBuffer, parts: NumberParts, width: number, flags: CFormatFlags) {
  const len = parts.prefix.length + parts.lead.length + parts.zeros + parts.tail.length;
  const pad = width > len ? width - len : 0;
  const zeroPad = !flags.minus && flags.zero === true && parts.zeroPad;
  if (!flags.minus && !zeroPad) out.fill(32, pad);
  out.ascii(parts.prefix);
  if (zeroPad) out.fill(48, pad);
  out.ascii(parts.lead);
  out.fill(48, parts.zeros);
  out.ascii(parts.tail);
  if (flags.minus) out.fill(32, pad);
}

/** Writes raw bytes into a field of `width` padded with spaces. */
function _writeText(out: PrintfBuffer, text: Uint8Array, width: number, minus: boolean) {
  const pad = width > text.length ? width - text.length : 0;
  if (!minus) out.fill(32, pad);
  out.append(text);
  if (minus) out.fill(32, pad);
}

/**
 * Runs a printf format, appending the output to `out`.
 *
 * @param memory the app's memory (for the va buffer and `%s` strings)
 * @param fmt the format string's bytes, without the NUL
 * @param vaAddr app offset of the va buffer
 * @param out where the output goes
 * @returns the C return value: bytes produced, or -1 when that exceeds INT_MAX
 * @throws {TrapError} `out of bounds memory access` when an argument or string lies outside memory
 */
export function printfTo(
  memory: AppMemory,
  fmt: Uint8Array,
  vaAddr: number,
  out: PrintfBuffer,
): number {
  const va = new _VaReader(memory, vaAddr);
  const n = fmt.length;
  let i = 0;
  while (i < n) {
    let j = fmt.indexOf(37, i);
    if (j < 0) j = n;
    if (j > i) out.append(fmt.subarray(i, j));
    if (j >= n) break;
    const start = j;
    i = j + 1;

    const flags: CFormatFlags = {};
    for (;; i++) {
      const c = fmt[i];
      if (c === 45) flags.minus = true;
      else if (c === 43) flags.plus = true;
      else if (c === 32) flags.space = true;
      else if (c === 35) flags.hash = true;
      else if (c === 48) flags.zero = true;
      else break;
    }

    let width = 0;
    if (fmt[i] === 42) {
      i++;
      const w = va.i32();
      if (w < 0) {
        flags.minus = true;
        width = -w;
      } else width = w;
    } else {
      for (let c = fmt[i]; _isDigit(c); c = fmt[++i]) {
        width = Math.min(width * 10 + (c - 48), FIELD_MAX);
      }
    }

    let precision = -1;
    if (fmt[i] === 46) {
      i++;
      if (fmt[i] === 42) {
        i++;
        const p = va.i32();
        precision = p < 0 ? -1 : p;
      } else {
        precision = 0;
        for (let c = fmt[i]; _isDigit(c); c = fmt[++i]) {
          precision = Math.min(precision * 10 + (c - 48), FIELD_MAX);
        }
      }
    }

    let len = _Len.None;
    switch (fmt[i]) {
      case 104: // h
        if (fmt[i + 1] === 104) {
          len = _Len.HH;
          i++;
        } else len = _Len.H;
        i++;
        break;
      case 108: // l
        if (fmt[i + 1] === 108) {
          len = _Len.LL;
          i++;
        } else len = _Len.L32;
        i++;
        break;
      case 122: // z
      case 116: // t
        len = _Len.L32;
        i++;
        break;
      case 106: // j
      case 113: // q
        len = _Len.LL;
        i++;
        break;
      case 76: // L
        len = _Len.LD;
        i++;
        break;
    }

    // A directive cut off by the end of the format is printed as written.
    if (i >= n) {
      out.append(fmt.subarray(start, n));
      break;
    }
    const conv = fmt[i]!;
    i++;
    if (width >= FIELD_MAX || precision >= FIELD_MAX) return -1;

    switch (conv) {
      case 100: // d
      case 105: { // i
        let v: number | bigint;
        if (len === _Len.LL) v = va.i64();
        else {
          v = va.i32();
          if (len === _Len.H) v = (v << 16) >> 16;
          else if (len === _Len.HH) v = (v << 24) >> 24;
        }
        _writeNumber(out, formatIntParts(v, "d", precision, flags), width, flags);
        break;
      }
      case 117: // u
      case 111: // o
      case 120: // x
      case 88: { // X
        let v: number | bigint;
        if (len === _Len.LL) v = BigInt.asUintN(64, va.i64());
        else {
          v = va.i32() >>> 0;
          if (len === _Len.H) v &= 0xffff;
          else if (len === _Len.HH) v &= 0xff;
        }
        const c = String.fromCharCode(conv) as IntConversion;
        _writeNumber(out, formatIntParts(v, c, precision, flags), width, flags);
        break;
      }
      case 99: { // c
        const b = va.i32() & 0xff;
        const pad = width > 1 ? width - 1 : 0;
        if (!flags.minus) out.fill(32, pad);
        out.byte(b);
        if (flags.minus) out.fill(32, pad);
        break;
      }
      case 115: { // s
        const ptr = va.i32() >>> 0;
        let strLen = memory.strlen(ptr);
        if (ptr === 0 && strLen === 0) {
          // WAMR passes this to glibc as NULL, which prints "(null)" unless cut shorter.
          const text = precision >= 0 && precision < 6 ? _NULL_TEXT.subarray(0, 0) : _NULL_TEXT;
          _writeText(out, text, width, flags.minus === true);
          break;
        }
        if (precision >= 0 && precision < strLen) strLen = precision;
        _writeText(out, memory.bytes(ptr, strLen), width, flags.minus === true);
        break;
      }
      case 112: { // p
        const v = va.i32() >>> 0;
        if (v === 0) {
          _writeText(out, _NIL_TEXT, width, flags.minus === true);
          break;
        }
        const parts = formatIntParts(v, "x", precision, {});
        parts.prefix = (flags.plus ? "+" : flags.space ? " " : "") + "0x";
        _writeNumber(out, parts, width, flags);
        break;
      }
      case 101: // e
      case 69: // E
      case 102: // f
      case 70: // F
      case 103: // g
      case 71: // G
      case 97: // a
      case 65: { // A
        const c = String.fromCharCode(conv) as FloatConversion;
        const value = len === _Len.LD ? decodeBinary128(...va.f128()) : va.f64();
        _writeNumber(out, formatFloatParts(value, c, precision, flags), width, flags);
        break;
      }
      case 110: // n: HEAD writes nothing and consumes nothing
        break;
      case 37: // %
        out.byte(37);
        break;
      default:
        // Unknown conversion: the directive is printed as written.
        out.append(fmt.subarray(start, i));
    }
  }
  return out.count > INT_MAX ? -1 : out.count;
}

/**
 * Formats like C's `vsprintf` and returns the output bytes.
 *
 * @param memory the app's memory holding the va buffer and `%s` strings
 * @param fmt the format as bytes (no NUL) or as a string (encoded as UTF-8)
 * @param vaAddr app offset of the va buffer
 * @returns the output bytes (a copy)
 * @throws {TrapError} `out of bounds memory access` when an argument lies outside memory
 *
 * @example Format from a va buffer in linear memory
 * ```ts
 * import assert from "node:assert/strict";
 * import { AppMemory } from "../../sdk/mod.ts";
 * import { formatPrintf } from "./printf.ts";
 * const memory = new AppMemory(new WebAssembly.Memory({ initial: 1 }));
 * memory.setI32(16, 42);
 * memory.setF64(24, 2.5); // a double in the va buffer is 8-aligned
 * const out = new TextDecoder().decode(formatPrintf(memory, "%d %.1f", 16));
 * assert.equal(out, "42 2.5");
 * ```
 */
export function formatPrintf(
  memory: AppMemory,
  fmt: string | Uint8Array,
  vaAddr: number,
): Uint8Array {
  const bytes = typeof fmt === "string" ? _encoder.encode(fmt) : fmt;
  const out = new PrintfBuffer();
  printfTo(memory, bytes, vaAddr, out);
  return out.bytes().slice();
}
