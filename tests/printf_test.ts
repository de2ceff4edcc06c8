import assert from "node:assert/strict";
import { AppMemory, decodeFloat64, TrapError } from "../sdk/mod.ts";
import { formatPrintf, PrintfBuffer, printfTo } from "../natives/libc/printf.ts";
import { GLIBC_PRINTF_CASES, type GlibcArg } from "./fixtures/glibc_printf_cases.ts";
import { libcHarness } from "./fixtures/libc_harness.ts";

const OOB = { name: "TrapError", message: "out of bounds memory access" };
const dec = new TextDecoder();
const enc = new TextEncoder();

function newMemory(pages = 1): AppMemory {
  return new AppMemory(new WebAssembly.Memory({ initial: pages }));
}

/** binary128 bits of a double (exact: every double is a normal binary128). */
function f128Bits(v: number): [bigint, bigint] {
  const d = decodeFloat64(v);
  const sign = d.neg ? 1n << 127n : 0n;
  let u: bigint;
  if (d.kind === "inf") u = sign | (0x7fffn << 112n);
  else if (d.kind === "nan") u = sign | (0x7fffn << 112n) | (1n << 111n);
  else if (d.m === 0n) u = sign;
  else {
    const len = d.m.toString(2).length;
    const frac = (d.m << BigInt(113 - len)) & ((1n << 112n) - 1n);
    u = sign | (BigInt(d.e + len - 1 + 16383) << 112n) | frac;
  }
  return [BigInt.asIntN(64, u), BigInt.asIntN(64, u >> 64n)];
}

/** Lays out variadic arguments as wasm32 clang does; returns the va address. */
function layout(memory: AppMemory, args: GlibcArg[], va = 1024, strings = 8192): number {
  let ap = va;
  let sp = strings;
  for (const [type, value] of args) {
    switch (type) {
      case "ll":
      case "ull":
        ap = Math.ceil(ap / 8) * 8;
        memory.setI64(ap, BigInt.asIntN(64, BigInt(value)));
        ap += 8;
        break;
      case "double":
        ap = Math.ceil(ap / 8) * 8;
        memory.setF64(ap, Number(value));
        ap += 8;
        break;
      case "ldouble": {
        ap = Math.ceil(ap / 16) * 16;
        const [lo, hi] = f128Bits(Number(value));
        memory.setI64(ap, lo);
        memory.setI64(ap + 8, hi);
        ap += 16;
        break;
      }
      case "str": {
        memory.writeCString(sp, String(value));
        memory.setI32(ap, sp);
        sp += enc.encode(String(value)).length + 1;
        ap += 4;
        break;
      }
      default:
        memory.setI32(ap, Number(value));
        ap += 4;
    }
  }
  return va;
}

function fmt(memory: AppMemory, format: string | Uint8Array, args: GlibcArg[] = []): string {
  return dec.decode(formatPrintf(memory, format, layout(memory, args)));
}

Deno.test("printf: matches glibc's snprintf for the format table", () => {
  for (const c of GLIBC_PRINTF_CASES) {
    const memory = newMemory();
    const out = new PrintfBuffer();
    const ret = printfTo(memory, enc.encode(c.fmt), layout(memory, c.args), out);
    assert.equal(dec.decode(out.bytes()), c.out, c.fmt);
    assert.equal(ret, c.ret, c.fmt);
  }
});

Deno.test("printf: '%.3g' rounds like glibc", () => {
  const memory = newMemory();
  assert.equal(fmt(memory, "%.3g", [["double", 2 / 3]]), "0.667");
  assert.equal(fmt(memory, "%.3g", [["double", 999.5]]), "1e+03");
  assert.equal(fmt(memory, "%.3g", [["double", 0.0001235]]), "0.000123");
  assert.equal(fmt(memory, "%.3g", [["double", 0.00012351]]), "0.000124");
});

