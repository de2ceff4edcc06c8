import assert from "node:assert/strict";
import { BuiltinHeap, HEAP_CORRUPTED } from "../core/instance/app_heap.ts";
import { AppMemory } from "../sdk/memory.ts";
import { TrapError } from "../sdk/errors.ts";
import { COMMON_FLAGS } from "../sdk/c/build.ts";
import { Runtime } from "../core/instance/runtime.ts";
import libc from "../natives/libc/mod.ts";

function heap(size = 4096, onFail?: (n: number) => void) {
  const memory = new AppMemory(new WebAssembly.Memory({ initial: 2 }));
  return { memory, heap: new BuiltinHeap(memory, 65536, size, onFail) };
}

Deno.test("app_heap: malloc returns 8-aligned blocks inside the region, without overlap", () => {
  const { heap: h } = heap();
  const a = h.malloc(10);
  const b = h.malloc(1);
  const c = h.malloc(0);
  for (const p of [a, b, c]) {
    assert.ok(h.contains(p));
    assert.equal(p % 8, 0);
  }
  assert.ok(b >= a + 16 && c >= b + 8);
  assert.equal(a, 65536 + 8, "the first block follows its 8-byte header");
});

Deno.test("app_heap: exhaustion returns 0 and reports the size; free makes room again", () => {
  const failed: number[] = [];
  const { heap: h } = heap(1024, (n) => failed.push(n));
  const blocks: number[] = [];
  for (let p = h.malloc(100); p !== 0; p = h.malloc(100)) blocks.push(p);
  assert.equal(blocks.length, Math.floor(1024 / 112));
  assert.deepEqual(failed, [100]);
  for (const p of blocks) h.free(p);
  assert.equal(h.used, 0);
  assert.notEqual(h.malloc(1000), 0, "freed neighbours coalesce into one block");
  assert.equal(h.malloc(2 ** 32), 0);
});

Deno.test("app_heap: calloc zeroes, rejects products of 2^32 or more", () => {
  const { heap: h, memory } = heap();
  const p = h.malloc(64);
  memory.bytes(p, 64).fill(0xff);
  h.free(p);
  const q = h.calloc(8, 8);
  assert.equal(q, p);
  assert.deepEqual([...memory.bytes(q, 64)], new Array(64).fill(0));
  assert.equal(h.calloc(65536, 65536), 0);
});

Deno.test("app_heap: realloc keeps contents and frees the old block", () => {
  const { heap: h, memory } = heap();
  const p = h.malloc(8);
  memory.write(p, new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]));
  assert.equal(h.realloc(p, 4), p, "shrinking stays in place");
  const q = h.realloc(p, 100);
  assert.notEqual(q, p);
  assert.deepEqual([...memory.bytes(q, 8)], [1, 2, 3, 4, 5, 6, 7, 8]);
  assert.equal(h.malloc(8), p, "the old block was freed");
  assert.notEqual(h.realloc(0, 16), 0, "realloc(NULL, n) is malloc");
  assert.equal(h.realloc(q, 1 << 20), 0, "failure leaves the block valid");
  assert.equal(memory.u8At(q + 7), 8);
});

Deno.test("app_heap: dup copies data in", () => {
  const { heap: h, memory } = heap();
  const p = h.dup(new Uint8Array([9, 8, 7]));
  assert.deepEqual([...memory.bytes(p, 3)], [9, 8, 7]);
});

Deno.test("app_heap: free ignores 0 and pointers outside the heap", () => {
  const { heap: h } = heap();
  const p = h.malloc(16);
  h.free(0);
  h.free(100);
  h.free(65536 + 8000);
  assert.equal(h.used, 24);
  h.free(p);
  assert.equal(h.used, 0);
});

