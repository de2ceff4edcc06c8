import assert from "node:assert/strict";
import libc from "../natives/libc/mod.ts";
import { parseSignature } from "../sdk/mod.ts";
import { signatureType } from "../sdk/signature.ts";
import { TrapError } from "../sdk/errors.ts";
import { Runtime } from "../core/instance/runtime.ts";
import { BAD_POINTER_CASES } from "./fixtures/libc_bad_pointers.ts";
import { libcHarness } from "./fixtures/libc_harness.ts";
import { wat } from "./_wat.ts";

const OOB = { name: "TrapError", message: "out of bounds memory access" };
const trap = (message: string) => ({ name: "TrapError", message });

/** WAMR HEAD's libc-builtin list with its signature strings (ABI notes §2.2). */
const WAMR_SIGNATURES: Record<string, string> = {
  printf: "($*)i",
  sprintf: "($$*)i",
  snprintf: "(*~$*)i",
  vprintf: "($*)i",
  vsprintf: "($$*)i",
  vsnprintf: "(*~$*)i",
  puts: "($)i",
  putchar: "(i)i",
  memcmp: "(**~)i",
  memcpy: "(**~)i",
  memmove: "(**~)i",
  memset: "(*ii)i",
  strchr: "($i)i",
  strcmp: "($$)i",
  strcpy: "(*$)i",
  strlen: "($)i",
  strncmp: "(**~)i",
  strncpy: "(**~)i",
  malloc: "(i)i",
  realloc: "(ii)i",
  calloc: "(ii)i",
  strdup: "($)i",
  _strdup: "($)i",
  free: "(*)",
  atoi: "($)i",
  exit: "(i)",
  strtol: "($*i)i",
  strtoul: "($*i)i",
  memchr: "(*ii)i",
  strncasecmp: "($$i)i",
  strspn: "($$)i",
  strcspn: "($$)i",
  strstr: "($$)i",
  isupper: "(i)i",
  isalpha: "(i)i",
  isspace: "(i)i",
  isgraph: "(i)i",
  isprint: "(i)i",
  isdigit: "(i)i",
  isxdigit: "(i)i",
  tolower: "(i)i",
  toupper: "(i)i",
  isalnum: "(i)i",
  emscripten_memcpy_big: "(**~)i",
  abort: "(i)",
  abortStackOverflow: "(i)",
  nullFunc_X: "(i)",
  __cxa_allocate_exception: "(i)i",
  __cxa_begin_catch: "(*)",
  __cxa_throw: "(**i)",
  clock_gettime: "(i*)i",
  clock: "()I",
};

/**
 * What emscripten's side modules and AssemblyScript import beyond WAMR's list: the names LLVM
 * gives printf calls without floats (`iprintf`) or `long double` (`__small_printf`), binaryen's
 * stack check, assert(); and `abort` in C's and AssemblyScript's shapes (overloads).
 */
const EXTRA_SIGNATURES: Record<string, string> = {
  iprintf: "($*)i",
  __small_printf: "($*)i",
  siprintf: "($$*)i",
  __small_sprintf: "($$*)i",
  __assert_fail: "($$i$)",
  __handle_stack_overflow: "(i)",
};

Deno.test("libc: declares WAMR HEAD's whole list with the same wasm types, and emscripten's names", () => {
  assert.equal(libc.module, "env");
  assert.deepEqual(
    Object.keys(libc.symbols).sort(),
    [...Object.keys(WAMR_SIGNATURES), ...Object.keys(EXTRA_SIGNATURES)].sort(),
  );
  const abort = libc.symbols.abort!;
  assert.deepEqual([abort, ...abort.overloads ?? []].map((s) => s.signature), [
    "(i)",
    "()",
    "(iiii)",
  ]);
  for (const [name, wamr] of Object.entries({ ...WAMR_SIGNATURES, ...EXTRA_SIGNATURES })) {
    const ours = libc.symbols[name]!.signature;
    assert.deepEqual(
      signatureType(parseSignature(ours)),
      signatureType(parseSignature(wamr)),
      `${name}: ${ours} vs ${wamr}`,
    );
  }
});

