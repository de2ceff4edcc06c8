import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import {
  buildExamples,
  clangAvailable,
  EXAMPLES,
  expectedExports,
  sourcePath,
  wasmPath,
} from "../examples/build.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const HAS_CLANG = await clangAvailable();

// The libc natives an example may import (WAMR HEAD libc-builtin, as declared in sdk/c/include).
const LIBC_NATIVES = new Set([
  "printf",
  "sprintf",
  "snprintf",
  "vprintf",
  "vsprintf",
  "vsnprintf",
  "puts",
  "putchar",
  "malloc",
  "calloc",
  "realloc",
  "free",
  "atoi",
  "exit",
  "strtol",
  "strtoul",
  "abort",
  "memcmp",
  "memcpy",
  "memmove",
  "memset",
  "memchr",
  "strchr",
  "strcmp",
  "strncmp",
  "strcpy",
  "strncpy",
  "strlen",
  "strdup",
  "strncasecmp",
  "strspn",
  "strcspn",
  "strstr",
  "isupper",
  "isalpha",
  "isspace",
  "isgraph",
  "isprint",
  "isdigit",
  "isxdigit",
  "tolower",
  "toupper",
  "isalnum",
]);

function readExample(name: string): Promise<Uint8Array<ArrayBuffer>> {
  const example = EXAMPLES.find((e) => e.name === name);
  if (example === undefined) throw new Error(`No example named "${name}"`);
  return Deno.readFile(join(ROOT, wasmPath(example)));
}

// An assert.throws validator: the error's class and part of its message.
function trapWith(
  type: new (...args: never[]) => Error,
  message: string,
): (error: unknown) => boolean {
  return function isExpected(error: unknown): boolean {
    return error instanceof type && error.message.includes(message);
  };
}

// The `env` functions a test does not care about; calling one is a test failure.
function unexpectedImports(module: WebAssembly.Module): Record<string, () => never> {
  const env: Record<string, () => never> = {};
  for (const { name } of WebAssembly.Module.imports(module)) {
    env[name] = function unexpected(): never {
      throw new Error(`Unexpected call of import "env"."${name}"`);
    };
  }
  return env;
}

Deno.test({
  name: "examples: committed .wasm match a rebuild",
  ignore: !HAS_CLANG,
  async fn() {
    const tempDir = await Deno.makeTempDir({ prefix: "examples_test_" });
    try {
      const rebuilt = await buildExamples(tempDir);
      assert.deepEqual(rebuilt.length, EXAMPLES.length);
      for (const [i, example] of EXAMPLES.entries()) {
        const committed = await Deno.readFile(join(ROOT, wasmPath(example)));
        const fresh = await Deno.readFile(rebuilt[i]!);
        assert.deepEqual(committed, fresh, `${wasmPath(example)} differs from a rebuild`);
      }
    } finally {
      await Deno.remove(tempDir, { recursive: true });
    }
  },
});

Deno.test({
  name: "examples: printf expected.txt is what glibc prints for printf.c",
  ignore: !HAS_CLANG,
  async fn() {
    const tempDir = await Deno.makeTempDir({ prefix: "examples_test_" });
    try {
      const native = join(tempDir, "printf_native");
      const compiled = await new Deno.Command("clang-19", {
        args: [join(ROOT, "examples/printf/printf.c"), "-o", native],
        stderr: "piped",
      }).output();
      assert(compiled.success, new TextDecoder().decode(compiled.stderr));
      const run = await new Deno.Command(native, { stdout: "piped" }).output();
      assert(run.success);
      const expected = await Deno.readTextFile(join(ROOT, "examples/printf/expected.txt"));
      assert.deepEqual(new TextDecoder().decode(run.stdout), expected);
    } finally {
      await Deno.remove(tempDir, { recursive: true });
    }
  },
});

