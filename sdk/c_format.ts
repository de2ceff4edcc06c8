/**
 * C number formatting, digit for digit what glibc's printf prints: integers with flags and
 * precision, and `%e %f %g %a` from the exact binary value of a double (or a binary128
 * long double), rounding half to even on the exact decimal expansion.
 *
 * V8's `toFixed`/`toExponential` cannot be used directly: `toFixed` rounds exact ties away
 * from zero and switches to exponent notation at 1e21, and both stop at 100 digits. Here a
 * finite value is taken apart as `m * 2^e` and every digit comes from BigInt arithmetic.
 *
 * A conversion is produced as {@linkcode NumberParts}, so a caller writing a huge field (a
 * precision of a million) can emit the run of zeros without building it as a string.
 *
 * @module
 */

/** printf flags. */
export interface CFormatFlags {
  /** `-`: pad on the right. */
  minus?: boolean;
  /** `+`: always print a sign for signed conversions. */
  plus?: boolean;
  /** ` `: print a space where a plus sign would go. */
  space?: boolean;
  /** `#`: alternate form (`0x` prefix, kept decimal point and zeros). */
  hash?: boolean;
  /** `0`: pad with zeros after the sign and prefix. */
  zero?: boolean;
}

/** Floating conversions. */
export type FloatConversion = "e" | "E" | "f" | "F" | "g" | "G" | "a" | "A";

/** Integer conversions. */
export type IntConversion = "d" | "i" | "u" | "o" | "x" | "X";

/**
 * One converted number before width padding. The text is
 * `prefix + lead + "0".repeat(zeros) + tail`; padding zeros (the `0` flag) go between
 * `prefix` and `lead`.
 */
export interface NumberParts {
  /** Sign and radix prefix (`-`, `+`, ` `, `0x`, `-0X`, or empty). */
  prefix: string;
  /** Digits before the run of zeros. */
  lead: string;
  /** Length of a run of `0` characters after `lead`. */
  zeros: number;
  /** Digits and exponent after the run of zeros. */
  tail: string;
  /** Whether the `0` flag may pad this field (not for inf/nan, nor integers with precision). */
  zeroPad: boolean;
}

/**
 * A floating value taken apart exactly: `(-1)^neg * m * 2^e` when finite.
 * `fractionBits` is the width of the stored fraction (52 for a double, 112 for binary128),
 * used by `%a`.
 */
export interface BinaryFloat {
  /** The sign bit. */
  neg: boolean;
  /** `"finite"`, `"inf"` or `"nan"`. */
  kind: "finite" | "inf" | "nan";
  /** The integer significand (0 for zero). */
  m: bigint;
  /** The binary exponent of `m`'s last bit. */
  e: number;
  /** Width of the stored fraction field. */
  fractionBits: number;
}

const _f64 = new Float64Array(1);
const _u32 = new Uint32Array(_f64.buffer);
const _pow10Cache: bigint[] = [];

function _pow10(n: number): bigint {
  if (n < 64) {
    let p = _pow10Cache[n];
    if (p === undefined) {
      p = 10n ** BigInt(n);
      _pow10Cache[n] = p;
    }
    return p;
  }
  return 10n ** BigInt(n);
}

function _bitLength(m: bigint): number {
  return m === 0n ? 0 : m.toString(2).length;
}

/**
 * Takes a double apart exactly.
 *
 * @param value the double
 * @returns its sign, class, significand and exponent
 */
export function decodeFloat64(value: number): BinaryFloat {
  _f64[0] = value;
  const lo = _u32[0]!;
  const hi = _u32[1]!;
  const neg = hi >>> 31 === 1;
  const exp = (hi >>> 20) & 0x7ff;
  const fracHi = hi & 0xfffff;
  if (exp === 0x7ff) {
    return { neg, kind: fracHi === 0 && lo === 0 ? "inf" : "nan", m: 0n, e: 0, fractionBits: 52 };
  }
  const frac = BigInt(fracHi) * 0x1_0000_0000n + BigInt(lo);
  if (exp === 0) return { neg, kind: "finite", m: frac, e: -1074, fractionBits: 52 };
  return { neg, kind: "finite", m: frac | (1n << 52n), e: exp - 1075, fractionBits: 52 };
}

