/**
 * The app heap as natives see it: allocation inside an app's linear memory. The runtime's
 * implementations live in `core/instance/app_heap.ts`.
 *
 * @module
 */

/** WAMR's exception when the heap's own bookkeeping is damaged. */
export const HEAP_CORRUPTED = "app heap corrupted";

/** Allocation inside an app's linear memory. Addresses are app offsets; 0 means failure. */
export interface AppHeap {
  /** `"builtin"`: the runtime's allocator; `"app"`: the app's exported malloc/free; `"none"`. */
  readonly kind: "builtin" | "app" | "none";
  /** First byte of the heap region (builtin only; 0 otherwise). */
  readonly base: number;
  /** Size of the heap region in bytes (builtin only; 0 otherwise). */
  readonly size: number;
  /**
   * Allocates `size` bytes, 8-byte aligned.
   *
   * @returns the app offset, or 0 when out of memory
   */
  malloc(size: number): number;
  /**
   * Allocates `n * size` zeroed bytes.
   *
   * @returns the app offset, or 0 when out of memory or when the product overflows 32 bits
   */
  calloc(n: number, size: number): number;
  /**
   * Resizes a block, keeping its contents.
   *
   * @returns the new app offset, or 0 (the old block stays valid)
   */
  realloc(ptr: number, size: number): number;
  /** Frees a block; 0 and addresses outside the heap are ignored. */
  free(ptr: number): void;
  /**
   * Allocates and copies `data` in (WAMR's `module_dup_data`).
   *
   * @returns the app offset, or 0
   */
  dup(data: Uint8Array): number;
  /** Whether `ptr` is inside the heap region. */
  contains(ptr: number): boolean;
}
