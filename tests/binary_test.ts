import assert from "node:assert/strict";
import { wat as assemble } from "./_wat.ts";
import {
  exportedFunctionType,
  formatFuncType,
  functionType,
  type ModuleInfo,
  readModule,
} from "../core/module/binary.ts";
import { LoadError } from "../sdk/errors.ts";

function wat(src: string, features: Record<string, boolean> = {}): Uint8Array {
  return assemble(src, { names: true, features });
}

function leb(n: number): number[] {
  const out: number[] = [];
  do {
    const byte = n % 128;
    n = Math.floor(n / 128);
    out.push(n > 0 ? byte | 0x80 : byte);
  } while (n > 0);
  return out;
}

function str(s: string): number[] {
  const bytes = [...new TextEncoder().encode(s)];
  return [...leb(bytes.length), ...bytes];
}

function section(id: number, body: number[]): number[] {
  return [id, ...leb(body.length), ...body];
}

const HEADER = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];

function mod(...sections: number[][]): Uint8Array {
  return new Uint8Array([...HEADER, ...sections.flat()]);
}

/** Asserts that reading fails with exactly this reason at this offset. */
function assertLoadError(bytes: Uint8Array, reason: string, offset: number): void {
  assert.throws(() => readModule(bytes), (e: unknown) => {
    assert.ok(e instanceof LoadError, `expected LoadError, got ${e}`);
    assert.equal(e.reason, reason);
    assert.equal(e.offset, offset);
    return true;
  });
}

const TYPE_VOID = section(1, [1, 0x60, 0, 0]);
const FUNC_ONE = section(3, [1, 0]);
const CODE_NOP = section(10, [1, 2, 0, 0x0b]);

const DEMO = wat(`(module $demo
  (type $t0 (func (param i32 i32) (result i32)))
  (type $t1 (func))
  (import "env" "add" (func $add (type $t0)))
  (import "env" "table" (table 2 10 funcref))
  (import "env" "mem" (memory 1 2))
  (import "env" "g" (global $g (mut i32)))
  (func $main (export "main") (type $t1) (local $x i32) (local i64 i64) nop)
  (func $sum (param $a i32) (param $b i32) (result i32) (local f32)
    local.get 0 local.get 1 call $add)
  (table $t 3 funcref)
  (global $h i64 (i64.const -5))
  (global f64 (f64.const 1.5))
  (export "sum" (func $sum))
  (export "h" (global $h))
  (export "mem" (memory 0))
  (start $main)
  (elem (i32.const 0) $main $sum)
  (data (i32.const 16) "hello")
  (data "pass"))`);