Deno.test("libc: every native taking a pointer has bad-pointer cases", () => {
  const covered = new Set(BAD_POINTER_CASES.map((c) => c.symbol));
  for (const [name, sig] of Object.entries({ ...WAMR_SIGNATURES, ...EXTRA_SIGNATURES })) {
    if (/[*$]/.test(sig)) assert.ok(covered.has(name), `${name} has no bad-pointer case`);
  }
});

Deno.test("libc: every bad-pointer case traps out of bounds and changes nothing", () => {
  for (const { symbol, args } of BAD_POINTER_CASES) {
    const h = libcHarness();
    const before = h.memory.bytes(0, 65536).slice();
    assert.throws(() => h.call(symbol, ...args), OOB, `${symbol}(${args.join(", ")})`);
    assert.deepEqual(h.memory.bytes(0, 65536), before, `${symbol}(${args.join(", ")}) wrote`);
    assert.equal(h.stdout(), "", `${symbol}(${args.join(", ")}) printed`);
  }
});

// The same cases called from real wasm: each traps, no host exception, memory unchanged.
Deno.test("libc: bad pointers from real wasm trap for every pointer native", async () => {
  const symbols = [...new Set(BAD_POINTER_CASES.map((c) => c.symbol))];
  const imports = symbols.map((name) => {
    const type = signatureType(parseSignature(libc.symbols[name]!.signature));
    const params = type.params.map((p) => `(param ${p})`).join(" ");
    const results = type.results.map((r) => `(result ${r})`).join(" ");
    return `(import "env" "${name}" (func $${name} ${params} ${results}))`;
  });
  // One export per case: push the constant arguments, call, drop any result.
  const exports = BAD_POINTER_CASES.map((c, i) => {
    const type = signatureType(parseSignature(libc.symbols[c.symbol]!.signature));
    const args = c.args.map((a) => `(i32.const ${a})`).join(" ");
    const drop = type.results.length ? "drop" : "";
    return `(func (export "case${i}") ${args} call $${c.symbol} ${drop})`;
  });
  const bytes = wat(`(module ${imports.join("\n")}
    (memory (export "memory") 1 1)
    ${exports.join("\n")})`);
  const warnings: string[] = [];
  const runtime = new Runtime({ plugins: [libc], stdout: () => {}, warn: (m) => warnings.push(m) });
  const app = await runtime.instantiate(await runtime.load(bytes), { heapSize: 0 });
  const before = app.memory.bytes(0, 65536).slice();
  BAD_POINTER_CASES.forEach((c, i) => {
    assert.throws(() => app.call(`case${i}`), (e: unknown) => {
      assert.ok(e instanceof TrapError, `${c.symbol}(${c.args}) threw ${e}`);
      assert.equal(e.message, "out of bounds memory access", `${c.symbol}(${c.args})`);
      return true;
    });
  });
  assert.deepEqual(app.memory.bytes(0, 65536), before, "no native wrote anything");
  assert.ok(BAD_POINTER_CASES.length >= 80);
  assert.deepEqual(warnings, []);
});

Deno.test("libc: puts writes the string and a newline and returns len+1", () => {
  const h = libcHarness();
  h.str(100, new Uint8Array([0x68, 0xff, 0x69]));
  assert.equal(h.call("puts", 100), 4);
  assert.deepEqual([...h.stdoutBytes()], [0x68, 0xff, 0x69, 10]);
});

Deno.test("libc: putchar writes one byte and returns the char", () => {
  const h = libcHarness();
  assert.equal(h.call("putchar", 0x141), 0x141);
  assert.equal(h.call("putchar", 10), 10);
  assert.equal(h.stdout(), "A\n");
});

