/**
 * Memory and heap: where the app heap sits in linear memory, allocating from the host inside
 * the app (WAMR's `wasm_runtime_module_malloc` / `_dup_data`), writing and reading app memory
 * with checked access, and what an out-of-range access or a full heap does.
 *
 * ```sh
 * deno run --allow-read examples/embed/memory_and_heap.ts
 * ```
 *
 * @module
 */

import { libc, Runtime, TrapError } from "../../mod.ts";

const hex = (n: number): string => `0x${n.toString(16).padStart(8, "0")}`;

let printed = "";
const decoder = new TextDecoder();
const runtime = new Runtime({
  plugins: [libc],
  stdout: function keepOutput(bytes) {
    printed += decoder.decode(bytes, { stream: true });
  },
  // Warnings go to stderr by default; here they join the rest of the story.
  warn: function showWarning(message) {
    console.log(`  (${message})`);
  },
});
const module = await runtime.load(new URL("../hello/hello.wasm", import.meta.url));
const app = await runtime.instantiate(module, { heapSize: 16 * 1024 });
try {
  const { heap, memory } = app;
  // The module asks for one 64 KiB page; the heap is appended after it, in pages of its own.
  console.log(`memory: ${memory.size} bytes`);
  console.log(`heap: ${heap.kind}, ${hex(heap.base)}..${hex(heap.base + heap.size)}`);

  // The app's malloc (a libc native) allocates from the same heap.
  app.callMain(["hello.wasm"]);
  app.stdout.flush();
  const appBuffer = Number(/buf ptr: (0x[0-9a-f]+)/.exec(printed)![1]);
  console.log(
    `the app's malloc returned ${hex(appBuffer)}: in the heap: ${heap.contains(appBuffer)}`,
  );

  // Host-side allocation and checked writes and reads.
  const text = heap.malloc(32);
  memory.writeCString(text, "written by the host");
  console.log(`malloc(32) = ${hex(text)}, reads back "${memory.cstring(text)}"`);
  const numbers = heap.calloc(4, 8);
  memory.setI32(numbers, -2);
  memory.setF64(numbers + 8, 2.5);
  memory.setI64(numbers + 16, 1n << 40n);
  console.log(
    `calloc(4, 8): i32 ${memory.i32(numbers)}, f64 ${memory.f64(numbers + 8)}, ` +
      `i64 ${memory.i64(numbers + 16)}, last 8 bytes still zero: ${
        memory.bytes(numbers + 24, 8).every((b) => b === 0)
      }`,
  );
  const copy = heap.dup(new TextEncoder().encode("dup"));
  console.log(`dup([d, u, p]) = ${hex(copy)}: ${[...memory.bytes(copy, 3)]}`);
  // bytes() is a view into the app's memory, not a copy: writes through it are the app's.
  memory.bytes(copy, 3).set([68, 85, 80]);
  console.log(`after writing through the view: ${decoder.decode(memory.bytes(copy, 3))}`);

  // Every access is checked against the memory's current size.
  try {
    memory.bytes(memory.size - 2, 4);
  } catch (error) {
    if (!(error instanceof TrapError)) throw error;
    console.log(`reading 4 bytes at ${hex(memory.size - 2)}: TrapError "${error.message}"`);
  }

  // A full heap returns 0, as C's malloc returns NULL; freeing makes room again.
  console.log(`malloc(1 MiB) = ${heap.malloc(1024 * 1024)}`);
  for (const block of [text, numbers, copy]) heap.free(block);
  const again = heap.malloc(32);
  console.log(`after free, malloc(32) = ${hex(again)}: the first block again: ${again === text}`);
} finally {
  app.free();
}