/**
 * Takes an IEEE binary128 value (wasm32's `long double`) apart exactly.
 *
 * @param lo the low 64 bits
 * @param hi the high 64 bits (sign, 15-bit exponent, top 48 fraction bits)
 * @returns its sign, class, significand and exponent
 */
export function decodeBinary128(lo: bigint, hi: bigint): BinaryFloat {
  const u = (BigInt.asUintN(64, hi) << 64n) | BigInt.asUintN(64, lo);
  const neg = (u >> 127n) === 1n;
  const exp = Number((u >> 112n) & 0x7fffn);
  const frac = u & ((1n << 112n) - 1n);
  if (exp === 0x7fff) {
    return { neg, kind: frac === 0n ? "inf" : "nan", m: 0n, e: 0, fractionBits: 112 };
  }
  if (exp === 0) return { neg, kind: "finite", m: frac, e: -16494, fractionBits: 112 };
  return { neg, kind: "finite", m: frac | (1n << 112n), e: exp - 16495, fractionBits: 112 };
}

/** round-half-even of num / den for non-negative BigInts */
function _divRound(num: bigint, den: bigint): bigint {
  const q = num / den;
  const r2 = (num - q * den) * 2n;
  if (r2 > den || (r2 === den && (q & 1n) === 1n)) return q + 1n;
  return q;
}

/** m * 2^e * 10^s as num/den */
function _scaled(m: bigint, e: number, s: number): [bigint, bigint] {
  let num = m;
  let den = 1n;
  if (s >= 0) num *= _pow10(s);
  else den = _pow10(-s);
  if (e >= 0) num <<= BigInt(e);
  else den <<= BigInt(-e);
  return [num, den];
}

/** An upper bound on the significant decimal digits of m * 2^e. */
function _maxDigits(m: bigint, e: number): number {
  return Math.ceil((_bitLength(m) + Math.max(e, 0)) * 0.30103) + 2 + Math.max(-e, 0);
}

/**
 * Digits of round(|v| * 10^p) for the `%f` style, with `p` capped where further digits are
 * known to be zero.
 */
function _fixed(m: bigint, e: number, p: number): { digits: string; extraZeros: number } {
  // Below 2^-k every digit past the k-th decimal place is zero, so cap p at k.
  const cap = e >= 0 ? 0 : -e;
  const q = p > cap ? cap : p;
  const [num, den] = _scaled(m, e, q);
  return { digits: _divRound(num, den).toString(), extraZeros: p - q };
}

/**
 * `p + 1` significant digits of |v| (v != 0) rounded half-even, and the decimal exponent X
 * with v ~ d.ddd * 10^X.
 */
function _sig(
  m: bigint,
  e: number,
  p: number,
): { digits: string; exp: number; extraZeros: number; carried: boolean } {
  const cap = _maxDigits(m, e);
  const q = p + 1 > cap ? cap - 1 : p;
  let x = Math.floor((_bitLength(m) - 1 + e) * 0.3010299956639812);
  const lo = _pow10(q);
  const hi = lo * 10n;
  for (;;) {
    const [num, den] = _scaled(m, e, q - x);
    const floor = num / den;
    if (floor >= hi) {
      x++;
      continue;
    }
    if (floor < lo) {
      x--;
      continue;
    }
    let d = _divRound(num, den);
    const carried = d === hi;
    if (carried) {
      d = lo;
      x++;
    }
    return { digits: d.toString(), exp: x, extraZeros: p - q, carried };
  }
}

function _expSuffix(x: number, upper: boolean, marker: string): string {
  const a = Math.abs(x);
  const mark = upper ? marker.toUpperCase() : marker;
  return `${mark}${x < 0 ? "-" : "+"}${a < 10 && marker === "e" ? "0" : ""}${a}`;
}

