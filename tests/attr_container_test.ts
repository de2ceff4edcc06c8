import assert from "node:assert/strict";
import {
  ATTR_TYPE,
  AttrContainer,
  type AttrEra,
  type AttrValue,
  decode,
  dump,
  encode,
  encodeLikeWamr,
  formatCFixed,
  formatCGeneral,
  formatHostToolJSON,
  fromJSON,
  SEED_ATTR_TYPE,
  toJSON,
} from "../sdk/attr_container.ts";
import { ProtocolError } from "../sdk/errors.ts";

function hex(text: string): Uint8Array {
  const clean = text.replace(/\s+/g, "");
  return Uint8Array.from(clean.match(/../g) ?? [], (h) => parseInt(h, 16));
}

function ascii(text: string): string {
  return Array.from(new TextEncoder().encode(text), (b) => b.toString(16).padStart(2, "0")).join(
    "",
  );
}

function u32(n: number): string {
  return [0, 8, 16, 24].map((s) => ((n >>> s) & 0xff).toString(16).padStart(2, "0")).join("");
}

const APPLETS_INFO = hex(
  "0000" + "77000000" + "0d00" + ascii("Applets Info") + "00" + "0100" + "0400" +
    ascii("num") + "00" + "02" + "00000000" + "00".repeat(87),
);

Deno.test("attr_container: worked example 'Applets Info' is 121 bytes", () => {
  const c = new AttrContainer("Applets Info").setInt("num", 0);
  const bytes = encodeLikeWamr(c);
  assert.equal(bytes.length, 121);
  assert.equal(new DataView(bytes.buffer).getUint32(2, true), 119);
  assert.deepEqual(bytes, APPLETS_INFO);
  assert.deepEqual(encode(c, { slack: 87 }), APPLETS_INFO);
});

Deno.test("attr_container: decodes the worked example", () => {
  const c = decode(APPLETS_INFO);
  assert.equal(c.tag, "Applets Info");
  assert.deepEqual(c.keys(), ["num"]);
  assert.deepEqual(c.get("num"), { type: "int", value: 0 });
});

Deno.test("attr_container: encode is compact by default and sets read-only on request", () => {
  const c = new AttrContainer("Applets Info").setInt("num", 0);
  const compact = encode(c);
  assert.equal(compact.length, 34);
  assert.deepEqual(compact, APPLETS_INFO.subarray(0, 34).map((b, i) => i === 2 ? 32 : b));
  const ro = encode(c, { readOnly: true });
  assert.equal(ro[0], 4);
  assert.equal(encodeLikeWamr(c, { readOnly: true })[0], 4);
  assert.throws(() => encode(c, { slack: -1 }), RangeError);
});

Deno.test("attr_container: empty container gets one slack byte so WAMR can read it", () => {
  const empty = new AttrContainer("");
  assert.deepEqual(encode(empty), hex("0000" + "0a000000" + "0100" + "00" + "0000" + "00"));
  assert.equal(decode(encode(empty)).size, 0);
  assert.throws(
    () => decode(encode(empty, { slack: 0 })),
    /container ends right after attr_num; WAMR needs room after it \(at offset 9\)/,
  );
  assert.equal(encodeLikeWamr(empty).length, 2 + 4 + 2 + 1 + 100);
});

const SAMPLES: [string, AttrValue][] = [
  ["b", { type: "byte", value: -128 }],
  ["s", { type: "short", value: -2 }],
  ["i", { type: "int", value: -0x80000000 }],
  ["l", { type: "int64", value: -(2n ** 63n) }],
  ["u8", { type: "uint8", value: 255 }],
  ["u16", { type: "uint16", value: 65535 }],
  ["u32", { type: "uint32", value: 0xffffffff }],
  ["u64", { type: "uint64", value: 2n ** 64n - 1n }],
  ["f", { type: "float", value: 1.5 }],
  ["d", { type: "double", value: 0.1 }],
  ["t", { type: "bool", value: true }],
  ["str", { type: "string", value: "héllo" }],
  ["a", { type: "bytearray", value: new Uint8Array([1, 2, 255]) }],
];

const SEED_TYPES = new Set(["byte", "short", "int", "int64", "uint16", "float", "double"]);