Deno.test("examples: every C source is a known example with its .wasm committed", async () => {
  const known = new Set(EXAMPLES.map(sourcePath));
  for await (const dir of Deno.readDir(join(ROOT, "examples"))) {
    if (!dir.isDirectory) continue;
    for await (const file of Deno.readDir(join(ROOT, "examples", dir.name))) {
      if (!file.name.endsWith(".c")) continue;
      const source = join("examples", dir.name, file.name);
      assert(known.has(source), `${source} is not listed in EXAMPLES in examples/build.ts`);
    }
  }
  for (const example of EXAMPLES) {
    const bytes = await Deno.readFile(join(ROOT, wasmPath(example)));
    assert.deepEqual(
      [...bytes.subarray(0, 8)],
      [0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0],
      wasmPath(example),
    );
  }
});

Deno.test("examples: each .wasm has the promised exports and only env imports", async () => {
  for (const example of EXAMPLES) {
    const where = wasmPath(example);
    const module = new WebAssembly.Module(await Deno.readFile(join(ROOT, where)));
    const exports = WebAssembly.Module.exports(module).map((e) => e.name).sort();
    assert.deepEqual(exports, expectedExports(example), where);

    const allowed = new Set([...LIBC_NATIVES, ...example.extraImports]);
    for (const { module: from, name, kind } of WebAssembly.Module.imports(module)) {
      assert.deepEqual(`${from}.${kind}`, "env.function", `${where} imports ${from}.${name}`);
      assert(allowed.has(name), `${where} imports "${name}", which no native provides`);
    }
  }
});

Deno.test("examples: fib exports return what the CLI's -f tests expect", async () => {
  const module = new WebAssembly.Module(await readExample("fib"));
  const { exports } = new WebAssembly.Instance(module, { env: unexpectedImports(module) });
  const call = (name: string, ...args: (number | bigint)[]): unknown =>
    (exports[name] as (...a: (number | bigint)[]) => unknown)(...args);

  assert.deepEqual(call("fib", 24), 46368);
  assert.deepEqual(call("add", 2, 3), 5);
  assert.deepEqual(call("i64f", 5n, 2.5), 12n);
  assert.deepEqual(call("f32f", 2), 3);
  assert.deepEqual(call("f64f", 2), 3);
  assert.deepEqual(call("divz", 5), 2);
  assert.throws(
    () => call("divz", 0),
    trapWith(WebAssembly.RuntimeError, "divide by zero"),
  );
});

Deno.test("examples: traps exports each trap in the promised way", async () => {
  const module = new WebAssembly.Module(await readExample("traps"));
  let strlenArg = -1;
  const env = {
    ...unexpectedImports(module),
    strlen(ptr: number): number {
      strlenArg = ptr;
      return 0;
    },
  };
  const { exports } = new WebAssembly.Instance(module, { env });
  const call = (name: string, ...args: number[]): unknown =>
    (exports[name] as (...a: number[]) => unknown)(...args);
  const traps = (name: string, message: string, ...args: number[]): void => {
    assert.throws(
      () => call(name, ...args),
      trapWith(WebAssembly.RuntimeError, message),
    );
  };

  // V8's wording for each wasm trap; the runtime maps them to WAMR's.
  traps("unreachable_trap", "unreachable");
  traps("oob_load", "memory access out of bounds");
  traps("divz", "divide by zero", 0);
  assert.deepEqual(call("divz", 5), 2);
  traps("int_overflow", "divide result unrepresentable");
  traps("bad_convert", "float unrepresentable in integer range");
  traps("indirect_mismatch", "function signature mismatch");
  assert.throws(() => call("stack_overflow"), trapWith(RangeError, "call stack"));
  assert.throws(() => call("call_missing"), trapWith(Error, `"env"."foo_missing"`));

  // strlen_bad passes the last byte of memory, set to 'x': a checked strlen runs off the end.
  call("strlen_bad");
  const memory = new Uint8Array((exports.memory as WebAssembly.Memory).buffer);
  assert.deepEqual(strlenArg, memory.length - 1);
  assert.deepEqual(memory[strlenArg], "x".charCodeAt(0));
  assert.deepEqual(call("__main_argc_argv", 0, 0), 0);
});