Deno.test("libc: memcmp returns the difference of the first differing unsigned bytes", () => {
  const h = libcHarness();
  h.memory.write(100, new Uint8Array([1, 2, 0xff]));
  h.memory.write(200, new Uint8Array([1, 2, 0x01]));
  assert.equal(h.call("memcmp", 100, 200, 3), 0xfe);
  assert.equal(h.call("memcmp", 200, 100, 3), -0xfe);
  assert.equal(h.call("memcmp", 100, 200, 2), 0);
  assert.equal(h.call("memcmp", 100, 200, 0), 0);
});

Deno.test("libc: memcmp traps when either buffer runs past the end", () => {
  const h = libcHarness();
  assert.throws(() => h.call("memcmp", 65530, 0, 7), OOB);
  assert.throws(() => h.call("memcmp", 0, 65530, 7), OOB);
});

Deno.test("libc: memcpy copies and returns the destination offset", () => {
  const h = libcHarness();
  h.memory.write(100, new Uint8Array([1, 2, 3, 4]));
  assert.equal(h.call("memcpy", 200, 100, 4), 200);
  assert.deepEqual([...h.memory.bytes(200, 4)], [1, 2, 3, 4]);
  assert.equal(h.call("emscripten_memcpy_big", 300, 100, 4), 300);
  assert.deepEqual([...h.memory.bytes(300, 4)], [1, 2, 3, 4]);
  // n = 0 touches nothing, even at the very end
  assert.equal(h.call("memcpy", 65536, 100, 0), 65536);
});

Deno.test("libc: memcpy traps on dst past end without copying", () => {
  const h = libcHarness();
  h.memory.write(100, new Uint8Array([9, 9, 9, 9, 9, 9, 9, 9]));
  assert.throws(() => h.call("memcpy", 65530, 100, 8), OOB);
  assert.deepEqual([...h.memory.bytes(65530, 6)], [0, 0, 0, 0, 0, 0]);
  assert.throws(() => h.call("memmove", -8, 100, 8), OOB);
});

Deno.test("libc: memmove handles overlapping ranges both ways", () => {
  const h = libcHarness();
  h.memory.write(100, new Uint8Array([1, 2, 3, 4, 5]));
  assert.equal(h.call("memmove", 102, 100, 3), 102);
  assert.deepEqual([...h.memory.bytes(100, 5)], [1, 2, 1, 2, 3]);
  h.memory.write(100, new Uint8Array([1, 2, 3, 4, 5]));
  assert.equal(h.call("memmove", 100, 102, 3), 100);
  assert.deepEqual([...h.memory.bytes(100, 5)], [3, 4, 5, 4, 5]);
});

Deno.test("libc: memset fills n bytes with the low byte and returns s", () => {
  const h = libcHarness();
  assert.equal(h.call("memset", 100, 0x1ab, 3), 100);
  assert.deepEqual([...h.memory.bytes(99, 5)], [0, 0xab, 0xab, 0xab, 0]);
  assert.throws(() => h.call("memset", 65530, 1, 7), OOB);
  assert.equal(h.memory.u8At(65530), 0);
});

Deno.test("libc: strchr returns app offsets, the terminator for 0, and 0 when absent", () => {
  const h = libcHarness();
  h.str(100, "hello");
  assert.equal(h.call("strchr", 100, 0x6c), 102);
  assert.equal(h.call("strchr", 100, 0x16c), 102);
  assert.equal(h.call("strchr", 100, 0), 105);
  assert.equal(h.call("strchr", 100, 0x7a), 0);
});

Deno.test("libc: strcmp compares unsigned bytes with a sign-correct difference", () => {
  const h = libcHarness();
  h.str(100, "abc");
  h.str(200, "abd");
  h.str(300, new Uint8Array([0x61, 0xff]));
  h.str(400, "ab");
  assert.equal(h.call("strcmp", 100, 200), -1);
  assert.equal(h.call("strcmp", 200, 100), 1);
  assert.equal(h.call("strcmp", 100, 100), 0);
  assert.equal(h.call("strcmp", 300, 100), 0xff - 0x62);
  assert.equal(h.call("strcmp", 100, 400), 0x63);
  assert.equal(h.call("strcmp", 400, 100), -0x63);
});

