/**
 * The app heap: memory that natives and the runtime allocate inside an app's linear memory
 * (WAMR's `wasm_runtime_module_malloc`). Either our own allocator over pages appended after
 * the module's memory, or the app's exported `malloc`/`free`.
 *
 * Block metadata lives on the host side, out of the app's reach; each block also carries an
 * 8-byte header in linear memory whose canary detects an app writing over it.
 *
 * @module
 */

import { TrapError } from "../../sdk/errors.ts";
import type { AppMemory } from "../../sdk/memory.ts";

import { type AppHeap, HEAP_CORRUPTED } from "../../sdk/heap.ts";

export { type AppHeap, HEAP_CORRUPTED };

const HEADER = 8;
const ALIGN = 8;
const MAGIC_USED = 0x4d52_0a11;

/** `calloc` on top of a heap's `malloc`: 0 when `n * size` does not fit in 32 bits. */
function _calloc(heap: AppHeap, memory: AppMemory, n: number, size: number): number {
  const total = n * size;
  if (total >= 2 ** 32) return 0;
  const ptr = heap.malloc(total);
  if (ptr !== 0) memory.bytes(ptr, total).fill(0);
  return ptr;
}

/**
 * The runtime's own allocator over `[base, base + size)` of an app's memory: first fit over
 * a free list sorted by address and coalesced. Its bookkeeping is in number arrays that only
 * grow (a free list of objects and a Map of live blocks cost an allocation per malloc/free
 * pair: the app manager allocates a packet per message).
 */
export class BuiltinHeap implements AppHeap {
  readonly kind = "builtin" as const;
  readonly base: number;
  readonly size: number;
  readonly #memory: AppMemory;
  /**
   * Live blocks: an open-addressing hash table of payload address (0: empty slot) and
   * total size (header included), side by side.
   */
  #live: number[] = new Array(2 * _LIVE_SLOTS).fill(0);
  #liveCount = 0;
  #used = 0;
  /** Free blocks sorted by address, coalesced: header address and total size, side by side. */
  #free: number[];
  #freeCount: number;
  readonly #onFail: ((size: number) => void) | undefined;

  /**
   * @param memory the app memory the region lies in
   * @param base first byte of the region (8-aligned)
   * @param size region size in bytes
   * @param onFail called with the requested size when an allocation fails
   */
  constructor(memory: AppMemory, base: number, size: number, onFail?: (size: number) => void) {
    const start = (base + ALIGN - 1) & ~(ALIGN - 1);
    this.#memory = memory;
    this.base = start;
    this.size = Math.max(0, size - (start - base)) & ~(ALIGN - 1);
    this.#free = [this.base, this.size, 0, 0];
    this.#freeCount = this.size >= HEADER + ALIGN ? 1 : 0;
    this.#onFail = onFail;
  }

  /** Bytes currently allocated, headers included. */
  get used(): number {
    return this.#used;
  }

  contains(ptr: number): boolean {
    return ptr >= this.base && ptr < this.base + this.size;
  }

  malloc(size: number): number {
    const need = HEADER + Math.max(ALIGN, Math.ceil(size / ALIGN) * ALIGN);
    if (!(size >= 0) || need > this.size) return this.#fail(size);
    const free = this.#free;
    for (let i = 0; i < this.#freeCount; i++) {
      const blockSize = free[2 * i + 1]!;
      if (blockSize < need) continue;
      const addr = free[2 * i]!;
      let take = need;
      if (blockSize - need >= HEADER + ALIGN) {
        free[2 * i] = addr + need;
        free[2 * i + 1] = blockSize - need;
      } else {
        take = blockSize;
        this.#removeFree(i);
      }
      return this.#claim(addr, take);
    }
    return this.#fail(size);
  }

  calloc(n: number, size: number): number {
    return _calloc(this, this.#memory, n, size);
  }

  realloc(ptr: number, size: number): number {
    if (ptr === 0) return this.malloc(size);
    const old = this.#verify(ptr);
    const oldPayload = old - HEADER;
    if (size <= oldPayload) return ptr;
    const next = this.malloc(size);
    if (next === 0) return 0;
    const u8 = this.#memory.check(ptr, oldPayload);
    u8.copyWithin(next, ptr, ptr + oldPayload);
    this.free(ptr);
    return next;
  }

  free(ptr: number): void {
    if (ptr === 0 || !this.contains(ptr)) return;
    const total = this.#verify(ptr);
    this.#forget(ptr);
    this.#memory.setI32(ptr - 4, 0);
    this.#release(ptr - HEADER, total);
  }

  dup(data: Uint8Array): number {
    const ptr = this.malloc(data.length);
    if (ptr !== 0) this.#memory.write(ptr, data);
    return ptr;
  }

  #claim(addr: number, total: number): number {
    const ptr = addr + HEADER;
    this.#remember(ptr, total);
    this.#memory.setI32(addr, total);
    this.#memory.setI32(addr + 4, MAGIC_USED);
    return ptr;
  }