for (const era of ["af", "seed"] as AttrEra[]) {
  for (const [key, value] of SAMPLES) {
    const available = era === "af" || SEED_TYPES.has(value.type) ||
      ["bool", "string", "bytearray"].includes(value.type);
    if (!available) continue;
    Deno.test(`attr_container: ${value.type} round-trips in the ${era} era`, () => {
      const c = new AttrContainer("rt").set(key, value);
      const back = decode(encode(c, { era }), { era });
      assert.deepEqual(back.get(key), value);
      const wamr = decode(encodeLikeWamr(c, { era }), { era });
      assert.deepEqual(wamr.get(key), value);
    });
  }
}

Deno.test("attr_container: all types together round-trip in order", () => {
  const c = new AttrContainer("all");
  for (const [k, v] of SAMPLES) c.set(k, v);
  const back = decode(encode(c));
  assert.deepEqual(back.entries(), SAMPLES);
});

Deno.test("attr_container: type byte on the wire follows the era", () => {
  const tag = "t";
  const typeOffset = 8 + 2 + 2 + 2 + 2; // header, tag "t\0", attr_num, key_len, key "k\0"
  const cases: [AttrValue, number, number | undefined][] = [
    [{ type: "byte", value: 1 }, ATTR_TYPE.BYTE, SEED_ATTR_TYPE.BYTE],
    [{ type: "short", value: 1 }, ATTR_TYPE.SHORT, SEED_ATTR_TYPE.SHORT],
    [{ type: "int", value: 1 }, ATTR_TYPE.INT, SEED_ATTR_TYPE.INT],
    [{ type: "int64", value: 1n }, ATTR_TYPE.INT64, SEED_ATTR_TYPE.INT64],
    [{ type: "uint8", value: 1 }, ATTR_TYPE.UINT8, undefined],
    [{ type: "uint16", value: 1 }, ATTR_TYPE.UINT16, SEED_ATTR_TYPE.UINT16],
    [{ type: "uint32", value: 1 }, ATTR_TYPE.UINT32, undefined],
    [{ type: "uint64", value: 1n }, ATTR_TYPE.UINT64, undefined],
    [{ type: "float", value: 1 }, 10, 6],
    [{ type: "double", value: 1 }, 11, 7],
    [{ type: "bool", value: true }, 12, 8],
    [{ type: "string", value: "x" }, 13, 9],
    [{ type: "bytearray", value: new Uint8Array(1) }, 14, 10],
  ];
  for (const [value, af, seed] of cases) {
    const c = new AttrContainer(tag).set("k", value);
    assert.equal(encode(c)[typeOffset], af, value.type);
    if (seed === undefined) {
      assert.throws(() => encode(c, { era: "seed" }), /has no code in the seed era/);
    } else {
      assert.equal(encode(c, { era: "seed" })[typeOffset], seed, value.type);
    }
  }
});

Deno.test("attr_container: seed-era bytes decode differently in the AF era", () => {
  const c = new AttrContainer().setByte("b", 7);
  const seedBytes = encode(c, { era: "seed" });
  assert.deepEqual(decode(seedBytes, { era: "af" }).get("b"), { type: "uint8", value: 7 });
});

Deno.test("attr_container: setters check ranges, keys and tags", () => {
  const c = new AttrContainer();
  assert.throws(() => c.setByte("k", 128), /Value 128 is out of range for byte \(-128\.\.127\)/);
  assert.throws(() => c.setUint8("k", -1), RangeError);
  assert.throws(() => c.setShort("k", 1.5), RangeError);
  assert.throws(() => c.setUint16("k", 65536), RangeError);
  assert.throws(() => c.setInt("k", 2 ** 31), RangeError);
  assert.throws(() => c.setUint32("k", 2 ** 32), RangeError);
  assert.throws(() => c.setInt64("k", 2n ** 63n), RangeError);
  assert.throws(() => c.setUint64("k", -1n), RangeError);
  assert.throws(() => c.setInt64("k", 2 ** 60), /not a safe integer/);
  assert.throws(() => c.setInt("", 1), /Key must not be empty/);
  assert.throws(() => c.setInt("a\0b", 1), /Key "a\0b" contains a NUL character/);
  assert.throws(() => c.setString("k", "x\0"), TypeError);
  assert.throws(() => c.setString("k", "x".repeat(65535)), /at most 65534/);
  assert.throws(() => new AttrContainer("t\0"), TypeError);
  assert.equal(c.size, 0);
  c.setInt8("a", -1).setInt16("b", -1).setInt32("c", -1).setUint64("d", 5);
  assert.deepEqual(c.keys(), ["a", "b", "c", "d"]);
  assert.equal(c.get("a")?.type, "byte");
  assert.deepEqual(c.get("d"), { type: "uint64", value: 5n });
  assert.deepEqual(new AttrContainer().setFloat("f", 0.1).get("f")?.value, Math.fround(0.1));
});