Deno.test("binary: reads every MVP section of an assembled module", () => {
  const info = readModule(DEMO);
  assert.deepEqual(info.sections.map((s) => s.id), [1, 2, 3, 4, 6, 7, 8, 9, 10, 11, 0]);
  assert.deepEqual(info.types, [{ params: ["i32", "i32"], results: ["i32"] }, {
    params: [],
    results: [],
  }]);
  assert.deepEqual(info.typeKinds, ["func", "func"]);
  assert.deepEqual(info.imports, [
    {
      module: "env",
      name: "add",
      kind: "function",
      typeIndex: 0,
      type: { params: ["i32", "i32"], results: ["i32"] },
    },
    {
      module: "env",
      name: "table",
      kind: "table",
      type: { element: "funcref", limits: { min: 2, max: 10, shared: false, memory64: false } },
    },
    {
      module: "env",
      name: "mem",
      kind: "memory",
      type: { min: 1, max: 2, shared: false, memory64: false },
    },
    { module: "env", name: "g", kind: "global", type: { type: "i32", mutable: true } },
  ]);
  assert.equal(info.importedFunctionCount, 1);
  assert.deepEqual(info.functions, [1, 0]);
  assert.deepEqual(info.tables, [
    { element: "funcref", limits: { min: 3, shared: false, memory64: false } },
  ]);
  assert.deepEqual(info.globals, [{ type: "i64", mutable: false }, {
    type: "f64",
    mutable: false,
  }]);
  assert.deepEqual(info.exports, [
    { name: "main", kind: "function", index: 1 },
    { name: "sum", kind: "function", index: 2 },
    { name: "h", kind: "global", index: 1 },
    { name: "mem", kind: "memory", index: 0 },
  ]);
  assert.equal(info.start, 1);
  assert.equal(info.elementCount, 1);
  assert.deepEqual(info.codes.map((c) => c.localCount), [3, 1]);
  assert.deepEqual(info.data.map((d) => [d.mode, d.memory, d.size]), [
    ["active", 0, 5],
    ["passive", 0, 4],
  ]);
  const hello = info.data[0]!;
  assert.equal(new TextDecoder().decode(DEMO.subarray(hello.offset, hello.offset + 5)), "hello");
  // Each code body ends with `end`, and section offsets point at their bodies.
  for (const code of info.codes) assert.equal(DEMO[code.offset + code.size - 1], 0x0b);
  for (const s of info.sections) assert.ok(s.offset + s.size <= DEMO.length);
  assert.equal(info.sections.at(-1)!.offset + info.sections.at(-1)!.size, DEMO.length);
});

Deno.test("binary: name section gives module, function and local names", () => {
  const info = readModule(DEMO);
  assert.equal(info.names.module, "demo");
  assert.deepEqual([...info.names.functions], [[0, "add"], [1, "main"], [2, "sum"]]);
  assert.deepEqual([...info.names.locals.get(2)!], [[0, "a"], [1, "b"]]);
  assert.deepEqual(info.customs.map((c) => c.name), ["name"]);
  assert.equal(info.sections.at(-1)!.name, "name");
});

Deno.test("binary: function and local names decode on first use, as a whole decode would", () => {
  const names = (...subs: number[][]) => section(0, [...str("name"), ...subs.flat()]);
  const moduleName = (text: string) => section(0, str(text));
  const fnNames = (...pairs: [number, string][]) =>
    section(1, [...leb(pairs.length), ...pairs.flatMap(([i, n]) => [...leb(i), ...str(n)])]);
  // Spec order: the module name is read at load; a broken function map leaves it and no names.
  const broken = readModule(mod(names(moduleName("m"), section(1, [2, 0, 1, 0x61]))));
  assert.equal(broken.names.module, "m");
  assert.equal(broken.names.functions.size, 0);
  // A module name after a broken function map is never reached.
  const after = readModule(mod(names(section(1, [2, 0, 1, 0x61]), moduleName("late"))));
  assert.equal(after.names.module, undefined);
  // ... and after a good one it is, with the function names.
  const good = readModule(mod(names(fnNames([0, "f"]), moduleName("late"))));
  assert.equal(good.names.module, "late");
  assert.deepEqual([...good.names.functions], [[0, "f"]]);
  // Two name sections: the later map replaces the earlier; a broken one leaves the earlier.
  const two = readModule(mod(names(fnNames([0, "a"])), names(fnNames([1, "b"]))));
  assert.deepEqual([...two.names.functions], [[1, "b"]]);
  const kept = readModule(mod(names(fnNames([0, "a"])), names(section(1, [1, 0, 9]))));
  assert.deepEqual([...kept.names.functions], [[0, "a"]]);
  // Names past the ASCII fast path and with other scripts decode as UTF-8.
  const long = "x".repeat(100);
  const mixed = readModule(mod(names(fnNames([0, long], [1, "π·ñ"], [2, "\u{1F600}"]))));
  assert.deepEqual([...mixed.names.functions.values()], [long, "π·ñ", "\u{1F600}"]);
});

