/**
 * An app's linear memory as natives see it: cached views that refresh only after growth,
 * and checked reads and writes that trap with `out of bounds memory access` instead of
 * ever touching bytes outside the app.
 *
 * @module
 */

import { trapOutOfBounds } from "./errors.ts";

const _decoder = new TextDecoder();
const _encoder = new TextEncoder();

/**
 * Decodes UTF-8 bytes `[start, end)` of a view: short ASCII strings without TextDecoder,
 * shared buffers through a copy (TextDecoder refuses SharedArrayBuffer views).
 */
export function decodeUtf8(u8: Uint8Array, start: number, end: number): string {
  if (end - start <= 32) {
    let s = "";
    for (let i = start; i < end; i++) {
      const b = u8[i]!;
      if (b >= 0x80) return _decodeSlow(u8, start, end);
      s += String.fromCharCode(b);
    }
    return s;
  }
  return _decodeSlow(u8, start, end);
}

function _decodeSlow(u8: Uint8Array, start: number, end: number): string {
  const view = u8.subarray(start, end);
  return _decoder.decode(u8.buffer instanceof ArrayBuffer ? view : view.slice());
}

/** Encodes a string as UTF-8. */
export function encodeUtf8(s: string): Uint8Array {
  return _encoder.encode(s);
}

/** A linear memory with cached views and bounds-checked access. */
export class AppMemory {
  /** The underlying WebAssembly memory. */
  readonly memory: WebAssembly.Memory;
  /** Cached byte view; stale (length 0) after a non-shared memory grows. */
  u8: Uint8Array;
  /** Cached DataView over the same buffer. */
  dv: DataView;

  /**
   * Wraps a memory with cached views.
   *
   * @param memory the app's memory
   */
  constructor(memory: WebAssembly.Memory) {
    this.memory = memory;
    this.u8 = new Uint8Array(memory.buffer);
    this.dv = new DataView(memory.buffer);
  }

  /**
   * Re-reads `memory.buffer` after growth.
   *
   * @returns the fresh byte view
   */
  refresh(): Uint8Array {
    const buffer = this.memory.buffer;
    if (buffer !== this.u8.buffer || buffer.byteLength !== this.u8.length) {
      this.u8 = new Uint8Array(buffer);
      this.dv = new DataView(buffer);
    }
    return this.u8;
  }

  /** Current size in bytes. */
  get size(): number {
    return this.refresh().length;
  }

  /**
   * Checks that `[addr, addr + len)` lies inside memory, refreshing views once if needed.
   *
   * @param addr app offset (unsigned)
   * @param len byte length
   * @returns a current byte view of the whole memory
   */
  check(addr: number, len: number): Uint8Array {
    let u8 = this.u8;
    if (addr < 0 || len < 0 || addr + len > u8.length) {
      u8 = this.refresh();
      if (addr < 0 || len < 0 || addr + len > u8.length) trapOutOfBounds();
    }
    return u8;
  }

  /**
   * A zero-copy view of `[addr, addr + len)`.
   *
   * @param addr app offset
   * @param len byte length
   * @returns the view, valid until memory grows
   */
  bytes(addr: number, len: number): Uint8Array {
    const u8 = this.check(addr, len);
    return new Uint8Array(u8.buffer, u8.byteOffset + addr, len);
  }

  /**
   * Length of the NUL-terminated string at `addr`; the NUL must lie inside memory.
   *
   * @param addr app offset of the first byte
   * @returns the number of bytes before the NUL
   */
  strlen(addr: number): number {
    const u8 = this.check(addr, 1);
    const end = u8.indexOf(0, addr);
    if (end < 0) trapOutOfBounds();
    return end - addr;
  }

  /**
   * Decodes the NUL-terminated UTF-8 string at `addr`.
   *
   * @param addr app offset of the first byte
   * @returns the string without its NUL
   */
  cstring(addr: number): string {
    const len = this.strlen(addr);
    return decodeUtf8(this.u8, addr, addr + len);
  }

  /**
   * Writes bytes at `addr`.
   *
   * @param addr app offset
   * @param data bytes to copy in
   */
  write(addr: number, data: Uint8Array): void {
    this.check(addr, data.length).set(data, addr);
  }