Deno.test("attr_container: same-size replacement keeps the position", () => {
  const c = new AttrContainer().setInt("a", 1).setInt("b", 2).setFloat("a", 3);
  assert.deepEqual(c.keys(), ["a", "b"]);
  assert.deepEqual(c.get("a"), { type: "float", value: 3 });
  assert.equal(c.has("a"), true);
  assert.equal(c.has("z"), false);
  assert.equal(c.get("z"), undefined);
});

Deno.test("attr_container: resized replacement moves the key to the end like WAMR", () => {
  const c = new AttrContainer().setString("s", "hello").setInt("n", 0x11223344).setString(
    "s",
    "hi",
  );
  assert.deepEqual(c.keys(), ["n", "s"]);
  const n = "0200" + ascii("n") + "00" + "02" + "44332211";
  const sNew = "0200" + ascii("s") + "00" + "0d" + "0300" + ascii("hi") + "00";
  // The tail moves up, the new attribute follows it, and 3 bytes of the old "n" stay behind.
  const expected = hex(
    "0000" + u32(107) + "0100" + "00" + "0200" + n + sNew + "332211" + "00".repeat(109 - 33),
  );
  assert.deepEqual(encodeLikeWamr(c), expected);
  assert.deepEqual(decode(expected).entries(), c.entries());
});

Deno.test("attr_container: a set that does not fit grows T by attr_len + 100", () => {
  const c = new AttrContainer().setInt("x", 1).setBytearray("a", new Uint8Array(90).fill(7));
  // create("") gives T = 107; "x" takes 9 bytes, the 99-byte array does not fit in the 89 left.
  const bytes = encodeLikeWamr(c);
  assert.equal(new DataView(bytes.buffer).getUint32(2, true), 107 + 99 + 100);
  assert.equal(bytes.length, 2 + 306);
  assert.equal(bytes[9], 2); // attr_num
  assert.deepEqual(bytes.subarray(20, 29), hex("0200" + ascii("a") + "00" + "0e" + u32(90)));
  assert.deepEqual(bytes.subarray(29 + 90), new Uint8Array(308 - 119));
  assert.deepEqual(decode(bytes).entries(), c.entries());
});

Deno.test("attr_container: a resized replacement that does not fit re-allocates", () => {
  const c = new AttrContainer().setBytearray("a", new Uint8Array(80)).setInt("x", 5)
    .setBytearray("a", new Uint8Array(120).fill(1));
  const bytes = encodeLikeWamr(c);
  // old a: 89 bytes, x: 9, room 109 - 11 - 98 = 0; new a: 129 bytes > 89 + 0
  assert.equal(new DataView(bytes.buffer).getUint32(2, true), 107 + 129 + 100);
  assert.deepEqual(decode(bytes).keys(), ["x", "a"]);
  assert.deepEqual(c.keys(), ["x", "a"]);
});