Deno.test("binary: functionType, exportedFunctionType and formatFuncType", () => {
  const info = readModule(DEMO);
  assert.deepEqual(functionType(info, 0), { params: ["i32", "i32"], results: ["i32"] });
  assert.deepEqual(functionType(info, 1), { params: [], results: [] });
  assert.equal(functionType(info, 3), undefined);
  assert.equal(formatFuncType(exportedFunctionType(info, "sum")!), "(i32, i32) -> i32");
  assert.equal(formatFuncType(exportedFunctionType(info, "main")!), "() -> ()");
  assert.equal(exportedFunctionType(info, "h"), undefined);
  assert.equal(exportedFunctionType(info, "nope"), undefined);
  assert.equal(formatFuncType({ params: ["f64"], results: ["i32", "i64"] }), "(f64) -> (i32, i64)");
});

Deno.test("binary: multi-value types, tag imports and the tag section", () => {
  const info = readModule(wat(
    `(module
      (import "env" "boom" (tag $boom (param i32)))
      (tag $t (param i64 f32))
      (func (export "pair") (param f32) (result i32 i64) i32.const 1 i64.const 2)
      (export "t" (tag $t)))`,
    { exceptions: true },
  ));
  assert.deepEqual(info.types[2], { params: ["f32"], results: ["i32", "i64"] });
  assert.deepEqual(info.imports[0], { module: "env", name: "boom", kind: "tag", typeIndex: 0 });
  assert.deepEqual(info.tags, [1]);
  assert.deepEqual(info.exports[1], { name: "t", kind: "tag", index: 1 });
  assert.ok(info.sections.some((s) => s.id === 13));
});

Deno.test("binary: every value type encoding", () => {
  const params = [
    0x7f,
    0x7e,
    0x7d,
    0x7c,
    0x7b,
    0x70,
    0x6f,
    0x6e,
    0x6d,
    0x6c,
    0x6b,
    0x6a,
    0x69,
    0x73,
    0x72,
    0x71,
    0x74,
  ];
  const refs = [0x63, 0x00, 0x64, 0x70, 0x63, 0x6e, 0x64, 0x03];
  const info = readModule(mod(section(1, [1, 0x60, params.length + 4, ...params, ...refs, 0])));
  assert.deepEqual(info.types[0]!.params, [
    "i32",
    "i64",
    "f32",
    "f64",
    "v128",
    "funcref",
    "externref",
    "anyref",
    "eqref",
    "i31ref",
    "structref",
    "arrayref",
    "exnref",
    "nullfuncref",
    "nullexternref",
    "nullref",
    "nullexnref",
    "(ref null 0)",
    "(ref func)",
    "(ref null any)",
    "(ref 3)",
  ]);
});

Deno.test("binary: GC rec groups, sub types, structs and arrays", () => {
  const bytes = mod(section(1, [
    3,
    // rec: struct (field i32) (field (mut i64)); array (mut i8)
    0x4e,
    2,
    0x5f,
    2,
    0x7f,
    0,
    0x7e,
    1,
    0x5e,
    0x78,
    1,
    // sub (func (param (ref null 0)) (result (ref 1)))
    0x50,
    0,
    0x60,
    1,
    0x63,
    0,
    1,
    0x64,
    1,
    // sub final 2 (func (param (ref null 0)) (result (ref 1)))
    0x4f,
    1,
    2,
    0x60,
    1,
    0x63,
    0,
    1,
    0x64,
    1,
  ]));
  assert.ok(WebAssembly.validate(bytes as Uint8Array<ArrayBuffer>));
  const info = readModule(bytes);
  assert.deepEqual(info.typeKinds, ["struct", "array", "func", "func"]);
  assert.equal(info.types[0], undefined);
  assert.equal(info.types[1], undefined);
  assert.deepEqual(info.types[3], { params: ["(ref null 0)"], results: ["(ref 1)"] });
});