Deno.test("app_heap: double free and overwritten headers trap 'app heap corrupted'", () => {
  const { heap: h, memory } = heap();
  const p = h.malloc(16);
  h.free(p);
  assert.throws(
    () => h.free(p),
    (e: unknown) => e instanceof TrapError && e.message === HEAP_CORRUPTED,
  );
  const q = h.malloc(16);
  assert.throws(
    () => h.free(q + 8),
    (e: unknown) => e instanceof TrapError && e.message === HEAP_CORRUPTED,
  );
  memory.setI32(q - 4, 0x12345678);
  assert.throws(
    () => h.free(q),
    (e: unknown) => e instanceof TrapError && e.message === HEAP_CORRUPTED,
  );
  assert.throws(
    () => h.realloc(q, 64),
    (e: unknown) => e instanceof TrapError && e.message === HEAP_CORRUPTED,
  );
});

// A plain C program that mallocs through the runtime's libc and prints where the block is,
// built with a declared memory maximum (clang's --max-memory).
const MAX_APP = `#include <stdio.h>
#include <stdlib.h>
extern unsigned char __heap_base;
int main(int argc, char **argv) {
    char *p = malloc(100);
    printf("heap_base=%u block=%u argv0=%s\\n", (unsigned)&__heap_base, (unsigned)p, argv[0]);
    (void)argc;
    return 0;
}
`;

async function buildWithMaximum(maxMemory: number): Promise<Uint8Array<ArrayBuffer>> {
  const dir = await Deno.makeTempDir({ prefix: "app_heap_max_" });
  try {
    await Deno.writeTextFile(`${dir}/max.c`, MAX_APP);
    const { success, stderr } = await new Deno.Command("clang-19", {
      args: [
        ...COMMON_FLAGS,
        `-Wl,--max-memory=${maxMemory}`,
        "-Wl,--export=__main_argc_argv",
        `${dir}/max.c`,
        "-o",
        `${dir}/max.wasm`,
      ],
      cwd: new URL("..", import.meta.url).pathname,
      stderr: "piped",
    }).output();
    if (!success) throw new Error(new TextDecoder().decode(stderr));
    return await Deno.readFile(`${dir}/max.wasm`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function runMain(bytes: Uint8Array<ArrayBuffer>, heapSize: number) {
  let out = "";
  const warnings: string[] = [];
  const runtime = new Runtime({
    plugins: [libc],
    stdout: (b) => out += new TextDecoder().decode(b),
    warn: (m) => warnings.push(m),
  });
  const app = await runtime.instantiate(await runtime.load(bytes), { heapSize });
  try {
    const status = app.callMain(["max.wasm"]);
    app.stdout.flush();
    return { status, out, warnings, heap: app.heap, pages: app.memory.size / 65536 };
  } catch (e) {
    return { status: e, out, warnings, heap: app.heap, pages: app.memory.size / 65536 };
  } finally {
    app.free();
  }
}

Deno.test("app_heap: a C app whose memory maximum is its size gets a heap after __heap_base", async () => {
  const app = await runMain(await buildWithMaximum(65536), 16384);
  assert.equal(app.status, 0, String(app.status));
  const m = /^heap_base=(\d+) block=(\d+) argv0=max\.wasm\n$/.exec(app.out);
  assert.ok(m, app.out);
  const [heapBase, block] = [Number(m[1]), Number(m[2])];
  assert.ok(block >= heapBase && block + 100 <= 65536, `block ${block} past ${heapBase}`);
  assert.equal(app.pages, 1, "the memory did not grow past its maximum");
  assert.equal(app.heap.base, (heapBase + 7) & ~7);
  assert.deepEqual(app.warnings, []);
});

Deno.test("app_heap: a maximum with room left still gets appended pages", async () => {
  const app = await runMain(await buildWithMaximum(131072), 16384);
  assert.equal(app.status, 0, String(app.status));
  assert.equal(app.heap.base, 65536, "the heap is the page appended within the maximum");
  assert.match(app.out, /block=655\d\d argv0=max\.wasm\n/);
});

Deno.test("app_heap: a maximum that leaves no room gives a clear warning, then WAMR's trap", async () => {
  const app = await runMain(await buildWithMaximum(65536), 128 * 1024);
  assert.ok(app.status instanceof TrapError, String(app.status));
  assert.equal((app.status as TrapError).message, "allocate memory failed");
  assert.match(
    app.warnings.join("\n"),
    /cannot place a 131072-byte app heap: the memory's maximum leaves less than that after __heap_base \(\d+\); ask for a smaller heap/,
  );
});