Deno.test("attr_container: getters reinterpret bytes like get_as_X", () => {
  const c = new AttrContainer()
    .setShort("s", -1)
    .setByte("b", -1)
    .setDouble("d", 1.5)
    .setInt("i", 0x41)
    .setString("str", "AB")
    .setBytearray("arr", new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9]))
    .setFloat("f", 1);
  assert.equal(c.getAsInt("s"), 0xffff); // narrower value: zero-extended raw bytes
  assert.equal(c.getAsShort("s"), -1);
  assert.equal(c.getAsUint16("s"), 0xffff);
  assert.equal(c.getAsInt64("b"), 0xffn);
  assert.equal(c.getAsUint8("b"), 255);
  assert.equal(c.getAsInt8("b"), -1);
  assert.equal(c.getAsInt("d"), 0); // wider value: WAMR's bounded copy fails and clears
  assert.equal(c.getAsByte("i"), 0);
  assert.equal(c.getAsInt64("d"), 0x3ff8000000000000n);
  assert.equal(c.getAsUint64("d"), 0x3ff8000000000000n);
  assert.equal(c.getAsDouble("d"), 1.5);
  assert.equal(c.getAsFloat("f"), 1);
  assert.equal(c.getAsUint32("f"), 0x3f800000);
  assert.equal(c.getAsInt32("i"), 0x41);
  assert.equal(c.getAsInt16("str"), 0x4241); // strings copy at most the member's size
  assert.equal(c.getAsInt("str"), 0x4241); // "AB\0" is only 3 bytes
  assert.equal(c.getAsInt64("arr"), 0x0807060504030201n);
  assert.equal(c.getAsBool("b"), true);
  assert.equal(c.getAsBool("i"), false);
  assert.equal(c.getAsInt("missing"), 0);
  assert.equal(c.getAsInt64("missing"), 0n);
  assert.equal(c.getAsBool("missing"), false);
  assert.equal(c.getAsString("str"), "AB");
  assert.equal(c.getAsString("i"), "A");
  assert.equal(c.getAsString("missing"), undefined);
  assert.deepEqual(c.getAsBytearray("str"), new Uint8Array([0x41, 0x42, 0]));
  assert.deepEqual(c.getAsBytearray("i"), new Uint8Array([0x41, 0, 0, 0]));
  assert.equal(c.getAsBytearray("missing"), undefined);
});

Deno.test("attr_container: stored byte arrays are copies", () => {
  const src = new Uint8Array([1, 2]);
  const c = new AttrContainer().setBytearray("a", src);
  src[0] = 9;
  const got = c.get("a");
  assert.deepEqual(got?.value, new Uint8Array([1, 2]));
  (got?.value as Uint8Array)[1] = 9;
  assert.deepEqual(c.get("a")?.value, new Uint8Array([1, 2]));
});

function rejects(bytes: Uint8Array, pattern: RegExp, era: AttrEra = "af"): void {
  assert.throws(() => decode(bytes, { era }), (e: unknown) => {
    assert.ok(e instanceof ProtocolError, String(e));
    assert.match(e.message, pattern);
    return true;
  });
}

function withT(body: string, slack = 4): Uint8Array {
  const total = body.length / 2 + 4 + slack;
  return hex("0000" + u32(total) + body + "00".repeat(slack));
}

Deno.test("attr_container: rejects a truncated header", () => {
  rejects(hex("000005000000"), /header needs 8 bytes, buffer has 6 \(at offset 0\)/);
});

Deno.test("attr_container: rejects total_length larger than the buffer", () => {
  const bytes = APPLETS_INFO.slice(0, 120);
  rejects(bytes, /total_length 119 runs past the end of the 120-byte buffer \(at offset 2\)/);
});

Deno.test("attr_container: accepts bytes after 2 + T", () => {
  const longer = new Uint8Array(130);
  longer.set(APPLETS_INFO);
  longer.fill(0xee, 121);
  assert.deepEqual(decode(longer).get("num"), { type: "int", value: 0 });
});

Deno.test("attr_container: rejects tag_len 0", () => {
  rejects(withT("0000" + "0000"), /tag_len 0 leaves no room for the NUL \(at offset 6\)/);
});

Deno.test("attr_container: rejects a tag running past total_length", () => {
  rejects(hex("0000" + u32(8) + "0800" + ascii("abcd") + "0000"), /tag of tag_len 8 runs past/);
});

Deno.test("attr_container: rejects a tag without its NUL", () => {
  rejects(withT("0200" + ascii("ab") + "0000"), /tag is not NUL-terminated \(at offset 9\)/);
});

Deno.test("attr_container: rejects a tag with an early NUL", () => {
  rejects(withT("0300" + "610000" + "0000"), /tag contains a NUL before its end \(at offset 9\)/);
});

Deno.test("attr_container: rejects attr_num running past total_length", () => {
  rejects(hex("0000" + u32(8) + "0200" + ascii("a") + "00" + "01"), /attr_num runs past/);
});

