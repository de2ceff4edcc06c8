// The emscripten side-module example: the seed README's test.c built by emcc 3.1.6 with the
// seed's command line (examples/emscripten/), run through the CLI and checked against a rebuild.
import assert from "node:assert/strict";
import { join } from "node:path";
import { buildTest, EXAMPLE_DIR } from "../examples/emscripten/build.ts";
import { readModule } from "../core/module/binary.ts";

const ROOT = new URL("../", import.meta.url);
const MOD = new URL("mod.ts", ROOT).pathname;
const TEST_WASM = "examples/emscripten/test.wasm";

async function run(args: string[]) {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", MOD, ...args],
    cwd: ROOT.pathname,
    env: { NO_COLOR: "1" },
  }).output();
  const dec = new TextDecoder();
  return { code, out: dec.decode(stdout), err: dec.decode(stderr) };
}

Deno.test("emscripten: the seed's test.c as a SIDE_MODULE prints the seed README's output", async () => {
  const { code, out, err } = await run([TEST_WASM]);
  assert.equal(err, "");
  assert.equal(code, 0);
  const match = out.match(/^Hello world!\nbuf ptr: 0x([0-9a-f]+)\nbuf: 1234\n$/);
  assert.ok(match, out);
  // malloc's block comes from the app heap, in the pages after the module's data page.
  assert.ok(parseInt(match[1]!, 16) >= 0x20000, `buf ptr 0x${match[1]} is not in the app heap`);
});

Deno.test("emscripten: test.wasm is a side module importing emcc's names", async () => {
  const info = readModule(await Deno.readFile(join(EXAMPLE_DIR, "test.wasm")));
  assert.deepEqual(info.dylink, {
    memorySize: 58,
    memoryAlign: 0,
    tableSize: 0,
    tableAlign: 0,
    needed: [],
  });
  assert.deepEqual(info.imports.map((i) => `${i.module}.${i.name}:${i.kind}`), [
    "env.puts:function",
    "env.malloc:function",
    "env.iprintf:function",
    "env.free:function",
    "env.__handle_stack_overflow:function",
    "env.__stack_pointer:global",
    "env.__memory_base:global",
    "env.memory:memory",
  ]);
  const exports = info.exports.map((e) => e.name);
  assert.deepEqual(exports, ["__wasm_call_ctors", "main", "__set_stack_limits"]);
});

Deno.test("emscripten: test.wasm is what emcc 3.1.6 builds from test.c, wherever it is built", async () => {
  const dir = await Deno.makeTempDir({ prefix: "emscripten_test_" });
  try {
    const fresh = await Deno.readFile(await buildTest(join(dir, "test.wasm")));
    const elsewhere = join(dir, "some", "other", "checkout");
    await Deno.mkdir(elsewhere, { recursive: true });
    await Deno.copyFile(join(EXAMPLE_DIR, "test.c"), join(elsewhere, "test.c"));
    const moved = await Deno.readFile(await buildTest(join(dir, "moved.wasm"), elsewhere));
    const committed = await Deno.readFile(join(EXAMPLE_DIR, "test.wasm"));
    assert.deepEqual(fresh, committed, "examples/emscripten/test.wasm differs from a rebuild");
    assert.deepEqual(moved, fresh, "the build depends on the directory it runs in");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
