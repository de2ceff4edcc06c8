import assert from "node:assert/strict";
import { decode, dump } from "../sdk/attr_container.ts";
import { buildCApp, type CApp, loadCApp } from "./_c_app.ts";

const SOURCES = ["tests/fixtures/c_attr_container.c", "sdk/c/src/attr_container.c"];

// Built once for all tests; each test gets a fresh instance.
const wasm = await buildCApp(SOURCES);

function test(name: string, fn: (app: CApp) => void | Promise<void>): void {
  Deno.test({
    name: `c attr_container: ${name}`,
    async fn() {
      await fn(await loadCApp(wasm));
    },
  });
}

const le16 = (n: number): number[] => [n & 0xff, (n >>> 8) & 0xff];
const le32 = (n: number): number[] => [...le16(n & 0xffff), ...le16(n >>> 16)];
const cstr = (s: string): number[] => [...new TextEncoder().encode(s), 0];

function attr(key: string, type: number, value: number[]): number[] {
  return [...le16(key.length + 1), ...cstr(key), type, ...value];
}

function stringAttr(key: string, value: string): number[] {
  return attr(key, 13, [...le16(value.length + 1), ...cstr(value)]);
}

// A container image of 2 + total bytes: header, attributes back to back, zero slack.
function container(tag: string, total: number, attrs: number[][], flags = 0): Uint8Array {
  const bytes = [
    flags,
    0,
    ...le32(total),
    ...le16(tag.length + 1),
    ...cstr(tag),
    ...le16(attrs.length),
    ...attrs.flat(),
  ];
  const out = new Uint8Array(2 + total);
  out.set(bytes);
  return out;
}

// Builds with one of the fixture's exports; returns [container bytes, serialized copy].
function build(app: CApp, name: string): [Uint8Array, Uint8Array] {
  const length = app.call(name);
  return [app.read(app.call("container_ptr"), length), app.read(app.call("copy_ptr"), length)];
}

test("the 'Applets Info' num=0 container is WAMR's 121 bytes", (app) => {
  const [bytes, copy] = build(app, "applets_info");
  const expected = [
    ...[0x00, 0x00, 0x77, 0x00, 0x00, 0x00, 0x0d, 0x00],
    ...cstr("Applets Info"),
    ...[0x01, 0x00, 0x04, 0x00],
    ...cstr("num"),
    ...[0x02, 0x00, 0x00, 0x00, 0x00],
  ];
  assert.deepEqual(bytes.length, 121);
  assert.deepEqual([...bytes], [...expected, ...new Array(121 - expected.length).fill(0)]);
  // Serializing copies everything, spare bytes included, and sets the read-only flag.
  assert.deepEqual([...copy], [0x04, ...bytes.subarray(1)]);
});

test("every type is stored with the AF codes, growing by attr_len + 100 when full", (app) => {
  const [bytes, copy] = build(app, "all_types");
  const attrs = [
    attr("byte", 0, [0xfe]),
    attr("short", 1, le16(0xfffd)),
    attr("int", 2, le32(0xfffffffc)),
    attr("int64", 3, [0xfb, ...new Array(7).fill(0xff)]),
    attr("uint8", 4, [250]),
    attr("uint16", 5, le16(65000)),
    attr("uint32", 6, le32(4000000000)),
    attr("uint64", 7, [0xf0, 0xde, 0xbc, 0x9a, 0x78, 0x56, 0x34, 0x12]),
    attr("float", 10, [0x00, 0x00, 0xc0, 0x3f]),
    attr("double", 11, [0, 0, 0, 0, 0, 0, 0x02, 0xc0]),
    attr("bool", 12, [1]),
    stringAttr("string", "hi"),
    attr("bytes", 14, [...le32(3), 1, 2, 3]),
    attr("int8", 0, [0x7f]),
    attr("int16", 1, le16(0x7fff)),
    attr("int32", 2, le32(0x7fffffff)),
  ];
  // T starts at 6 + 10 + 100 = 116. The 8th attribute (uint64, 18 bytes) is the first that
  // does not fit in the 98 bytes after attr_num, so T becomes 116 + 18 + 100 = 234; the rest
  // (104 bytes) fit in the 114 then left.
  assert.deepEqual(bytes.length, 236);
  assert.deepEqual(bytes, container("all types", 234, attrs));
  assert.deepEqual(copy, container("all types", 234, attrs, 0x04));
});

test("a resized value moves to the end and leaves stale bytes, as WAMR's does", (app) => {
  const [bytes] = build(app, "replaced");
  const expected = container("r", 108, [attr("n", 2, le32(2)), stringAttr("k", "z")]);
  // "abcd\0" was written at 21..33 before "z" took 21..30; its last three bytes remain.
  expected.set([0x63, 0x64, 0x00], 30);
  assert.deepEqual(bytes, expected);
});

test("a resized value that does not fit re-allocates with T += attr_len + 100", (app) => {
  const [bytes] = build(app, "replaced_grown");
  const big = attr("b", 14, [...le32(120), ...new Array(120).fill(0)]);
  assert.deepEqual(big.length, 129);
  assert.deepEqual(
    bytes,
    container("g", 108 + 129 + 100, [attr("a", 2, le32(1)), attr("c", 2, le32(3)), big]),
  );
});

test("getters read back every type, loosely, and a serialized copy is read-only", (app) => {
  const failed = app.call("check_getters");
  const which = [];
  for (let bit = 0; bit < 32; bit++) if (failed & (1 << bit)) which.push(bit);
  assert.deepEqual(which, [], `failed checks (0-based, in check_getters order): ${which}`);
});

test("attr_container_dump prints WAMR's text", (app) => {
  app.call("dump_all_types");
  const expected = [
    "Attribute container dump:",
    "Tag: all types",
    "Attribute list:",
    "  key: byte, type: byte, value: 0xfe",
    "  key: short, type: short, value: 0xfffd",
    "  key: int, type: int, value: 0xfffffffc",
    "  key: int64, type: int64, value: 0xfffffffffffffffb",
    "  key: uint8, type: uint8, value: 0xfa",
    "  key: uint16, type: uint16, value: 0xfde8",
    "  key: uint32, type: uint32, value: 0xee6b2800",
    "  key: uint64, type: int64, value: 0x123456789abcdef0",
    "  key: float, type: float, value: 1.500000",
    "  key: double, type: double, value: -2.250000",
    "  key: bool, type: bool, value: 0x1",
    "  key: string, type: string, value: hi",
    "  key: bytes, type: byte array, length: 3",
    "  key: int8, type: byte, value: 0x7f",
    "  key: int16, type: short, value: 0x7fff",
    "  key: int32, type: int, value: 0x7fffffff",
    "",
    "",
  ].join("\n");
  const printed = app.takeOutput();
  assert.deepEqual(printed, expected);

  // The TypeScript codec reads the C bytes back and prints the same text.
  const [bytes] = build(app, "all_types");
  assert.deepEqual(dump(decode(bytes)), printed);
});