function _signOf(neg: boolean, flags: CFormatFlags): string {
  return neg ? "-" : flags.plus ? "+" : flags.space ? " " : "";
}

/**
 * Converts a floating value as printf's `%e %f %g %a` (and uppercase forms) would, without
 * width padding.
 *
 * @param value a double, or a value from {@linkcode decodeBinary128}
 * @param conv the conversion letter
 * @param precision the precision, or a negative number when none was given
 * @param flags `+`, space, `#` (the `0` and `-` flags only matter for padding)
 * @returns the parts of the converted text
 */
export function formatFloatParts(
  value: number | BinaryFloat,
  conv: FloatConversion,
  precision = -1,
  flags: CFormatFlags = {},
): NumberParts {
  const v = typeof value === "number" ? decodeFloat64(value) : value;
  const upper = conv === "E" || conv === "F" || conv === "G" || conv === "A";
  const sign = _signOf(v.neg, flags);
  if (v.kind !== "finite") {
    const word = v.kind === "inf" ? "inf" : "nan";
    return {
      prefix: sign,
      lead: upper ? word.toUpperCase() : word,
      zeros: 0,
      tail: "",
      zeroPad: false,
    };
  }
  const hash = flags.hash === true;
  switch (conv) {
    case "f":
    case "F": {
      const p = precision < 0 ? 6 : precision;
      return { prefix: sign, ..._fixedText(v.m, v.e, p, hash), zeroPad: true };
    }
    case "e":
    case "E": {
      const p = precision < 0 ? 6 : precision;
      return { prefix: sign, ..._expText(v.m, v.e, p, hash, upper), zeroPad: true };
    }
    case "g":
    case "G":
      return { prefix: sign, ..._generalText(v.m, v.e, precision, hash, upper), zeroPad: true };
    default:
      return { ..._hexText(v, precision, hash, upper, sign), zeroPad: true };
  }
}

type _Body = { lead: string; zeros: number; tail: string };

function _fixedText(m: bigint, e: number, p: number, hash: boolean): _Body {
  if (m === 0n) {
    return { lead: p > 0 || hash ? "0." : "0", zeros: p, tail: "" };
  }
  const { digits, extraZeros } = _fixed(m, e, p);
  const q = p - extraZeros;
  const padded = digits.length <= q ? "0".repeat(q + 1 - digits.length) + digits : digits;
  const int = padded.slice(0, padded.length - q);
  const frac = padded.slice(padded.length - q);
  const dot = p > 0 || hash ? "." : "";
  return { lead: int + dot + frac, zeros: extraZeros, tail: "" };
}

function _expText(m: bigint, e: number, p: number, hash: boolean, upper: boolean): _Body {
  const dot = p > 0 || hash ? "." : "";
  if (m === 0n) return { lead: "0" + dot, zeros: p, tail: _expSuffix(0, upper, "e") };
  const { digits, exp, extraZeros } = _sig(m, e, p);
  return {
    lead: digits[0] + dot + digits.slice(1),
    zeros: extraZeros,
    tail: _expSuffix(exp, upper, "e"),
  };
}

