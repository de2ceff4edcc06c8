import assert from "node:assert/strict";
import {
  type CFormatFlags,
  decodeBinary128,
  decodeFloat64,
  type FloatConversion,
  formatFloat,
  formatFloatParts,
  formatG7,
  formatInt,
  formatIntParts,
  padNumber,
} from "../sdk/c_format.ts";
import { GLIBC_FLOAT_CASES } from "./fixtures/glibc_float_cases.ts";

function fromBits(hex: string): number {
  const dv = new DataView(new ArrayBuffer(8));
  dv.setBigUint64(0, BigInt("0x" + hex));
  return dv.getFloat64(0);
}

/** Runs a one-conversion format like "%-12.4e|" through formatFloat. */
function runFormat(fmt: string, value: number): string {
  const m = /^%([-+ #0]*)(\d*)(?:\.(\d*))?([eEfFgGaA])(.*)$/.exec(fmt);
  assert.ok(m, `unparsable format ${fmt}`);
  const flagText = m[1]!;
  const flags: CFormatFlags = {
    minus: flagText.includes("-"),
    plus: flagText.includes("+"),
    space: flagText.includes(" "),
    hash: flagText.includes("#"),
    zero: flagText.includes("0"),
  };
  const width = m[2] ? Number(m[2]) : 0;
  const precision = m[3] === undefined ? -1 : Number(m[3] || "0");
  return formatFloat(value, m[4] as FloatConversion, precision, flags, width) + m[5];
}

Deno.test("c_format: matches glibc for every value and format in the table", () => {
  let failures = 0;
  const first: string[] = [];
  for (const [bits, fmt, expected] of GLIBC_FLOAT_CASES) {
    const actual = runFormat(fmt, fromBits(bits));
    if (actual !== expected) {
      failures++;
      if (first.length < 10) first.push(`${fmt} of 0x${bits}: got ${actual}, want ${expected}`);
    }
  }
  assert.equal(failures, 0, first.join("\n"));
  assert.ok(GLIBC_FLOAT_CASES.length > 5000);
});

Deno.test("c_format: '%f' rounds exact ties half to even", () => {
  assert.equal(formatFloat(0.125, "f", 2), "0.12");
  assert.equal(formatFloat(0.375, "f", 2), "0.38");
  assert.equal(formatFloat(2.5, "f", 0), "2");
  assert.equal(formatFloat(3.5, "f", 0), "4");
  assert.equal(formatFloat(-0.5, "f", 0), "-0");
  // 2.675 is really 2.67499999..., so it rounds down although it looks like a tie.
  assert.equal(formatFloat(2.675, "f", 2), "2.67");
});

Deno.test("c_format: '%f' of large values stays positional", () => {
  assert.equal(formatFloat(1e21, "f", 2), "1000000000000000000000.00");
  assert.equal(formatFloat(2 ** 64, "f", 0), "18446744073709551616");
  assert.equal(formatFloat(1.7976931348623157e308, "f", 0).length, 309);
});

Deno.test("c_format: '%e' rounds ties half to even and pads the exponent", () => {
  assert.equal(formatFloat(0.5, "e", 0), "5e-01");
  assert.equal(formatFloat(25, "e", 0), "2e+01");
  assert.equal(formatFloat(35, "e", 0), "4e+01");
  assert.equal(formatFloat(1e100, "e", 2), "1.00e+100");
  assert.equal(formatFloat(5e-324, "e", 3), "4.941e-324");
  assert.equal(formatFloat(9.9999, "e", 2), "1.00e+01");
});

Deno.test("c_format: precision beyond 100 digits is exact", () => {
  const text = formatFloat(0.1, "f", 120);
  assert.equal(text.slice(0, 57), "0.1000000000000000055511151231257827021181583404541015625");
  assert.equal(text.slice(57), "0".repeat(65));
  const parts = formatFloatParts(0.1, "f", 1_000_000);
  // The run of zeros past the exact expansion is counted, not built.
  assert.ok(parts.zeros > 999_000);
  assert.ok(parts.lead.length < 100);
});

Deno.test("c_format: '%g' picks the style from the rounded exponent", () => {
  assert.equal(formatFloat(2 / 3, "g", 3), "0.667");
  assert.equal(formatFloat(100000, "g"), "100000");
  assert.equal(formatFloat(1000000, "g"), "1e+06");
  assert.equal(formatFloat(999999.5, "g"), "1e+06");
  assert.equal(formatFloat(0.0001, "g"), "0.0001");
  assert.equal(formatFloat(0.00001, "g"), "1e-05");
  assert.equal(formatFloat(0, "g", 0), "0");
  assert.equal(formatFloat(1, "g", -1, { hash: true }), "1.00000");
  assert.equal(formatFloat(100, "g", 3, { hash: true }), "100.");
  assert.equal(formatFloat(1e-5, "G"), "1E-05");
});

Deno.test("c_format: inf and nan keep their sign and ignore the '0' flag", () => {
  assert.equal(formatFloat(Infinity, "f"), "inf");
  assert.equal(formatFloat(-Infinity, "E"), "-INF");
  assert.equal(formatFloat(NaN, "g"), "nan");
  assert.equal(formatFloat(-NaN, "F"), "-NAN");
  assert.equal(formatFloat(Infinity, "f", -1, { zero: true }, 6), "   inf");
  assert.equal(formatFloat(NaN, "e", -1, { plus: true }), "+nan");
});

Deno.test("c_format: '%a' rounds hex digits half to even and keeps subnormals at p-1022", () => {
  assert.equal(formatFloat(1, "a"), "0x1p+0");
  assert.equal(formatFloat(1.5, "a", 0), "0x2p+0");
  assert.equal(formatFloat(2.5, "a", 0), "0x1p+1");
  assert.equal(formatFloat(1 + 0xff8 / 0x1000, "a", 2), "0x2.00p+0");
  assert.equal(formatFloat(5e-324, "a"), "0x0.0000000000001p-1022");
  assert.equal(formatFloat(0, "a"), "0x0p+0");
  assert.equal(formatFloat(-1, "A", -1, { zero: true }, 10), "-0X0001P+0");
});

Deno.test("c_format: flags, width and zero padding", () => {
  assert.equal(formatFloat(-1.5, "f", 3, { zero: true }, 10), "-00001.500");
  assert.equal(formatFloat(1.5, "f", 3, { minus: true, zero: true }, 10), "1.500     ");
  assert.equal(formatFloat(1.5, "f", 3, { plus: true, zero: true }, 10), "+00001.500");
  assert.equal(formatFloat(1, "f", -1, { space: true }), " 1.000000");
  assert.equal(formatFloat(1, "e", 0, { hash: true }), "1.e+00");
  assert.equal(formatFloat(1, "f", 0, { hash: true }), "1.");
});

Deno.test("c_format: formatG7 prints like C's '%.7g'", () => {
  assert.equal(formatG7(3), "3");
  assert.equal(formatG7(0.1), "0.1");
  assert.equal(formatG7(2 / 3), "0.6666667");
  assert.equal(formatG7(1e21), "1e+21");
  assert.equal(formatG7(1234567.5), "1234568");
  assert.equal(formatG7(12345678), "1.234568e+07");
  assert.equal(formatG7(Math.fround(0.1)), "0.1");
  assert.equal(formatG7(-0), "-0");
  assert.equal(formatG7(NaN), "nan");
  assert.equal(formatG7(-Infinity), "-inf");
});

Deno.test("c_format: integers with precision, flags and prefixes like glibc", () => {
  assert.equal(formatInt(42, "d", -1, {}, 5), "   42");
  assert.equal(formatInt(-42, "d", -1, { zero: true }, 5), "-0042");
  assert.equal(formatInt(7, "d", 3, { zero: true }, 8), "     007");
  assert.equal(formatInt(0, "d", 0), "");
  assert.equal(formatInt(0, "o", 0, { hash: true }), "0");
  assert.equal(formatInt(8, "o", -1, { hash: true }), "010");
  assert.equal(formatInt(0, "x", -1, { hash: true }), "0");
  assert.equal(formatInt(255, "X", -1, { hash: true }), "0XFF");
  assert.equal(formatInt(255, "x", -1, { hash: true, zero: true }, 8), "0x0000ff");
  assert.equal(formatInt(5, "d", -1, { plus: true }), "+5");
  assert.equal(formatInt(5, "u", -1, { plus: true }), "5");
  assert.equal(formatInt(-1234567890123n, "d"), "-1234567890123");
  assert.equal(formatInt(18446744073709551615n, "u"), "18446744073709551615");
  assert.equal(formatInt(5, "d", -1, { minus: true, zero: true }, 4), "5   ");
});

Deno.test("c_format: parts leave large zero runs to the caller", () => {
  const parts = formatIntParts(7, "d", 10_000_000);
  assert.equal(parts.zeros, 9_999_999);
  assert.equal(parts.tail, "7");
  assert.equal(parts.zeroPad, false);
  const custom = { prefix: "-", lead: "1", zeros: 2, tail: "e", zeroPad: true };
  assert.equal(padNumber(custom, 7, { zero: true }), "-00100e");
  assert.equal(padNumber(custom, 7, {}), "  -100e");
  assert.equal(padNumber(custom, 7, { minus: true, zero: true }), "-100e  ");
});

Deno.test("c_format: decodeFloat64 and decodeBinary128 take values apart exactly", () => {
  const d = decodeFloat64(1.5);
  assert.deepEqual([d.neg, d.kind, d.m, d.e], [false, "finite", 3n << 51n, -52]);
  assert.equal(decodeFloat64(-0).neg, true);
  assert.equal(decodeFloat64(5e-324).m, 1n);
  // binary128 2.5: exponent 0x4000, fraction 0x4000... in the top bits
  const q = decodeBinary128(0n, 0x4000_4000_0000_0000n);
  assert.equal(formatFloat(2.5, "f"), "2.500000");
  assert.equal(padNumber(formatFloatParts(q, "f")), "2.500000");
  assert.equal(padNumber(formatFloatParts(q, "a")), "0x1.4p+1");
  const inf = decodeBinary128(0n, 0x7fff_0000_0000_0000n);
  assert.equal(inf.kind, "inf");
  assert.equal(decodeBinary128(1n, 0xffff_0000_0000_0000n).kind, "nan");
});

Deno.test("c_format: '%#g' copies glibc's dropped zeros when rounding carries into '%e' style", () => {
  assert.equal(formatFloat(999.5, "g", 3, { hash: true }), "1.e+03");
  assert.equal(formatFloat(999999.5, "g", -1, { hash: true }), "1.e+06");
  assert.equal(formatFloat(9.6, "g", 1, { hash: true }), "1.e+01");
  assert.equal(formatFloat(9.995e10, "g", 3, { hash: true }), "1.00e+11");
  assert.equal(formatFloat(99.96, "g", 3, { hash: true }), "100.");
  assert.equal(formatFloat(9.996e-6, "g", 3, { hash: true }), "1.00e-05");
});