Deno.test("attr_container: rejects attr_num larger than the attributes present", () => {
  rejects(
    withT("0100" + "00" + "0200" + "0200" + ascii("k") + "00" + "00" + "05", 0),
    /attribute 2 of 2: key_len runs past the end \(at offset 17\)/,
  );
});

Deno.test("attr_container: rejects key_len 0", () => {
  rejects(withT("0100" + "00" + "0100" + "0000" + "00"), /attribute 1 of 1: key_len 0/);
});

Deno.test("attr_container: rejects a key running past the end", () => {
  rejects(
    withT("0100" + "00" + "0100" + "0900" + ascii("k"), 0),
    /attribute 1 of 1: key of key_len 9 runs past the end \(at offset 13\)/,
  );
});

Deno.test("attr_container: rejects a key without its NUL", () => {
  rejects(withT("0100" + "00" + "0100" + "0100" + ascii("k") + "00"), /key is not NUL-terminated/);
});

Deno.test("attr_container: rejects a key with an early NUL", () => {
  rejects(
    withT("0100" + "00" + "0100" + "0300" + "6b0000" + "00" + "00"),
    /key contains a NUL before its end \(at offset 14\)/,
  );
});

Deno.test("attr_container: rejects a missing type byte", () => {
  rejects(
    withT("0100" + "00" + "0100" + "0200" + ascii("k") + "00", 0),
    /attribute 1 of 1: type byte runs past the end \(at offset 15\)/,
  );
});

Deno.test("attr_container: rejects unknown type codes per era", () => {
  const body = (code: string) => withT("0100" + "00" + "0100" + "0200" + ascii("k") + "00" + code);
  rejects(body("08"), /attribute 1 of 1: unknown type code 8 \(af era\) \(at offset 15\)/);
  rejects(body("0f"), /unknown type code 15 \(af era\)/);
  rejects(body("00"), /unknown type code 0 \(seed era\)/, "seed");
  rejects(body("0b"), /unknown type code 11 \(seed era\)/, "seed");
});

Deno.test("attr_container: rejects a fixed-size value running past the end", () => {
  rejects(
    withT("0100" + "00" + "0100" + "0200" + ascii("k") + "00" + "02" + "0000", 0),
    /attribute 1 of 1: int value runs past the end \(at offset 16\)/,
  );
});

Deno.test("attr_container: rejects string length problems", () => {
  const attr = (rest: string, slack = 0) =>
    withT("0100" + "00" + "0100" + "0200" + ascii("k") + "00" + "0d" + rest, slack);
  rejects(attr("00"), /string length runs past the end/);
  rejects(attr("0000", 2), /string length 0 leaves no room for the NUL \(at offset 16\)/);
  rejects(attr("0500" + "6100"), /string of length 5 runs past the end \(at offset 18\)/);
  rejects(attr("0200" + "6162"), /string is not NUL-terminated \(at offset 19\)/);
});

Deno.test("attr_container: rejects byte array length problems", () => {
  const attr = (rest: string) =>
    withT("0100" + "00" + "0100" + "0200" + ascii("k") + "00" + "0e" + rest, 0);
  rejects(attr("0100"), /byte array length runs past the end/);
  rejects(attr(u32(3) + "0102"), /byte array of length 3 runs past the end \(at offset 20\)/);
});

Deno.test("attr_container: rejects duplicate keys", () => {
  const a = "0200" + ascii("k") + "00" + "00" + "01";
  rejects(
    withT("0100" + "00" + "0200" + a + a),
    /attribute 2 of 2: duplicate key "k" \(at offset 17\)/,
  );
});

Deno.test("attr_container: decode tolerates stale slack, bool bytes and early string NULs", () => {
  const body = "0100" + "00" + "0200" + "0200" + ascii("t") + "00" + "0c" + "02" + "0200" +
    ascii("s") + "00" + "0d" + "0300" + "610000";
  const bytes = hex("0000" + u32(body.length / 2 + 4 + 3) + body + "abcdef");
  const c = decode(bytes);
  assert.deepEqual(c.get("t"), { type: "bool", value: true });
  assert.deepEqual(c.get("s"), { type: "string", value: "a" });
});

Deno.test("attr_container: decode reads a subarray at a non-zero offset", () => {
  const padded = new Uint8Array(APPLETS_INFO.length + 3);
  padded.set(APPLETS_INFO, 3);
  assert.deepEqual(decode(padded.subarray(3)).get("num"), { type: "int", value: 0 });
});