Deno.test("libc: strcmp traps when either string has no NUL in memory, even if byte 0 differs", () => {
  const h = libcHarness();
  h.str(100, "a");
  h.memory.write(65534, new Uint8Array([0x62, 0x63]));
  assert.throws(() => h.call("strcmp", 100, 65534), OOB);
  assert.throws(() => h.call("strcmp", 65534, 100), OOB);
});

Deno.test("libc: strcpy copies the NUL and returns dst", () => {
  const h = libcHarness();
  h.str(100, "héllo");
  h.memory.bytes(200, 10).fill(0x2a);
  assert.equal(h.call("strcpy", 200, 100), 200);
  assert.equal(h.memory.cstring(200), "héllo");
  assert.equal(h.memory.u8At(207), 0x2a);
});

Deno.test("libc: strcpy traps when dst has no room for strlen+1 without writing", () => {
  const h = libcHarness();
  h.str(100, "hello");
  assert.throws(() => h.call("strcpy", 65531, 100), OOB);
  assert.deepEqual([...h.memory.bytes(65531, 5)], [0, 0, 0, 0, 0]);
  assert.equal(h.call("strcpy", 65530, 100), 65530);
});

Deno.test("libc: strlen counts bytes, not characters", () => {
  const h = libcHarness();
  h.str(100, "héllo");
  assert.equal(h.call("strlen", 100), 6);
  assert.equal(h.call("strlen", 106), 0);
  h.memory.bytes(65530, 6).fill(65);
  assert.throws(() => h.call("strlen", 65530), OOB);
});

Deno.test("libc: strncmp stops at n and at the NUL", () => {
  const h = libcHarness();
  h.str(100, "abcX");
  h.str(200, "abcY");
  assert.equal(h.call("strncmp", 100, 200, 3), 0);
  assert.equal(h.call("strncmp", 100, 200, 4), 0x58 - 0x59);
  h.str(300, "ab");
  h.memory.write(303, new Uint8Array([1, 2]));
  h.str(400, "ab");
  h.memory.write(403, new Uint8Array([3, 4]));
  assert.equal(h.call("strncmp", 300, 400, 5), 0);
  assert.throws(() => h.call("strncmp", 65530, 100, 7), OOB);
});

Deno.test("libc: strncpy pads with NULs and leaves no NUL when src is longer", () => {
  const h = libcHarness();
  h.str(100, "ab");
  h.memory.bytes(200, 8).fill(0x2a);
  assert.equal(h.call("strncpy", 200, 100, 5), 200);
  assert.deepEqual([...h.memory.bytes(200, 6)], [0x61, 0x62, 0, 0, 0, 0x2a]);
  h.str(300, "abcdef");
  h.memory.bytes(400, 8).fill(0x2a);
  h.call("strncpy", 400, 300, 3);
  assert.deepEqual([...h.memory.bytes(400, 4)], [0x61, 0x62, 0x63, 0x2a]);
  assert.throws(() => h.call("strncpy", 65530, 100, 7), OOB);
  assert.equal(h.memory.u8At(65530), 0);
});

Deno.test("libc: malloc, realloc, calloc and free use the app heap", () => {
  const h = libcHarness(1, 32768, 4096);
  const a = h.call("malloc", 16) as number;
  assert.ok(a >= 32768 && a < 32768 + 4096);
  h.memory.write(a, new Uint8Array([1, 2, 3]));
  const b = h.call("realloc", a, 200) as number;
  assert.notEqual(b, 0);
  assert.deepEqual([...h.memory.bytes(b, 3)], [1, 2, 3]);
  h.call("free", b);
  h.memory.bytes(32768, 4000).fill(0x55);
  const c = h.call("calloc", 10, 10) as number;
  assert.notEqual(c, 0);
  assert.deepEqual(h.memory.bytes(c, 100), new Uint8Array(100));
  assert.equal(h.call("malloc", 1 << 20), 0);
  assert.equal(h.call("malloc", -1), 0);
  assert.equal(h.call("calloc", 0x10000, 0x10000), 0);
  assert.equal(h.call("calloc", -1, 2), 0);
  h.call("free", 0);
  h.call("free", 100); // outside the heap: ignored
  assert.equal(h.call("realloc", 100, 8), 0);
  const fresh = h.call("realloc", 0, 8) as number;
  assert.ok(h.heap.contains(fresh));
  h.call("free", fresh);
  h.call("free", c);
  assert.notEqual(h.call("malloc", 3000), 0);
});

