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

interface _Free {
  addr: number; // header address
  size: number; // total bytes incl. header
}

/** `calloc` on top of a heap's `malloc`: 0 when `n * size` does not fit in 32 bits. */
function _calloc(heap: AppHeap, memory: AppMemory, n: number, size: number): number {
  const total = n * size;
  if (total >= 2 ** 32) return 0;
  const ptr = heap.malloc(total);
  if (ptr !== 0) memory.bytes(ptr, total).fill(0);
  return ptr;
}

/** The runtime's own allocator over `[base, base + size)` of an app's memory. */
export class BuiltinHeap implements AppHeap {
  readonly kind = "builtin" as const;
  readonly base: number;
  readonly size: number;
  readonly #memory: AppMemory;
  /** Live blocks: payload address -> total size (header included). */
  readonly #live = new Map<number, number>();
  /** Free blocks sorted by address, coalesced. */
  #free: _Free[];
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
    this.#free = this.size >= HEADER + ALIGN ? [{ addr: this.base, size: this.size }] : [];
    this.#onFail = onFail;
  }

  /** Bytes currently allocated, headers included. */
  get used(): number {
    let n = 0;
    for (const s of this.#live.values()) n += s;
    return n;
  }

  contains(ptr: number): boolean {
    return ptr >= this.base && ptr < this.base + this.size;
  }

  malloc(size: number): number {
    const need = HEADER + Math.max(ALIGN, Math.ceil(size / ALIGN) * ALIGN);
    if (!(size >= 0) || need > this.size) return this.#fail(size);
    for (let i = 0; i < this.#free.length; i++) {
      const block = this.#free[i]!;
      if (block.size < need) continue;
      const addr = block.addr;
      let take = need;
      if (block.size - need >= HEADER + ALIGN) {
        block.addr += need;
        block.size -= need;
      } else {
        take = block.size;
        this.#free.splice(i, 1);
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
    this.#live.delete(ptr);
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
    this.#live.set(ptr, total);
    this.#memory.setI32(addr, total);
    this.#memory.setI32(addr + 4, MAGIC_USED);
    return ptr;
  }

  /** Checks a block being freed or resized; returns its total size. */
  #verify(ptr: number): number {
    const total = this.#live.get(ptr);
    if (total === undefined) throw new TrapError(HEAP_CORRUPTED);
    const mem = this.#memory;
    if (mem.i32(ptr - HEADER) !== total || mem.i32(ptr - 4) !== MAGIC_USED) {
      throw new TrapError(HEAP_CORRUPTED);
    }
    return total;
  }

  #release(addr: number, size: number): void {
    const list = this.#free;
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (list[mid]!.addr < addr) lo = mid + 1;
      else hi = mid;
    }
    const prev = list[lo - 1];
    const next = list[lo];
    if (prev && prev.addr + prev.size === addr) {
      prev.size += size;
      if (next && prev.addr + prev.size === next.addr) {
        prev.size += next.size;
        list.splice(lo, 1);
      }
    } else if (next && addr + size === next.addr) {
      next.addr = addr;
      next.size += size;
    } else {
      list.splice(lo, 0, { addr, size });
    }
  }

  #fail(size: number): number {
    this.#onFail?.(size);
    return 0;
  }
}

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