Deno.test("printf: observed HEAD outputs (§12)", () => {
  const memory = newMemory();
  assert.equal(fmt(memory, "%p", [["ptr", 0]]), "(nil)");
  assert.equal(fmt(memory, "%p", [["ptr", 0x24b8]]), "0x24b8");
  assert.equal(fmt(memory, "%lld", [["ll", 1234567890123n]]), "1234567890123");
  assert.equal(fmt(memory, "%f", [["double", 3.5]]), "3.500000");
  assert.equal(fmt(memory, "%08x", [["uint", 255]]), "000000ff");
  assert.equal(fmt(memory, "[%5s]", [["str", "ab"]]), "[   ab]");
});

Deno.test("printf: 64-bit integers and doubles align the va cursor to 8", () => {
  const memory = newMemory();
  memory.setI32(1024, 7);
  memory.setI32(1028, 0x5555); // padding skipped by the alignment
  memory.setI64(1032, -2n);
  memory.setI32(1040, 9);
  memory.setF64(1048, 1.25);
  assert.equal(dec.decode(formatPrintf(memory, "%d %lld %d %g", 1024)), "7 -2 9 1.25");
  assert.equal(dec.decode(formatPrintf(memory, "%d %jd", 1024)), "7 -2");
});

Deno.test("printf: long double ('L') is binary128 aligned to 16", () => {
  const memory = newMemory();
  memory.setI32(1024, 1);
  const [lo, hi] = f128Bits(0.1);
  memory.setI64(1040, lo);
  memory.setI64(1048, hi);
  memory.setI32(1056, 2);
  assert.equal(
    dec.decode(formatPrintf(memory, "%d %.20Lf %d", 1024)),
    "1 0.10000000000000000555 2",
  );
});

Deno.test("printf: h and hh truncate, l z t are 32-bit", () => {
  const memory = newMemory();
  assert.equal(
    fmt(memory, "%hhd %hd %hhu %hu", [["int", 0x1ff], ["int", 0x18000], ["int", -1], ["int", -1]]),
    "-1 -32768 255 65535",
  );
  assert.equal(
    fmt(memory, "%ld %lu %zx %td %d", [["int", -1], ["int", -1], ["int", -1], ["int", 5], [
      "int",
      6,
    ]]),
    "-1 4294967295 ffffffff 5 6",
  );
});

Deno.test("printf: '*' width and precision come from the va buffer", () => {
  const memory = newMemory();
  assert.equal(fmt(memory, "[%*d]", [["int", 4], ["int", 7]]), "[   7]");
  assert.equal(fmt(memory, "[%*d]", [["int", -4], ["int", 7]]), "[7   ]");
  assert.equal(fmt(memory, "[%.*f]", [["int", 1], ["double", 2.25]]), "[2.2]");
  assert.equal(fmt(memory, "[%.*f]", [["int", -1], ["double", 2.25]]), "[2.250000]");
  assert.equal(fmt(memory, "[%*.*s]", [["int", 5], ["int", 2], ["str", "abc"]]), "[   ab]");
});

Deno.test("printf: '%s' of offset 0 holding the empty string prints '(null)'", () => {
  const memory = newMemory();
  assert.equal(fmt(memory, "[%s]", [["ptr", 0]]), "[(null)]");
  assert.equal(fmt(memory, "[%8s]", [["ptr", 0]]), "[  (null)]");
  assert.equal(fmt(memory, "[%.3s]", [["ptr", 0]]), "[]");
  memory.writeCString(0, "zero");
  assert.equal(fmt(memory, "[%s]", [["ptr", 0]]), "[zero]");
});

Deno.test("printf: '%s' traps when the string has no NUL before the end of memory", () => {
  const memory = newMemory();
  memory.bytes(65530, 6).fill(65);
  memory.setI32(1024, 65530);
  assert.throws(() => formatPrintf(memory, "%s", 1024), OOB);
  // WAMR validates the whole string even when the precision would stop earlier.
  assert.throws(() => formatPrintf(memory, "%.2s", 1024), OOB);
  memory.setI32(1024, 70000);
  assert.throws(() => formatPrintf(memory, "%s", 1024), OOB);
});