function _generalText(
  m: bigint,
  e: number,
  precision: number,
  hash: boolean,
  upper: boolean,
): _Body {
  const P = precision < 0 ? 6 : precision === 0 ? 1 : precision;
  let digits: string;
  let exp: number;
  let extra: number;
  if (m === 0n) {
    digits = "0";
    exp = 0;
    extra = P - 1;
  } else {
    const s = _sig(m, e, P - 1);
    digits = s.digits;
    exp = s.exp;
    extra = s.extraZeros;
    // glibc quirk: when rounding carries a would-be `%f`-style value into `%e` style
    // (`%#.3g` of 999.5), `#` keeps only the point: "1.e+03", not "1.00e+03".
    if (hash && s.carried && exp === P) {
      return { lead: digits[0] + ".", zeros: 0, tail: _expSuffix(exp, upper, "e") };
    }
  }
  if (!hash) {
    // Trailing zeros go, so the digits past the exact expansion never matter.
    extra = 0;
    let end = digits.length;
    while (end > 1 && digits.charCodeAt(end - 1) === 48) end--;
    digits = digits.slice(0, end);
  }
  if (exp < -4 || exp >= P) {
    const dot = digits.length > 1 || extra > 0 || hash ? "." : "";
    return {
      lead: digits[0] + dot + digits.slice(1),
      zeros: extra,
      tail: _expSuffix(exp, upper, "e"),
    };
  }
  if (exp >= 0) {
    if (digits.length <= exp + 1) {
      // All digits are integer digits; with `#` the zeros after the point come from `extra`.
      const intZeros = exp + 1 - digits.length;
      const rest = Math.max(0, extra - intZeros);
      return { lead: digits + "0".repeat(intZeros) + (hash ? "." : ""), zeros: rest, tail: "" };
    }
    const int = digits.slice(0, exp + 1);
    return { lead: int + "." + digits.slice(exp + 1), zeros: extra, tail: "" };
  }
  return { lead: "0." + "0".repeat(-exp - 1) + digits, zeros: extra, tail: "" };
}

function _hexText(v: BinaryFloat, precision: number, hash: boolean, upper: boolean, sign: string): {
  prefix: string;
  lead: string;
  zeros: number;
  tail: string;
} {
  const nDigits = v.fractionBits / 4;
  const prefix = sign + (upper ? "0X" : "0x");
  const pMark = upper ? "P" : "p";
  if (v.m === 0n) {
    const p = precision < 0 ? 0 : precision;
    return { prefix, lead: "0" + (p > 0 || hash ? "." : ""), zeros: p, tail: pMark + "+0" };
  }
  const normal = v.m >> BigInt(v.fractionBits) !== 0n;
  let lead = normal ? 1n : 0n;
  let frac = v.m & ((1n << BigInt(v.fractionBits)) - 1n);
  // Subnormals print as 0x0.<fraction> with the minimum normal exponent.
  const exp = v.e + v.fractionBits;
  let digits: number;
  let extra = 0;
  if (precision < 0) {
    digits = nDigits;
    while (digits > 0 && (frac & 0xfn) === 0n) {
      frac >>= 4n;
      digits--;
    }
  } else if (precision < nDigits) {
    const drop = BigInt((nDigits - precision) * 4);
    const whole = (lead << BigInt(v.fractionBits)) | frac;
    const q = _divRound(whole, 1n << drop);
    lead = q >> BigInt(precision * 4);
    frac = q & ((1n << BigInt(precision * 4)) - 1n);
    digits = precision;
  } else {
    digits = nDigits;
    extra = precision - nDigits;
  }
  let hex = digits > 0 ? frac.toString(16).padStart(digits, "0") : "";
  if (upper) hex = hex.toUpperCase();
  const dot = digits > 0 || extra > 0 || hash ? "." : "";
  const sgn = exp < 0 ? "-" : "+";
  return {
    prefix,
    lead: lead.toString(16) + dot + hex,
    zeros: extra,
    tail: `${pMark}${sgn}${Math.abs(exp)}`,
  };
}

/**
 * Converts an integer as printf's `%d %i %u %o %x %X` would, without width padding.
 * The caller has already reduced the value to the argument's C type (e.g. `>>> 0` for
 * `unsigned int`); `d`/`i` print the sign, the others expect a non-negative value.
 *
 * @param value the integer
 * @param conv the conversion letter
 * @param precision minimum digit count, or a negative number when none was given
 * @param flags `+`, space, `#`
 * @returns the parts of the converted text
 */