  /** Checks a block being freed or resized; returns its total size. */
  #verify(ptr: number): number {
    const slot = this.#slotOf(ptr);
    if (slot < 0) throw new TrapError(HEAP_CORRUPTED);
    const total = this.#live[slot + 1]!;
    const mem = this.#memory;
    if (mem.i32(ptr - HEADER) !== total || mem.i32(ptr - 4) !== MAGIC_USED) {
      throw new TrapError(HEAP_CORRUPTED);
    }
    return total;
  }

  // ---- the live table: linear probing, deletion by shifting back (no tombstones) --------

  /** The first slot (an index into `#live`) to look at for a payload address. */
  #home(ptr: number, live: number[]): number {
    const slots = live.length >> 1;
    return (Math.imul(ptr >>> 3, 0x9e3779b1) >>> 0) % slots * 2;
  }

  /** The slot holding a live block's address, or -1. */
  #slotOf(ptr: number): number {
    const live = this.#live;
    for (let at = this.#home(ptr, live);; at = (at + 2) % live.length) {
      const key = live[at]!;
      if (key === ptr) return at;
      if (key === 0) return -1;
    }
  }

  #remember(ptr: number, total: number): void {
    if (2 * (this.#liveCount + 1) > this.#live.length >> 1) this.#growLive();
    const live = this.#live;
    let at = this.#home(ptr, live);
    while (live[at] !== 0) at = (at + 2) % live.length;
    live[at] = ptr;
    live[at + 1] = total;
    this.#liveCount++;
    this.#used += total;
  }

  #forget(ptr: number): void {
    const live = this.#live;
    let hole = this.#slotOf(ptr);
    if (hole < 0) return;
    this.#used -= live[hole + 1]!;
    this.#liveCount--;
    // Move back each following entry of the run that may sit in the hole.
    for (let at = (hole + 2) % live.length;; at = (at + 2) % live.length) {
      const key = live[at]!;
      if (key === 0) break;
      const home = this.#home(key, live);
      const between = hole <= at ? hole < home && home <= at : hole < home || home <= at;
      if (between) continue;
      live[hole] = key;
      live[hole + 1] = live[at + 1]!;
      hole = at;
    }
    live[hole] = 0;
    live[hole + 1] = 0;
  }

  #growLive(): void {
    const old = this.#live;
    this.#live = new Array(old.length * 2).fill(0);
    this.#liveCount = 0;
    this.#used = 0;
    for (let at = 0; at < old.length; at += 2) {
      if (old[at] !== 0) this.#remember(old[at]!, old[at + 1]!);
    }
  }

  // ---- the free list ----------------------------------------------------------------------

  #removeFree(i: number): void {
    const free = this.#free;
    const end = 2 * this.#freeCount - 2;
    for (let k = 2 * i; k < end; k++) free[k] = free[k + 2]!;
    this.#freeCount--;
  }

  #insertFree(i: number, addr: number, size: number): void {
    let free = this.#free;
    if (2 * (this.#freeCount + 1) > free.length) {
      const grown: number[] = new Array(free.length * 2).fill(0);
      for (let k = 0; k < 2 * this.#freeCount; k++) grown[k] = free[k]!;
      this.#free = free = grown;
    }
    for (let k = 2 * this.#freeCount - 1; k >= 2 * i; k--) free[k + 2] = free[k]!;
    free[2 * i] = addr;
    free[2 * i + 1] = size;
    this.#freeCount++;
  }

  #release(addr: number, size: number): void {
    const free = this.#free;
    let lo = 0;
    let hi = this.#freeCount;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (free[2 * mid]! < addr) lo = mid + 1;
      else hi = mid;
    }
    const hasPrev = lo > 0;
    const hasNext = lo < this.#freeCount;
    if (hasPrev && free[2 * lo - 2]! + free[2 * lo - 1]! === addr) {
      free[2 * lo - 1] = free[2 * lo - 1]! + size;
      if (hasNext && free[2 * lo - 2]! + free[2 * lo - 1]! === free[2 * lo]!) {
        free[2 * lo - 1] = free[2 * lo - 1]! + free[2 * lo + 1]!;
        this.#removeFree(lo);
      }
    } else if (hasNext && addr + size === free[2 * lo]!) {
      free[2 * lo] = addr;
      free[2 * lo + 1] = free[2 * lo + 1]! + size;
    } else {
      this.#insertFree(lo, addr, size);
    }
  }

  #fail(size: number): number {
    this.#onFail?.(size);
    return 0;
  }
}

/** Slots of a new heap's live table (it doubles when half full). */
const _LIVE_SLOTS = 8;