Deno.test("printf: va reads past the end of memory trap", () => {
  const memory = newMemory();
  assert.throws(() => formatPrintf(memory, "%d", 65534), OOB);
  assert.throws(() => formatPrintf(memory, "%d %d", 65532), OOB);
  assert.equal(dec.decode(formatPrintf(memory, "%d", 65532)), "0");
  // 65529 aligns up to 65536 for the double: nothing left to read.
  assert.throws(() => formatPrintf(memory, "%f", 65529), OOB);
  assert.throws(() => formatPrintf(memory, "%lld", 65529), OOB);
  assert.throws(() => formatPrintf(memory, "%Lf", 65521), OOB);
  assert.throws(() => formatPrintf(memory, "%*d", 65534), OOB);
  assert.throws(() => formatPrintf(memory, "%d", 0xffff_fffc), OOB);
  try {
    formatPrintf(memory, "%d", 65534);
  } catch (e) {
    assert.ok(e instanceof TrapError);
  }
});

Deno.test("printf: '%n' prints nothing and consumes nothing", () => {
  const memory = newMemory();
  assert.equal(fmt(memory, "a%nb%d", [["int", 5]]), "ab5");
});

Deno.test("printf: '%c' of 0 writes a NUL byte", () => {
  const memory = newMemory();
  layout(memory, [["int", 0], ["int", 0x141]]);
  assert.deepEqual([...formatPrintf(memory, "<%c%c>", 1024)], [60, 0, 0x41, 62]);
});

Deno.test("printf: non-UTF-8 bytes in the format and in '%s' pass through unchanged", () => {
  const memory = newMemory();
  memory.write(8192, new Uint8Array([0xff, 0xfe, 0]));
  memory.setI32(1024, 8192);
  const format = new Uint8Array([0x80, 37, 115, 0xc3]); // "\x80%s\xc3"
  assert.deepEqual([...formatPrintf(memory, format, 1024)], [0x80, 0xff, 0xfe, 0xc3]);
});

Deno.test("printf: unknown conversions print the directive as written", () => {
  const memory = newMemory();
  assert.equal(fmt(memory, "%y|%5.2k|%"), "%y|%5.2k|%");
  assert.equal(fmt(memory, "%5%|%-3%"), "%|%");
});

Deno.test("printf: huge widths are counted without building them", () => {
  const memory = newMemory();
  memory.setI32(1024, 1);
  const out = new PrintfBuffer({ keep: 5 });
  assert.equal(printfTo(memory, enc.encode("%2000000000d"), 1024, out), 2_000_000_000);
  assert.equal(dec.decode(out.bytes()), "     ");
  assert.equal(
    printfTo(memory, enc.encode("%2147483648d"), 1024, new PrintfBuffer({ keep: 0 })),
    -1,
  );
  const digits = new PrintfBuffer({ keep: 3 });
  assert.equal(printfTo(memory, enc.encode("%.100000000f"), 1024, digits), 100_000_002);
});

Deno.test("printf: streaming output arrives in order in bounded chunks", () => {
  const memory = newMemory();
  memory.setI32(1024, 42);
  const chunks: Uint8Array[] = [];
  const out = new PrintfBuffer({ flushTo: (b) => chunks.push(b.slice()) });
  assert.equal(printfTo(memory, enc.encode("a%100000db"), 1024, out), 100_002);
  out.flush();
  assert.ok(chunks.every((c) => c.length <= 65536));
  const text = chunks.map((c) => dec.decode(c)).join("");
  assert.equal(text.length, 100_002);
  assert.ok(text.startsWith("a   ") && text.endsWith("42b"));
});

// ---- the printf natives ---------------------------------------------------------------------

Deno.test("printf: printf writes to the app's stdout and returns the byte count", () => {
  const h = libcHarness();
  h.str(4096, "x=%d %s\n");
  h.str(5000, "héllo");
  h.memory.setI32(1024, -3);
  h.memory.setI32(1028, 5000);
  assert.equal(h.call("printf", 4096, 1024), 12);
  assert.equal(h.call("vprintf", 4096, 1024), 12);
  assert.equal(h.stdout(), "x=-3 héllo\nx=-3 héllo\n");
});