export function formatIntParts(
  value: number | bigint,
  conv: IntConversion,
  precision = -1,
  flags: CFormatFlags = {},
): NumberParts {
  const neg = value < 0;
  const abs = neg ? -value : value;
  let prefix = conv === "d" || conv === "i" ? _signOf(neg, flags) : "";
  const isZero = abs === 0 || abs === 0n;
  let digits: string;
  switch (conv) {
    case "o":
      digits = abs.toString(8);
      break;
    case "x":
      digits = abs.toString(16);
      if (flags.hash && !isZero) prefix = "0x";
      break;
    case "X":
      digits = abs.toString(16).toUpperCase();
      if (flags.hash && !isZero) prefix = "0X";
      break;
    default:
      digits = abs.toString();
  }
  if (precision === 0 && isZero) digits = "";
  let zeros = precision > digits.length ? precision - digits.length : 0;
  if (conv === "o" && flags.hash && zeros === 0 && digits[0] !== "0") zeros = 1;
  return { prefix, lead: "", zeros, tail: digits, zeroPad: precision < 0 };
}

/**
 * Lays out parts in a field of `width` characters as printf does.
 *
 * @param parts a converted number
 * @param width the minimum field width
 * @param flags `-` pads on the right; `0` pads with zeros when the parts allow it
 * @returns the field text
 */
export function padNumber(parts: NumberParts, width = 0, flags: CFormatFlags = {}): string {
  const len = parts.prefix.length + parts.lead.length + parts.zeros + parts.tail.length;
  const pad = width > len ? width - len : 0;
  const body = parts.lead + "0".repeat(parts.zeros) + parts.tail;
  if (pad === 0) return parts.prefix + body;
  if (flags.minus) return parts.prefix + body + " ".repeat(pad);
  if (flags.zero && parts.zeroPad) return parts.prefix + "0".repeat(pad) + body;
  return " ".repeat(pad) + parts.prefix + body;
}

/**
 * Formats a floating value like `printf("%<flags><width>.<precision><conv>", value)` in glibc.
 *
 * @param value the double
 * @param conv `e E f F g G a A`
 * @param precision the precision, or a negative number for the default
 * @param flags printf flags
 * @param width the minimum field width
 * @returns the formatted text
 *
 * @example Round half to even on the exact value
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatFloat } from "./c_format.ts";
 * assert.equal(formatFloat(0.125, "f", 2), "0.12"); // an exact tie rounds to even
 * assert.equal(formatFloat(2 / 3, "g", 3), "0.667");
 * assert.equal(formatFloat(1e21, "f", 2), "1000000000000000000000.00");
 * ```
 */
export function formatFloat(
  value: number,
  conv: FloatConversion,
  precision = -1,
  flags: CFormatFlags = {},
  width = 0,
): string {
  return padNumber(formatFloatParts(value, conv, precision, flags), width, flags);
}

/**
 * Formats an integer like `printf("%<flags><width>.<precision><conv>", value)` in glibc.
 *
 * @param value the integer, already reduced to the argument's C type
 * @param conv `d i u o x X`
 * @param precision minimum digits, or a negative number for none
 * @param flags printf flags
 * @param width the minimum field width
 * @returns the formatted text
 *
 * @example Hex with a prefix and zero padding
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatInt } from "./c_format.ts";
 * assert.equal(formatInt(255, "x", -1, { hash: true, zero: true }, 8), "0x0000ff");
 * ```
 */
export function formatInt(
  value: number | bigint,
  conv: IntConversion,
  precision = -1,
  flags: CFormatFlags = {},
  width = 0,
): string {
  return padNumber(formatIntParts(value, conv, precision, flags), width, flags);
}

/**
 * C's `%.7g`, which the CLI uses to print f32 and f64 results.
 *
 * @param value the number
 * @returns the text glibc would print
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatG7 } from "./c_format.ts";
 * assert.equal(formatG7(3), "3");
 * assert.equal(formatG7(0.1), "0.1");
 * assert.equal(formatG7(1e21), "1e+21");
 * ```
 */
export function formatG7(value: number): string {
  return formatFloat(value, "g", 7);
}