Deno.test("attr_container: toJSON gives plain values", () => {
  const c = new AttrContainer("x")
    .setInt("i", -5)
    .setInt64("small", -7n)
    .setUint64("big", 2n ** 64n - 1n)
    .setFloat("f", 0.5)
    .setBool("b", false)
    .setString("s", "v")
    .setBytearray("a", new Uint8Array([0, 255]));
  assert.deepEqual(toJSON(c), {
    i: -5,
    small: -7,
    big: "18446744073709551615",
    f: 0.5,
    b: false,
    s: "v",
    a: [0, 255],
  });
});

Deno.test("attr_container: fromJSON follows host_tool's rules", () => {
  const c = fromJSON({
    n: 3,
    on: true,
    off: false,
    s: "text",
    a: [1, -1, 255, 300.7, -129, 1e10, "x", 5],
    mixed: ["x", 1],
    nul: null,
    obj: { a: 1 },
    "": 1,
    cut: "ab\0cd",
  });
  assert.equal(c.tag, "");
  assert.deepEqual(c.entries(), [
    ["n", { type: "double", value: 3 }],
    ["on", { type: "bool", value: true }],
    ["off", { type: "bool", value: false }],
    ["s", { type: "string", value: "text" }],
    ["a", { type: "bytearray", value: new Uint8Array([1, 0xff, 0xff, 0x2c, 0x7f, 0]) }],
    ["cut", { type: "string", value: "ab" }],
  ]);
  assert.throws(() => fromJSON({ a: [] }), /Array for key "a" is empty/);
  assert.throws(() => fromJSON([1]), TypeError);
  assert.throws(() => fromJSON("x"), TypeError);
});

Deno.test("attr_container: host_tool JSON of the no-apps query", () => {
  const c = decode(APPLETS_INFO);
  assert.equal(formatHostToolJSON(c), '{\n\t"num":\t0\n}');
});

Deno.test("attr_container: host_tool JSON of an empty container is '{\\n}'", () => {
  assert.equal(formatHostToolJSON(new AttrContainer("tag")), "{\n}");
});

Deno.test("attr_container: host_tool JSON formats numbers like cJSON", () => {
  const c = new AttrContainer()
    .setDouble("zero", 0)
    .setDouble("half", 1.5)
    .setDouble("big", 1e21)
    .setDouble("tenth", 0.1)
    .setDouble("long", 123456789012345678)
    .setInt64("i64", 123456789012345678n)
    .setDouble("negzero", -0)
    .setDouble("nan", NaN)
    .setFloat("f", 0.1)
    .setShort("s", -3)
    .setUint16("u", 65535)
    .setByte("b", -1);
  assert.equal(
    formatHostToolJSON(c),
    [
      "{",
      '\t"zero":\t0,',
      '\t"half":\t1.5,',
      '\t"big":\t1e+21,',
      '\t"tenth":\t0.1,',
      '\t"long":\t1.2345678901234568e+17,',
      '\t"i64":\t1.2345678901234568e+17,',
      '\t"negzero":\t-0,',
      '\t"nan":\tnull,',
      '\t"f":\t0.10000000149011612,',
      '\t"s":\t-3,',
      '\t"u":\t65535,',
      '\t"b":\t-1',
      "}",
    ].join("\n"),
  );
});

Deno.test("attr_container: host_tool JSON escapes strings like cJSON", () => {
  const c = new AttrContainer()
    .setBool("t", true)
    .setBool("f", false)
    .setString("esc", 'q"b\\\b\f\n\r\t\x01\x1f\x7f é/')
    .setString('k"\n', "")
    .setBytearray("arr", new Uint8Array([1, 2, 3, 200]))
    .setBytearray("none", new Uint8Array(0));
  assert.equal(
    formatHostToolJSON(c),
    "{\n" +
      '\t"t":\ttrue,\n' +
      '\t"f":\tfalse,\n' +
      '\t"esc":\t"q\\"b\\\\\\b\\f\\n\\r\\t\\u0001\\u001f\x7f é/",\n' +
      '\t"k\\"\\n":\t"",\n' +
      '\t"arr":\t[1, 2, 3, -56],\n' +
      '\t"none":\t[]\n' +
      "}",
  );
});