Deno.test("binary: all eight element segment kinds", () => {
  const bytes = mod(
    TYPE_VOID,
    FUNC_ONE,
    section(4, [2, 0x70, 0, 4, 0x70, 0, 4]),
    section(9, [
      8,
      ...[0x00, 0x41, 0, 0x0b, 1, 0],
      ...[0x01, 0x00, 1, 0],
      ...[0x02, 1, 0x41, 0, 0x0b, 0x00, 1, 0],
      ...[0x03, 0x00, 1, 0],
      ...[0x04, 0x41, 1, 0x0b, 1, 0xd2, 0, 0x0b],
      ...[0x05, 0x70, 2, 0xd2, 0, 0x0b, 0xd0, 0x70, 0x0b],
      ...[0x06, 1, 0x41, 1, 0x0b, 0x70, 1, 0xd0, 0x70, 0x0b],
      ...[0x07, 0x70, 1, 0xd2, 0, 0x0b],
    ]),
    CODE_NOP,
  );
  assert.ok(WebAssembly.validate(bytes as Uint8Array<ArrayBuffer>));
  const info = readModule(bytes);
  assert.equal(info.elementCount, 8);
  assert.equal(info.tables.length, 2);
  assert.equal(info.sections.find((s) => s.id === 9)!.opaque, undefined);
});

Deno.test("binary: all three data segment modes and the data count", () => {
  const bytes = mod(
    section(5, [1, 0, 1]),
    section(12, [3]),
    section(11, [
      3,
      ...[0x00, 0x41, 0, 0x0b, 3, 0x61, 0x62, 0x63],
      ...[0x01, 2, 0x78, 0x79],
      ...[0x02, 0, 0x41, 8, 0x0b, 1, 0x7a],
    ]),
  );
  assert.ok(WebAssembly.validate(bytes as Uint8Array<ArrayBuffer>));
  const info = readModule(bytes);
  assert.equal(info.dataCount, 3);
  assert.deepEqual(info.data.map((d) => [d.mode, d.memory, d.size, bytes[d.offset]]), [
    ["active", 0, 3, 0x61],
    ["passive", 0, 2, 0x78],
    ["active", 0, 1, 0x7a],
  ]);
});

Deno.test("binary: memory limits flags, shared and memory64", () => {
  const info = readModule(mod(section(5, [
    5,
    ...[0x00, 1],
    ...[0x01, 1, 2],
    ...[0x03, 1, 4],
    ...[0x04, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00],
    ...[0x05, 1, ...leb(2 ** 40)],
  ])));
  assert.deepEqual(info.memories, [
    { min: 1, shared: false, memory64: false },
    { min: 1, max: 2, shared: false, memory64: false },
    { min: 1, max: 4, shared: true, memory64: false },
    { min: 0, shared: false, memory64: true },
    { min: 1, max: 2 ** 40, shared: false, memory64: true },
  ]);
});

Deno.test("binary: table with an init expression", () => {
  const bytes = mod(
    TYPE_VOID,
    FUNC_ONE,
    section(4, [1, 0x40, 0x00, 0x64, 0x70, 0x00, 2, 0xd2, 0, 0x0b]),
    CODE_NOP,
  );
  assert.ok(WebAssembly.validate(bytes as Uint8Array<ArrayBuffer>));
  assert.deepEqual(readModule(bytes).tables, [
    { element: "(ref func)", limits: { min: 2, shared: false, memory64: false } },
  ]);
});

Deno.test("binary: extended-const, v128.const and GC const expressions", () => {
  const info = readModule(mod(
    section(1, [1, 0x5f, 1, 0x7f, 0]),
    section(6, [
      3,
      ...[0x7f, 0, 0x41, 1, 0x41, 2, 0x6a, 0x41, 3, 0x6c, 0x0b],
      ...[0x7b, 0, 0xfd, 12, ...new Array(16).fill(7), 0x0b],
      ...[0x63, 0, 1, 0x41, 5, 0xfb, 0, 0, 0x0b],
    ]),
  ));
  assert.deepEqual(info.globals.map((g) => g.type), ["i32", "v128", "(ref null 0)"]);
  assert.equal(info.sections[1]!.opaque, undefined);
});