Deno.test("libc: strdup and _strdup copy into the heap", () => {
  const h = libcHarness();
  h.str(100, "copy me");
  const p = h.call("strdup", 100) as number;
  assert.ok(h.heap.contains(p));
  assert.equal(h.memory.cstring(p), "copy me");
  const q = h.call("_strdup", 100) as number;
  assert.notEqual(q, p);
  assert.equal(h.memory.cstring(q), "copy me");
  const small = libcHarness(1, 32768, 16);
  small.str(100, "a string longer than the heap");
  assert.equal(small.call("strdup", 100), 0);
});

Deno.test("libc: atoi parses like C and wraps like a 32-bit int", () => {
  const h = libcHarness();
  const cases: [string, number][] = [
    ["42", 42],
    ["  \t-42abc", -42],
    ["+7", 7],
    ["", 0],
    ["abc", 0],
    ["- 1", 0],
    ["2147483647", 2147483647],
    ["2147483648", -2147483648],
    ["4294967297", 1],
    ["99999999999999999999", -1],
    ["-99999999999999999999", 0],
    ["0000000000000000000000000000000000000000000000012", 12],
  ];
  for (const [text, want] of cases) {
    h.str(100, text);
    assert.equal(h.call("atoi", 100), want, JSON.stringify(text));
  }
});

Deno.test("libc: exit, abort and friends trap with WAMR's messages", () => {
  const h = libcHarness();
  assert.throws(() => h.call("exit", 3), trap("env.exit(3)"));
  assert.throws(() => h.call("exit", -1), trap("env.exit(-1)"));
  assert.throws(() => h.call("abort", 0), trap("env.abort(0)"));
  assert.throws(() => h.call("abortStackOverflow", 5), trap("env.abortStackOverflow(5)"));
  assert.throws(() => h.call("nullFunc_X", 9), trap("env.nullFunc_X(9)"));
  assert.throws(() => h.call("__cxa_throw", 0, 0, 0), trap("exception thrown by stdc++"));
});

Deno.test("libc: strtol handles bases, prefixes, sign, overflow and endptr", () => {
  const h = libcHarness();
  const cases: [string, number, number, number][] = [
    // text, base, result, end offset from the start
    ["  -123xyz", 10, -123, 6],
    ["0x1F", 0, 31, 4],
    ["0x1F", 16, 31, 4],
    ["1F", 16, 31, 2],
    ["017", 0, 15, 3],
    ["019", 0, 1, 2],
    ["0x", 16, 0, 1],
    ["0xg", 0, 0, 1],
    ["z", 36, 35, 1],
    ["+", 10, 0, 0],
    ["   ", 10, 0, 0],
    ["12", 1, 0, 0],
    ["12", 37, 0, 0],
    ["2147483647", 10, 2147483647, 10],
    ["2147483648", 10, 2147483647, 10],
    ["-2147483648", 10, -2147483648, 11],
    ["-99999999999", 10, -2147483648, 12],
    ["111", 2, 7, 3],
  ];
  for (const [text, base, want, end] of cases) {
    h.str(100, text);
    h.memory.setI32(500, -1);
    assert.equal(h.call("strtol", 100, 500, base), want, `${text} base ${base}`);
    assert.equal(h.memory.i32(500), 100 + end, `${text} base ${base} endptr`);
  }
  // endptr 0 is NULL: nothing is written at address 0
  h.str(100, "5");
  h.memory.setI32(0, 0x12345678);
  assert.equal(h.call("strtol", 100, 0, 10), 5);
  assert.equal(h.memory.i32(0), 0x12345678);
});