Deno.test("printf: printf keeps what it printed before a trapping argument", () => {
  const h = libcHarness();
  h.str(4096, "before %s after");
  h.memory.setI32(1024, 0x7fff_0000);
  assert.throws(() => h.call("printf", 4096, 1024), OOB);
  assert.equal(h.stdout(), "before ");
});

Deno.test("printf: printf traps on a format or va pointer past the end", () => {
  const h = libcHarness();
  h.memory.bytes(65530, 6).fill(65);
  assert.throws(() => h.call("printf", 65530, 1024), OOB);
  assert.throws(() => h.call("printf", 70000, 1024), OOB);
  h.str(4096, "plain");
  assert.throws(() => h.call("printf", 4096, 65536), OOB);
  assert.equal(h.stdout(), "");
});

Deno.test("printf: sprintf writes the output and a NUL and returns the length", () => {
  const h = libcHarness();
  h.str(4096, "%s-%04d");
  h.str(5000, "ab");
  h.memory.setI32(1024, 5000);
  h.memory.setI32(1028, 7);
  h.memory.bytes(6000, 16).fill(0x2a);
  h.memory.setU8(6015, 0);
  assert.equal(h.call("sprintf", 6000, 4096, 1024), 7);
  assert.equal(h.memory.cstring(6000), "ab-0007");
  assert.equal(h.memory.u8At(6008), 0x2a);
  assert.equal(h.call("vsprintf", 6100, 4096, 1024), 7);
  assert.equal(h.memory.cstring(6100), "ab-0007");
});

Deno.test("printf: sprintf running off the end of memory traps without writing", () => {
  const h = libcHarness();
  h.str(4096, "%s");
  h.str(5000, "0123456789");
  h.memory.setI32(1024, 5000);
  const dst = 65536 - 10; // room for 9 characters and the NUL, not 10
  h.memory.setU8(65535, 0);
  assert.throws(() => h.call("sprintf", dst, 4096, 1024), OOB);
  assert.deepEqual([...h.memory.bytes(dst, 10)], new Array(10).fill(0));
  h.str(5000, "012345678");
  assert.equal(h.call("sprintf", dst, 4096, 1024), 9);
  assert.equal(h.memory.cstring(dst), "012345678");
});

Deno.test("printf: sprintf's destination must already hold a NUL (WAMR's '$' check)", () => {
  const h = libcHarness();
  h.str(4096, "x");
  h.memory.bytes(65500, 36).fill(1);
  assert.throws(() => h.call("sprintf", 65500, 4096, 1024), OOB);
  assert.throws(() => h.call("sprintf", 65536, 4096, 1024), OOB);
});

Deno.test("printf: snprintf truncates to size-1 plus NUL and returns the full length", () => {
  const h = libcHarness();
  h.str(4096, "%d-%s");
  h.str(5000, "abcdef");
  h.memory.setI32(1024, 12345);
  h.memory.setI32(1028, 5000);
  h.memory.bytes(6000, 16).fill(0x2a);
  assert.equal(h.call("snprintf", 6000, 8, 4096, 1024), 12);
  assert.equal(h.memory.cstring(6000), "12345-a");
  assert.equal(h.memory.u8At(6008), 0x2a);
  assert.equal(h.call("vsnprintf", 6000, 1, 4096, 1024), 12);
  assert.equal(h.memory.u8At(6000), 0);
  h.memory.setU8(6000, 0x2a);
  assert.equal(h.call("snprintf", 6000, 0, 4096, 1024), 12);
  assert.equal(h.memory.u8At(6000), 0x2a);
  assert.equal(h.call("snprintf", 6000, 100, 4096, 1024), 12);
  assert.equal(h.memory.cstring(6000), "12345-abcdef");
});

Deno.test("printf: snprintf traps when its buffer runs past the end", () => {
  const h = libcHarness();
  h.str(4096, "x");
  assert.throws(() => h.call("snprintf", 65530, 7, 4096, 1024), OOB);
  assert.equal(h.call("snprintf", 65536, 0, 4096, 1024), 1);
});