Deno.test("binary: dylink.0 memory info and needed libraries", () => {
  const info = readModule(mod(section(0, [
    ...str("dylink.0"),
    ...[1, 4, 100, 2, 3, 0],
    ...[2, 17, 2, ...str("libc.so"), ...str("libm.so")],
  ])));
  assert.deepEqual(info.dylink, {
    memorySize: 100,
    memoryAlign: 2,
    tableSize: 3,
    tableAlign: 0,
    needed: ["libc.so", "libm.so"],
  });
});

Deno.test("binary: a malformed custom section body is left unparsed", () => {
  const info = readModule(mod(
    section(0, [...str("name"), 1, 50, 1]),
    section(0, [...str("dylink.0"), 1, 9, 0xff]),
  ));
  assert.equal(info.names.functions.size, 0);
  assert.equal(info.dylink, undefined);
  assert.deepEqual(info.customs.map((c) => [c.name, c.size]), [["name", 3], ["dylink.0", 3]]);
});

Deno.test("binary: constructs it does not model make the section opaque", () => {
  // global initialised by an unknown opcode (0x20 is local.get, not constant)
  const global = readModule(mod(section(6, [1, 0x7f, 0, 0x20, 0, 0x0b])));
  assert.equal(global.sections[0]!.opaque, true);
  // a type form from a later proposal
  const type = readModule(mod(section(1, [1, 0x5d, 0])));
  assert.equal(type.sections[0]!.opaque, true);
  // an unknown value type code in a local declaration
  const code = readModule(mod(TYPE_VOID, FUNC_ONE, section(10, [1, 4, 1, 1, 0x60, 0x0b])));
  assert.equal(code.sections[2]!.opaque, true);
  assert.equal(code.codes[0]!.opaque, true);
});

Deno.test("binary: bad magic, version and short headers", () => {
  assertLoadError(
    new Uint8Array([0x00, 0x61, 0x73, 0x6e, 1, 0, 0, 0]),
    "magic header not detected",
    0,
  );
  assertLoadError(new Uint8Array([0x00, 0x61]), "unexpected end", 2);
  assertLoadError(new Uint8Array([]), "unexpected end", 0);
  assertLoadError(
    new Uint8Array([0x00, 0x61, 0x73, 0x6d, 2, 0, 0, 0]),
    "unknown binary version",
    4,
  );
  assertLoadError(new Uint8Array([0x00, 0x61, 0x73, 0x6d, 1, 0]), "unexpected end", 6);
});

Deno.test("binary: truncated in every section", () => {
  const sections = readModule(DEMO).sections;
  for (const s of sections) {
    const cut = DEMO.subarray(0, s.offset + Math.floor(s.size / 2));
    assertLoadError(cut, "unexpected end", s.offset - leb(s.size).length);
    // cut inside the section's size LEB (or right after its id)
    assertLoadError(
      DEMO.subarray(0, s.offset - leb(s.size).length),
      "unexpected end",
      s.offset - leb(s.size).length,
    );
  }
});

Deno.test("binary: section sizes that lie", () => {
  // too small: the type section's content runs past its declared end
  assertLoadError(mod([1, 4, 1, 0x60, 1, 0x7f, 0]), "unexpected end of section or function", 14);
  // too small for the parameter count it declares
  assertLoadError(mod([1, 3, 1, 0x60, 1, 0x7f, 0]), "unexpected end of section or function", 12);
  // too large: bytes left over at the end of the section
  assertLoadError(mod([1, 5, 1, 0x60, 0, 0, 0]), "section size mismatch", 14);
  // larger than the file
  assertLoadError(mod([1, 9, 1, 0x60, 0, 0]), "unexpected end", 9);
});