Deno.test("libc: strtoul wraps negatives and clamps overflow to ULONG_MAX", () => {
  const h = libcHarness();
  const cases: [string, number, number][] = [
    ["4294967295", 10, -1],
    ["4294967296", 10, -1],
    ["-1", 10, -1],
    ["-2", 10, -2],
    ["0xffffffff", 0, -1],
    ["3000000000", 10, 3000000000 | 0],
    ["42", 0, 42],
  ];
  for (const [text, base, want] of cases) {
    h.str(100, text);
    assert.equal(h.call("strtoul", 100, 500, base), want, text);
    assert.equal(h.memory.i32(500), 100 + text.length, `${text} endptr`);
  }
});

Deno.test("libc: memchr searches n bytes and returns an app offset", () => {
  const h = libcHarness();
  h.memory.write(100, new Uint8Array([1, 0, 3, 4]));
  assert.equal(h.call("memchr", 100, 3, 4), 102);
  assert.equal(h.call("memchr", 100, 0x100, 4), 101);
  assert.equal(h.call("memchr", 100, 4, 3), 0);
  assert.throws(() => h.call("memchr", 65530, 4, 7), OOB);
});

Deno.test("libc: strncasecmp ignores ASCII case up to n", () => {
  const h = libcHarness();
  h.str(100, "HeLLo");
  h.str(200, "hello!");
  h.str(300, "ABc");
  h.str(400, "abd");
  assert.equal(h.call("strncasecmp", 100, 200, 5), 0);
  assert.equal(h.call("strncasecmp", 100, 200, 6), -0x21);
  assert.equal(h.call("strncasecmp", 300, 400, 3), -1);
  assert.equal(h.call("strncasecmp", 300, 400, 0), 0);
  assert.equal(h.call("strncasecmp", 100, 200, -1), -0x21);
});

Deno.test("libc: strspn, strcspn and strstr follow C", () => {
  const h = libcHarness();
  h.str(100, "abcabcxyz");
  h.str(200, "cba");
  h.str(300, "zy");
  h.str(400, "cx");
  h.str(500, "");
  h.str(600, "abd");
  assert.equal(h.call("strspn", 100, 200), 6);
  assert.equal(h.call("strspn", 100, 500), 0);
  assert.equal(h.call("strcspn", 100, 300), 7);
  assert.equal(h.call("strcspn", 100, 500), 9);
  assert.equal(h.call("strstr", 100, 400), 105);
  assert.equal(h.call("strstr", 100, 500), 100);
  assert.equal(h.call("strstr", 100, 600), 0);
  assert.equal(h.call("strstr", 200, 100), 0);
});

Deno.test("libc: ctype returns glibc's class bits in the C locale", () => {
  const h = libcHarness();
  const c = (s: string) => s.charCodeAt(0);
  assert.equal(h.call("isupper", c("A")), 256);
  assert.equal(h.call("isupper", c("a")), 0);
  assert.equal(h.call("isalpha", c("a")), 1024);
  assert.equal(h.call("isspace", c(" ")), 8192);
  assert.equal(h.call("isspace", c("\t")), 8192);
  assert.equal(h.call("isgraph", c("!")), 32768);
  assert.equal(h.call("isgraph", c(" ")), 0);
  assert.equal(h.call("isprint", c(" ")), 16384);
  assert.equal(h.call("isprint", 127), 0);
  assert.equal(h.call("isdigit", c("5")), 2048);
  assert.equal(h.call("isxdigit", c("f")), 4096);
  assert.equal(h.call("isxdigit", c("g")), 0);
  assert.equal(h.call("isalnum", c("a")), 8);
  assert.equal(h.call("isalnum", c("_")), 0);
  assert.equal(h.call("isalpha", 0xe9), 0);
  assert.equal(h.call("isalpha", -1), 0);
  assert.equal(h.call("isdigit", 300), 0);
  assert.equal(h.call("tolower", c("A")), c("a"));
  assert.equal(h.call("tolower", c("a")), c("a"));
  assert.equal(h.call("toupper", c("z")), c("Z"));
  assert.equal(h.call("toupper", 0xe9), 0xe9);
  assert.equal(h.call("toupper", -1), -1);
  assert.equal(h.call("tolower", 300), 300);
});