  /**
   * Writes a string as UTF-8 plus a NUL at `addr`.
   *
   * @param addr app offset
   * @param s the string
   * @returns bytes written including the NUL
   */
  writeCString(addr: number, s: string): number {
    const data = encodeUtf8(s);
    const u8 = this.check(addr, data.length + 1);
    u8.set(data, addr);
    u8[addr + data.length] = 0;
    return data.length + 1;
  }

  /** Reads an unsigned byte. */
  u8At(addr: number): number {
    return this.check(addr, 1)[addr]!;
  }
  /** Reads a little-endian i32. */
  i32(addr: number): number {
    this.check(addr, 4);
    return this.dv.getInt32(addr, true);
  }
  /** Reads a little-endian u32. */
  u32(addr: number): number {
    this.check(addr, 4);
    return this.dv.getUint32(addr, true);
  }
  /** Reads a little-endian i64. */
  i64(addr: number): bigint {
    this.check(addr, 8);
    return this.dv.getBigInt64(addr, true);
  }
  /** Reads a little-endian f32. */
  f32(addr: number): number {
    this.check(addr, 4);
    return this.dv.getFloat32(addr, true);
  }
  /** Reads a little-endian f64. */
  f64(addr: number): number {
    this.check(addr, 8);
    return this.dv.getFloat64(addr, true);
  }
  /** Writes a byte. */
  setU8(addr: number, value: number): void {
    this.check(addr, 1)[addr] = value;
  }
  /** Writes a little-endian i32 (or u32). */
  setI32(addr: number, value: number): void {
    this.check(addr, 4);
    this.dv.setInt32(addr, value | 0, true);
  }
  /** Writes a little-endian i64. */
  setI64(addr: number, value: bigint): void {
    this.check(addr, 8);
    this.dv.setBigInt64(addr, BigInt.asIntN(64, value), true);
  }
  /** Writes a little-endian f32. */
  setF32(addr: number, value: number): void {
    this.check(addr, 4);
    this.dv.setFloat32(addr, value, true);
  }
  /** Writes a little-endian f64. */
  setF64(addr: number, value: number): void {
    this.check(addr, 8);
    this.dv.setFloat64(addr, value, true);
  }
}

/**
 * An app pointer (what a lone `*` in a signature becomes): an offset plus checked access.
 * Every read or write is bounds-checked against the whole memory, so no access is ever
 * silently out of range.
 */
export class AppPtr {
  /** The app offset (unsigned). */
  readonly addr: number;
  /** The memory it points into. */
  readonly memory: AppMemory;

  /**
   * Points at an app offset.
   *
   * @param memory the app's memory
   * @param addr the app offset
   */
  constructor(memory: AppMemory, addr: number) {
    this.memory = memory;
    this.addr = addr;
  }

  /** A view of `len` bytes starting `offset` bytes past the pointer. */
  bytes(len: number, offset = 0): Uint8Array {
    return this.memory.bytes(this.addr + offset, len);
  }
  /** The NUL-terminated string starting `offset` bytes past the pointer. */
  cstring(offset = 0): string {
    return this.memory.cstring(this.addr + offset);
  }
  /** Reads a byte. */
  u8(offset = 0): number {
    return this.memory.u8At(this.addr + offset);
  }
  /** Reads a little-endian i32. */
  i32(offset = 0): number {
    return this.memory.i32(this.addr + offset);
  }
  /** Reads a little-endian u32. */
  u32(offset = 0): number {
    return this.memory.u32(this.addr + offset);
  }
  /** Reads a little-endian i64. */
  i64(offset = 0): bigint {
    return this.memory.i64(this.addr + offset);
  }
  /** Reads a little-endian f64. */
  f64(offset = 0): number {
    return this.memory.f64(this.addr + offset);
  }
  /** Writes a byte. */
  setU8(value: number, offset = 0): void {
    this.memory.setU8(this.addr + offset, value);
  }
  /** Writes a little-endian i32. */
  setI32(value: number, offset = 0): void {
    this.memory.setI32(this.addr + offset, value);
  }
  /** Writes a little-endian i64. */
  setI64(value: bigint, offset = 0): void {
    this.memory.setI64(this.addr + offset, value);
  }
  /** Writes bytes. */
  write(data: Uint8Array, offset = 0): void {
    this.memory.write(this.addr + offset, data);
  }
}