Deno.test("binary: malformed LEB128 integers", () => {
  assertLoadError(
    mod(section(1, [0x80, 0x80, 0x80, 0x80, 0x80, 0x00])),
    "integer representation too long",
    14,
  );
  assertLoadError(mod(section(1, [0xff, 0xff, 0xff, 0xff, 0x7f])), "integer too large", 14);
  // i32.const whose fifth byte does not sign-extend
  assertLoadError(
    mod(section(6, [1, 0x7f, 0, 0x41, 0xff, 0xff, 0xff, 0xff, 0x4f, 0x0b])),
    "integer too large",
    18,
  );
  // a section size LEB cut short by the end of the file
  assertLoadError(new Uint8Array([...HEADER, 1, 0x80]), "unexpected end", 10);
});

Deno.test("binary: counts larger than the bytes left", () => {
  assertLoadError(
    mod(section(1, [0xff, 0xff, 0xff, 0xff, 0x0f])),
    "unexpected end of section or function",
    10,
  );
  assertLoadError(
    mod(section(5, [1, 0, 1]), section(11, [1, 0x01, 0xff, 0xff, 0x03, 1, 2])),
    "unexpected end of section or function",
    17,
  );
  assertLoadError(
    mod(section(7, [1, 0xf0, 0xff, 0x7f, 0x61])),
    "unexpected end of section or function",
    11,
  );
});

Deno.test("binary: section ids, duplicates and order", () => {
  assertLoadError(mod([14, 0]), "invalid section id", 8);
  assertLoadError(mod([0x80, 0]), "malformed section id", 8);
  assertLoadError(mod(TYPE_VOID, TYPE_VOID), "duplicate section", 14);
  assertLoadError(mod(FUNC_ONE, TYPE_VOID), "section out of order", 12);
  // the tag section belongs between memory and global
  assertLoadError(mod(section(6, [0]), section(13, [0])), "section out of order", 11);
  const ok = readModule(mod(section(5, [0]), section(13, [0]), section(6, [0])));
  assert.deepEqual(ok.sections.map((s) => s.id), [5, 13, 6]);
});

Deno.test("binary: function and code counts must agree", () => {
  assertLoadError(
    mod(TYPE_VOID, FUNC_ONE),
    "function and code section have inconsistent lengths",
    16,
  );
  assertLoadError(
    mod(TYPE_VOID, section(10, [1, 2, 0, 0x0b])),
    "function and code section have inconsistent lengths",
    16,
  );
  assertLoadError(
    mod(section(12, [2]), section(11, [0])),
    "data count and data section have inconsistent lengths",
    13,
  );
});

Deno.test("binary: code bodies that overrun their section", () => {
  assertLoadError(
    mod(TYPE_VOID, FUNC_ONE, section(10, [1, 9, 0, 0x0b])),
    "unexpected end of section or function",
    22,
  );
});

Deno.test("binary: malformed UTF-8 and invalid value types", () => {
  assertLoadError(mod(section(7, [1, 1, 0xff, 0, 0])), "malformed UTF-8 encoding", 12);
  assertLoadError(mod(section(0, [2, 0xc0, 0x80])), "malformed UTF-8 encoding", 11);
  assertLoadError(mod(section(1, [1, 0x60, 1, 0x00, 0])), "invalid value type", 13);
});

Deno.test("binary: function import types resolve through the type section", () => {
  const info: ModuleInfo = readModule(wat(`(module
    (import "a" "f" (func (param i64) (result f64)))
    (import "a" "g" (func))
    (func (export "h") (result i32) i32.const 0))`));
  assert.equal(info.importedFunctionCount, 2);
  assert.equal(formatFuncType(functionType(info, 0)!), "(i64) -> f64");
  assert.equal(formatFuncType(functionType(info, 2)!), "() -> i32");
  assert.equal(formatFuncType(exportedFunctionType(info, "h")!), "() -> i32");
});