const _PAGE = 65536;

/** Where {@linkcode placeHeap} put a heap: its first byte and its size. */
export interface HeapPlace {
  readonly base: number;
  readonly size: number;
}

/**
 * Finds room for the runtime's heap in an app's memory before any app code runs. First in
 * pages appended after the module's own, which nothing of the app uses. When the memory's
 * declared maximum forbids that, within the maximum: from `__heap_base` (the end of the
 * module's data and stack, where clang's layout leaves the rest of memory to an allocator)
 * to the end of memory, grown by what the maximum still allows. WAMR's runtime places its
 * heap at `__heap_base` too, for the same modules.
 *
 * @param memory the app's memory, grown when pages are needed
 * @param size the heap size asked for, in bytes
 * @param heapBase the module's exported `__heap_base`, if any
 * @returns where the heap goes, or why it cannot have one (for a warning)
 *
 * @example A memory whose maximum is its initial size
 * ```ts
 * import assert from "node:assert/strict";
 * import { placeHeap } from "./app_heap.ts";
 * const memory = new WebAssembly.Memory({ initial: 1, maximum: 1 });
 * assert.deepEqual(placeHeap(memory, 8192, 9000), { base: 9000, size: 8192 });
 * assert.match(placeHeap(memory, 65536, 9000) as string, /maximum leaves less than that/);
 * ```
 */
export function placeHeap(
  memory: WebAssembly.Memory,
  size: number,
  heapBase: number | undefined,
): HeapPlace | string {
  const pages = Math.ceil(size / _PAGE);
  try {
    return { base: memory.grow(pages) * _PAGE, size };
  } catch {
    // The maximum is reached: look below it.
  }
  const end = memory.buffer.byteLength;
  if (heapBase === undefined || heapBase <= 0 || heapBase > end) {
    return `cannot append a ${size}-byte app heap: the memory's maximum size is reached, ` +
      `and the module exports no __heap_base below it to place the heap after`;
  }
  const base = (heapBase + ALIGN - 1) & ~(ALIGN - 1);
  const missing = base + size - end;
  if (missing > 0) {
    try {
      memory.grow(Math.ceil(missing / _PAGE));
    } catch {
      return `cannot place a ${size}-byte app heap: the memory's maximum leaves less than ` +
        `that after __heap_base (${heapBase}); ask for a smaller heap`;
    }
  }
  return { base, size };
}

/** The app's own exported `malloc`/`free` (and `realloc` when exported). */
export class ExportedHeap implements AppHeap {
  readonly kind = "app" as const;
  readonly base = 0;
  readonly size = 0;
  readonly #memory: AppMemory;
  readonly #malloc: (n: number) => number;
  readonly #free: (p: number) => void;
  readonly #realloc: ((p: number, n: number) => number) | undefined;

  /**
   * @param memory the app's memory
   * @param exports the app's exports holding `malloc`, `free` and optionally `realloc`
   */
  constructor(memory: AppMemory, exports: WebAssembly.Exports) {
    this.#memory = memory;
    this.#malloc = exports.malloc as (n: number) => number;
    this.#free = exports.free as (p: number) => void;
    this.#realloc = typeof exports.realloc === "function"
      ? exports.realloc as (p: number, n: number) => number
      : undefined;
  }

  contains(ptr: number): boolean {
    return ptr > 0 && ptr < this.#memory.size;
  }
  malloc(size: number): number {
    return this.#malloc(size) >>> 0;
  }
  calloc(n: number, size: number): number {
    return _calloc(this, this.#memory, n, size);
  }
  realloc(ptr: number, size: number): number {
    return this.#realloc ? this.#realloc(ptr, size) >>> 0 : 0;
  }
  free(ptr: number): void {
    if (ptr !== 0) this.#free(ptr);
  }
  dup(data: Uint8Array): number {
    const ptr = this.malloc(data.length);
    if (ptr !== 0) this.#memory.write(ptr, data);
    return ptr;
  }
}

/** No heap (size 0 and no exported allocator): every allocation fails. */
export class NoHeap implements AppHeap {
  readonly kind = "none" as const;
  readonly base = 0;
  readonly size = 0;
  readonly #onFail: ((size: number) => void) | undefined;
  /** @param onFail called with the requested size on each allocation */
  constructor(onFail?: (size: number) => void) {
    this.#onFail = onFail;
  }
  contains(): boolean {
    return false;
  }
  malloc(size: number): number {
    this.#onFail?.(size);
    return 0;
  }
  calloc(n: number, size: number): number {
    return this.malloc(n * size);
  }
  realloc(_ptr: number, size: number): number {
    return this.malloc(size);
  }
  free(): void {}
  dup(data: Uint8Array): number {
    return this.malloc(data.length);
  }
}