Deno.test("attr_container: dump prints every type like attr_container_dump", () => {
  const c = new AttrContainer("Applets Info")
    .setByte("b", -1)
    .setShort("s", -2)
    .setInt("i", -1)
    .setInt64("l", -1n)
    .setUint8("u8", 200)
    .setUint16("u16", 0xbeef)
    .setUint32("u32", 0xdeadbeef)
    .setUint64("u64", 0x1234n)
    .setFloat("f", 0.1)
    .setDouble("d", -2.5)
    .setBool("t", true)
    .setBool("no", false)
    .setString("str", "hello world")
    .setBytearray("a", new Uint8Array(3));
  assert.equal(
    dump(c),
    [
      "Attribute container dump:",
      "Tag: Applets Info",
      "Attribute list:",
      "  key: b, type: byte, value: 0xff",
      "  key: s, type: short, value: 0xfffe",
      "  key: i, type: int, value: 0xffffffff",
      "  key: l, type: int64, value: 0xffffffffffffffff",
      "  key: u8, type: uint8, value: 0xc8",
      "  key: u16, type: uint16, value: 0xbeef",
      "  key: u32, type: uint32, value: 0xdeadbeef",
      "  key: u64, type: int64, value: 0x1234",
      "  key: f, type: float, value: 0.100000",
      "  key: d, type: double, value: -2.500000",
      "  key: t, type: bool, value: 0x1",
      "  key: no, type: bool, value: 0x0",
      "  key: str, type: string, value: hello world",
      "  key: a, type: byte array, length: 3",
      "",
      "",
    ].join("\n"),
  );
});

Deno.test("attr_container: dump of an empty container", () => {
  assert.equal(dump(new AttrContainer()), "Attribute container dump:\nTag: \nAttribute list:\n\n");
});

Deno.test("attr_container: %f matches glibc on edge values", () => {
  assert.equal(formatCFixed(0.5), "0.500000");
  assert.equal(formatCFixed(0.5, 0), "0");
  assert.equal(formatCFixed(1.5, 0), "2");
  assert.equal(formatCFixed(2.5, 0), "2");
  assert.equal(formatCFixed(0.125, 2), "0.12");
  assert.equal(formatCFixed(2.5e-7), "0.000000");
  assert.equal(formatCFixed(5e-7), "0.000000"); // 5e-7 is just below the exact half
  assert.equal(formatCFixed(1.5e-6), "0.000002");
  assert.equal(formatCFixed(1e21), "1000000000000000000000.000000");
  assert.equal(formatCFixed(1.7976931348623157e308).length, 309 + 7);
  assert.equal(formatCFixed(-0), "-0.000000");
  assert.equal(formatCFixed(-1e-9), "-0.000000");
  assert.equal(formatCFixed(NaN), "nan");
  const negNaN = new DataView(new ArrayBuffer(8));
  negNaN.setUint32(0, 0xfff80000);
  assert.equal(formatCFixed(negNaN.getFloat64(0)), "-nan");
  assert.equal(formatCFixed(Infinity), "inf");
  assert.equal(formatCFixed(-Infinity), "-inf");
  assert.equal(formatCFixed(Math.fround(0.1)), "0.100000");
  assert.equal(formatCFixed(3.5), "3.500000");
});

Deno.test("attr_container: %g matches glibc on edge values", () => {
  assert.equal(formatCGeneral(0, 15), "0");
  assert.equal(formatCGeneral(100, 15), "100");
  assert.equal(formatCGeneral(1e15, 15), "1e+15");
  assert.equal(formatCGeneral(999999999999999, 15), "999999999999999");
  assert.equal(formatCGeneral(9999999999999999, 15), "1e+16");
  assert.equal(formatCGeneral(1e-4, 15), "0.0001");
  assert.equal(formatCGeneral(1e-5, 15), "1e-05");
  assert.equal(formatCGeneral(123456789012345678, 15), "1.23456789012346e+17");
  assert.equal(formatCGeneral(5e-324, 17), "4.9406564584124654e-324");
  assert.equal(formatCGeneral(2 ** -24, 16), "5.960464477539062e-08");
  assert.equal(formatCGeneral(0.5, 0), "0.5");
});