Deno.test("libc: __cxa_allocate_exception allocates, __cxa_begin_catch does nothing", () => {
  const h = libcHarness();
  const p = h.call("__cxa_allocate_exception", 32) as number;
  assert.ok(h.heap.contains(p));
  assert.equal(h.call("__cxa_begin_catch", p), undefined);
});

Deno.test("libc: clock_gettime writes {i64 sec; i32 nsec} and clock counts ns", () => {
  const h = libcHarness();
  h.memory.bytes(100, 16).fill(0xff);
  assert.equal(h.call("clock_gettime", 1, 100), 0);
  const sec = h.memory.i64(100);
  const nsec = h.memory.i32(108);
  assert.ok(sec >= 0n && nsec >= 0 && nsec < 1e9);
  assert.equal(h.memory.i32(112), 0);
  const first = Number(sec) * 1e9 + nsec;
  const t = h.call("clock") as bigint;
  assert.equal(typeof t, "bigint");
  assert.equal(t % 1000n, 0n);
  assert.ok(Number(t) >= first);
});

/** An AssemblyScript string as WAT data: its byte length (the header's last field), UTF-16LE. */
function asStringData(addr: number, text: string): string {
  const bytes = [...new Uint8Array(new Uint32Array([text.length * 2]).buffer)];
  for (
    const unit of new Uint16Array([...text].flatMap((c) => [...c].map((u) => u.charCodeAt(0))))
  ) {
    bytes.push(unit & 0xff, unit >> 8);
  }
  const escaped = bytes.map((b) => `\\${b.toString(16).padStart(2, "0")}`).join("");
  return `(data (i32.const ${addr - 4}) "${escaped}")`;
}

/**
 * Shaped like `asc` output: `env.abort(message, file, line, column)` imported, strings in static
 * data, an exported function throwing and a start function (top-level code) that may.
 */
function asModule(options: { message: number; file: number; start?: boolean }): Uint8Array {
  return wat(`(module
    (import "env" "abort" (func $abort (param i32 i32 i32 i32)))
    (memory (export "memory") 1)
    ${asStringData(1056, "Boom – ü!")}
    ${asStringData(1088, "assembly/index.ts")}
    (data (i32.const 1196) "\\ff\\ff\\ff\\7f") ;; a string claiming 2 GiB, at 1200
    (func $fail (export "fail")
      i32.const ${options.message} i32.const ${options.file} i32.const 3 i32.const 5 call $abort
      unreachable)
    ${options.start ? "(start $fail)" : ""})`);
}

Deno.test("libc: AssemblyScript's abort(message, file, line, column) traps as AS's loader reports it", async () => {
  const runtime = new Runtime({ plugins: [libc], stdout: () => {}, warn: () => {} });
  const app = await runtime.instantiate(
    await runtime.load(asModule({ message: 1056, file: 1088 })),
  );
  assert.throws(() => app.call("fail"), trap("abort: Boom – ü! at assembly/index.ts:3:5"));
  const nulls = await runtime.instantiate(await runtime.load(asModule({ message: 0, file: 0 })));
  assert.throws(() => nulls.call("fail"), trap("abort: null at null:3:5"));
  // AS runs top-level code as the start function, before the instance exposes the memory
  // the module defines: the trap still comes out of instantiation, with the addresses.
  const start = await runtime.load(asModule({ message: 1056, file: 1088, start: true }));
  await assert.rejects(
    () => runtime.instantiate(start),
    trap("abort: <string at 0x420> at <string at 0x440>:3:5"),
  );
});

Deno.test("libc: AssemblyScript's abort traps out of bounds on a bad string pointer", async () => {
  const runtime = new Runtime({ plugins: [libc], stdout: () => {}, warn: () => {} });
  // The header below address 0, the header past the end, the characters past the end.
  for (const [message, file] of [[2, 1088], [0x7fff_0000, 1088], [1056, 1200]] as const) {
    const app = await runtime.instantiate(await runtime.load(asModule({ message, file })));
    assert.throws(() => app.call("fail"), OOB, `abort(${message}, ${file})`);
  }
});

Deno.test("libc: the CLI prints an AssemblyScript abort as iwasm prints a trap", async () => {
  const dir = await Deno.makeTempDir({ prefix: "libc_test_" });
  try {
    const path = `${dir}/as.wasm`;
    await Deno.writeFile(path, asModule({ message: 1056, file: 1088 }));
    const mod = new URL("../mod.ts", import.meta.url).pathname;
    const { code, stdout } = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-read", mod, "-f", "fail", path],
      env: { NO_COLOR: "1" },
    }).output();
    assert.equal(
      new TextDecoder().decode(stdout),
      "Exception: abort: Boom – ü! at assembly/index.ts:3:5\n",
    );
    assert.equal(code, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("libc: abort links in C's, WAMR's and AssemblyScript's shapes, each with its message", async () => {
  const runtime = new Runtime({ plugins: [libc], stdout: () => {}, warn: () => {} });
  const calling = (params: string, args: string) =>
    wat(`(module (import "env" "abort" (func $abort ${params}))
      (memory 1) (func (export "run") ${args} call $abort))`);
  const c = await runtime.instantiate(await runtime.load(calling("", "")));
  assert.throws(() => c.call("run"), trap("env.abort()"));
  const wamr = await runtime.instantiate(await runtime.load(calling("(param i32)", "i32.const 6")));
  assert.throws(() => wamr.call("run"), trap("env.abort(6)"));
  await assert.rejects(
    async () =>
      await runtime.instantiate(await runtime.load(calling("(param f64)", "f64.const 1"))),
    {
      name: "LinkError",
      message: `Cannot link import "env"."abort": signatures "(i)", "()", "(iiii)" of library ` +
        `"libc" do not match (f64) -> ()`,
    },
  );
});

Deno.test("libc: iprintf and siprintf are printf and sprintf under LLVM's integer-only names", () => {
  const h = libcHarness();
  h.str(100, "%d-%s|");
  h.str(200, "ab");
  h.memory.setI32(300, 42);
  h.memory.setI32(304, 200);
  assert.equal(h.call("iprintf", 100, 300), 6);
  assert.equal(h.call("__small_printf", 100, 300), 6);
  h.str(400, "");
  assert.equal(h.call("siprintf", 400, 100, 300), 6);
  assert.equal(h.memory.cstring(400), "42-ab|");
  assert.equal(h.call("__small_sprintf", 400, 100, 300), 6);
  assert.equal(h.stdout(), "42-ab|42-ab|");
});

Deno.test("libc: __assert_fail and __handle_stack_overflow trap with emscripten's and WAMR's words", () => {
  const h = libcHarness();
  h.str(100, "x == 1");
  h.str(200, "test.c");
  h.str(300, "main");
  assert.throws(
    () => h.call("__assert_fail", 100, 200, 7, 300),
    trap("Assertion failed: x == 1, at: test.c,7,main"),
  );
  assert.throws(
    () => h.call("__assert_fail", 100, 0, 7, 0),
    trap("Assertion failed: x == 1, at: unknown filename,7,unknown function"),
  );
  assert.throws(() => h.call("__handle_stack_overflow", 16), trap("wasm auxiliary stack overflow"));
});
