/**
 * Our own reader of the WebAssembly binary format.
 *
 * It reads every section into a {@linkcode ModuleInfo} (types, imports, exports, code body
 * locations, names) so the runtime can link and report errors without V8's help. Structural
 * damage (bad magic or version, truncation, sizes that lie, bad LEBs) throws a
 * {@linkcode LoadError} with WAMR's wording; constructs the reader does not model (a newer
 * const-expr opcode, an unknown type form) mark the section `opaque` and are left for
 * `WebAssembly.compile` to judge.
 *
 * @module
 */

import { LoadError } from "../../sdk/errors.ts";

import type { FuncType, ValType } from "../../sdk/wasm_types.ts";

export type { FuncType, ValType };

/** Limits of a memory or a table. */
export interface Limits {
  /** Minimum size, in pages for memories and elements for tables. */
  min: number;
  /** Maximum size, when declared. */
  max?: number;
  /** Shared memory (threads proposal). */
  shared: boolean;
  /** 64-bit index type (memory64 proposal; also table64). */
  memory64: boolean;
}

/** The type of a table. */
export interface TableType {
  /** The reference type of its elements. */
  element: ValType;
  /** Its size limits. */
  limits: Limits;
}

/** The type of a global. */
export interface GlobalType {
  /** The value type it holds. */
  type: ValType;
  /** Whether it is `mut`. */
  mutable: boolean;
}

/** What an import brings in, by kind. */
export type ImportDesc =
  | { kind: "function"; typeIndex: number; type: FuncType | undefined }
  | { kind: "table"; type: TableType }
  | { kind: "memory"; type: Limits }
  | { kind: "global"; type: GlobalType }
  | { kind: "tag"; typeIndex: number };

/** One import: `module`.`name` and what it describes. */
export type Import = { module: string; name: string } & ImportDesc;

/** One export. */
export interface Export {
  /** The export name. */
  name: string;
  /** The index space it points into. */
  kind: "function" | "table" | "memory" | "global" | "tag";
  /** Index in that space (imports first). */
  index: number;
}

/** Where a section sits in the binary. */
export interface SectionInfo {
  /** Section id, 0 for custom sections. */
  id: number;
  /** The custom section's name. */
  name?: string;
  /** Byte offset of the section body (after its id and size). */
  offset: number;
  /** Size of the body in bytes. */
  size: number;
  /** Set when the reader met a construct it does not model and skipped the rest. */
  opaque?: boolean;
}

/** Where one function body sits in the binary. */
export interface CodeBody {
  /** Byte offset of the body (its local declarations), after the body size. */
  offset: number;
  /** Size of the body in bytes. */
  size: number;
  /** Number of declared locals (parameters not included). */
  localCount: number;
  /** Set when a local's type could not be read; `localCount` is then incomplete. */
  opaque?: boolean;
}

/** The kind of a defined type: function, or a GC struct or array. */
export type TypeKind = "func" | "struct" | "array";

/** A data segment. */
export interface DataSegment {
  /** Active segments are copied at instantiation; passive ones by `memory.init`. */
  mode: "active" | "passive";
  /** Target memory index (0 for passive segments). */
  memory: number;
  /** Number of bytes. */
  size: number;
  /** Byte offset of the segment's bytes in the binary. */
  offset: number;
}

/** The contents of a `dylink.0` (or legacy `dylink`) custom section. */
export interface DylinkInfo {
  /** Bytes of memory the module needs. */
  memorySize: number;
  /** Memory alignment, as a power of two. */
  memoryAlign: number;
  /** Table slots the module needs. */
  tableSize: number;
  /** Table alignment, as a power of two. */
  tableAlign: number;
  /** Names of the shared libraries it depends on. */
  needed: string[];
}

/** Everything the reader learned from a binary. */
export interface ModuleInfo {
  /** Every section in binary order, custom sections included. */
  sections: SectionInfo[];
  /** Type index space; `undefined` for non-function (struct/array) types. */
  types: (FuncType | undefined)[];
  /** The kind of each entry of `types`. */
  typeKinds: TypeKind[];
  /** Imports in order. */
  imports: Import[];
  /** Type index per defined function. */
  functions: number[];
  /** Defined tables. */
  tables: TableType[];
  /** Defined memories. */
  memories: Limits[];
  /** Defined globals. */
  globals: GlobalType[];
  /** Exports in order. */
  exports: Export[];
  /** The start function index, when present. */
  start: number | undefined;
  /** Number of element segments. */
  elementCount: number;
  /** The data count section's value, when present. */
  dataCount: number | undefined;
  /** One entry per defined function body. */
  codes: CodeBody[];
  /** Data segments. */
  data: DataSegment[];
  /** Type index per defined tag. */
  tags: number[];
  /** Custom sections: name and body location. */
  customs: { name: string; offset: number; size: number }[];
  /** The `name` custom section: module name, function names, local names. */
  names: {
    module?: string;
    functions: Map<number, string>;
    locals: Map<number, Map<number, string>>;
  };
  /** The `dylink.0` custom section, when present and well formed. */
  dylink: DylinkInfo | undefined;
  /** Number of imported functions (they come first in the function index space). */
  importedFunctionCount: number;
}

/** Thrown inside the reader when it meets a construct it does not model; never escapes. */
class _Deferred {
  constructor(readonly offset: number) {}
}

const _MAGIC = [0x00, 0x61, 0x73, 0x6d];
const _VERSION = [0x01, 0x00, 0x00, 0x00];

const _SECTION_NAMES = [
  "custom",
  "type",
  "import",
  "function",
  "table",
  "memory",
  "global",
  "export",
  "start",
  "element",
  "code",
  "data",
  "data count",
  "tag",
];

/** Position of each known section id in the required order (tag sits between memory and global). */
const _SECTION_RANK: readonly number[] = [0, 1, 2, 3, 4, 5, 7, 8, 9, 10, 12, 13, 11, 6];

// Type codes run from 0x69 to 0x7f: the tables below are indexed by `code - 0x69` (a dense array;
// an object keyed by code made every lookup a dictionary probe).

/** Abstract heap types by their one-byte code, from 0x69. */
const _HEAP_TYPES: readonly (string | undefined)[] = [
  "exn", // 0x69
  "array",
  "struct",
  "i31",
  "eq",
  "any",
  "extern",
  "func", // 0x70
  "none",
  "noextern",
  "nofunc",
  "noexn", // 0x74
];

/** One-byte value types, including the reference-type shorthands, from 0x69. */
const _VALUE_TYPES: readonly (string | undefined)[] = [
  "exnref", // 0x69
  "arrayref",
  "structref",
  "i31ref",
  "eqref",
  "anyref",
  "externref",
  "funcref", // 0x70
  "nullref",
  "nullexternref",
  "nullfuncref",
  "nullexnref", // 0x74
  undefined,
  undefined,
  undefined,
  undefined,
  undefined,
  undefined,
  "v128", // 0x7b
  "f64",
  "f32",
  "i64",
  "i32", // 0x7f
];

const _EXPORT_KINDS = ["function", "table", "memory", "global", "tag"] as const;

const _utf8 = new TextDecoder("utf-8", { fatal: true });

/** A cursor over `bytes[pos, end)` whose every read is bounds-checked. */
class _Reader {
  pos: number;

  constructor(
    readonly bytes: Uint8Array,
    start: number,
    public end: number,
    readonly endReason: string,
  ) {
    this.pos = start;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  fail(reason: string, offset: number = this.pos): never {
    throw new LoadError(reason, offset);
  }

  u8(): number {
    if (this.pos >= this.end) this.fail(this.endReason);
    return this.bytes[this.pos++]!;
  }

  skip(n: number): void {
    if (n > this.remaining) this.fail(this.endReason);
    this.pos += n;
  }

  /** An unsigned LEB128 of at most `bits` bits, as a number (exact up to 2^53). */
  unsigned(bits: 32 | 64): number {
    const maxBytes = Math.ceil(bits / 7);
    let result = 0;
    let scale = 1;
    for (let i = 0; i < maxBytes; i++) {
      const byte = this.u8();
      if (i === maxBytes - 1) {
        if (byte & 0x80) this.fail("integer representation too long", this.pos - 1);
        const unused = bits - 7 * i;
        if (byte >> unused) this.fail("integer too large", this.pos - 1);
      }
      result += (byte & 0x7f) * scale;
      if (!(byte & 0x80)) return result;
      scale *= 128;
    }
    return this.fail("integer representation too long");
  }

  u32(): number {
    // Most LEBs in a module are one or two bytes: read those inline.
    const pos = this.pos;
    if (pos + 1 < this.end) {
      const byte = this.bytes[pos]!;
      if (byte < 0x80) {
        this.pos = pos + 1;
        return byte;
      }
      const next = this.bytes[pos + 1]!;
      if (next < 0x80) {
        this.pos = pos + 2;
        return (byte & 0x7f) | (next << 7);
      }
    }
    return this.unsigned(32);
  }

  /** A signed LEB128 of at most `bits` bits (32, 33 or 64); exact when it fits a double. */
  signed(bits: 32 | 33 | 64): number {
    const maxBytes = Math.ceil(bits / 7);
    let result = 0;
    let scale = 1;
    for (let i = 0; i < maxBytes; i++) {
      const byte = this.u8();
      if (i === maxBytes - 1) {
        if (byte & 0x80) this.fail("integer representation too long", this.pos - 1);
        // Bits past the value's width must repeat its sign bit.
        const used = bits - 7 * i;
        const sign = (byte >> (used - 1)) & 1;
        const rest = (byte & 0x7f) >> used;
        const expected = sign ? 0x7f >> used : 0;
        if (rest !== expected) this.fail("integer too large", this.pos - 1);
      }
      result += (byte & 0x7f) * scale;
      scale *= 128;
      if (!(byte & 0x80)) return byte & 0x40 ? result - scale : result;
    }
    return this.fail("integer representation too long");
  }

  /** A vector length, rejected early when even `minItemSize`-byte items cannot fit. */
  count(minItemSize = 1): number {
    const at = this.pos;
    const n = this.u32();
    if (n * minItemSize > this.remaining) this.fail(this.endReason, at);
    return n;
  }

  name(): string {
    const length = this.count();
    const start = this.pos;
    this.skip(length);
    return _decodeName(this.bytes, start, start + length);
  }
}

/** Names this short and all ASCII are built directly: a `TextDecoder` call costs ~0.3 us. */
const _ASCII_FAST_LENGTH = 64;

/**
 * Short ASCII names seen before, by a hash of their bytes: apps import the same natives, so a
 * load mostly finds its names here instead of building each string again. Bounded: cleared
 * when full.
 */
const _interned = new Map<number, string>();
const _INTERN_LIMIT = 4096;

function _decodeName(bytes: Uint8Array, start: number, end: number): string {
  if (end - start <= _ASCII_FAST_LENGTH) {
    let hash = end - start;
    let i = start;
    for (; i < end; i++) {
      const byte = bytes[i]!;
      if (byte >= 0x80) break;
      hash = Math.imul(hash ^ byte, 0x01000193);
    }
    if (i === end) {
      const seen = _interned.get(hash);
      if (seen !== undefined && _sameAscii(seen, bytes, start, end)) return seen;
      let text = "";
      for (let k = start; k < end; k++) text += String.fromCharCode(bytes[k]!);
      if (_interned.size >= _INTERN_LIMIT) _interned.clear();
      _interned.set(hash, text);
      return text;
    }
  }
  try {
    return _utf8.decode(bytes.subarray(start, end));
  } catch {
    throw new LoadError("malformed UTF-8 encoding", start);
  }
}

function _sameAscii(text: string, bytes: Uint8Array, start: number, end: number): boolean {
  if (text.length !== end - start) return false;
  for (let k = 0; k < text.length; k++) {
    if (text.charCodeAt(k) !== bytes[start + k]) return false;
  }
  return true;
}

function _heapType(r: _Reader): string {
  const at = r.pos;
  const value = r.signed(33);
  if (value >= 0) return String(value);
  const name = value >= -64 ? _HEAP_TYPES[value + 0x80 - 0x69] : undefined;
  if (name === undefined) throw new _Deferred(at);
  return name;
}

function _valType(r: _Reader): ValType {
  const at = r.pos;
  const code = r.u8();
  const known = _VALUE_TYPES[code - 0x69];
  if (known !== undefined) return known;
  if (code === 0x63) return `(ref null ${_heapType(r)})`;
  if (code === 0x64) return `(ref ${_heapType(r)})`;
  // Type codes are negative one-byte s7 values; other bytes cannot be a type in any proposal.
  if (code < 0x40 || code > 0x7f) r.fail("invalid value type", at);
  throw new _Deferred(at);
}

function _mutability(r: _Reader): boolean {
  const at = r.pos;
  const flag = r.u8();
  if (flag > 1) throw new _Deferred(at); // e.g. shared-everything's shared flag
  return flag === 1;
}

function _limits(r: _Reader): Limits {
  const at = r.pos;
  const flags = r.u8();
  if (flags > 0x07) throw new _Deferred(at); // e.g. custom page sizes
  const memory64 = (flags & 0x04) !== 0;
  const bits = memory64 ? 64 : 32;
  const limits: Limits = { min: r.unsigned(bits), shared: (flags & 0x02) !== 0, memory64 };
  if (flags & 0x01) limits.max = r.unsigned(bits);
  return limits;
}

function _tableType(r: _Reader): TableType {
  const element = _valType(r);
  return { element, limits: _limits(r) };
}

function _globalType(r: _Reader): GlobalType {
  const type = _valType(r);
  return { type, mutable: _mutability(r) };
}

/** Skips a constant expression up to and including its `end`. */
function _constExpr(r: _Reader): void {
  for (;;) {
    const at = r.pos;
    const op = r.u8();
    switch (op) {
      case 0x0b: // end
        return;
      case 0x41: // i32.const
        r.signed(32);
        break;
      case 0x42: // i64.const
        r.signed(64);
        break;
      case 0x43: // f32.const
        r.skip(4);
        break;
      case 0x44: // f64.const
        r.skip(8);
        break;
      case 0x23: // global.get
      case 0xd2: // ref.func
        r.u32();
        break;
      case 0xd0: // ref.null
        _heapType(r);
        break;
      case 0x6a: // extended-const i32.add, i32.sub, i32.mul, i64.add, i64.sub, i64.mul
      case 0x6b:
      case 0x6c:
      case 0x7c:
      case 0x7d:
      case 0x7e:
        break;
      case 0xfd: { // SIMD prefix: only v128.const is constant
        const sub = r.u32();
        if (sub !== 12) throw new _Deferred(at);
        r.skip(16);
        break;
      }
      case 0xfb: { // GC prefix
        const sub = r.u32();
        if (sub <= 1 || sub === 6 || sub === 7) {
          r.u32(); // struct.new(_default), array.new(_default): type index
        } else if (sub === 8) {
          r.u32(); // array.new_fixed: type index, length
          r.u32();
        } else if (sub < 0x1a || sub > 0x1c) {
          throw new _Deferred(at); // not any.convert_extern, extern.convert_any, ref.i31
        }
        break;
      }
      default:
        throw new _Deferred(at);
    }
  }
}

/**
 * What the reader learned; `codes` and `sections` may wait for the code section's bodies.
 * `sections` needs the bodies only for the code section's `opaque` verdict: it reads them
 * without keeping their entries, which `codes` reads again from the bytes when asked (the
 * limits rewriter asks for `sections` of every app it instruments, and nothing asks for
 * `codes` of a running app: ~1.5 KiB of heap per idle app).
 */
class _Info implements ModuleInfo {
  types: (FuncType | undefined)[] = [];
  typeKinds: TypeKind[] = [];
  imports: Import[] = [];
  functions: number[] = [];
  tables: TableType[] = [];
  memories: Limits[] = [];
  globals: GlobalType[] = [];
  exports: Export[] = [];
  start: number | undefined = undefined;
  elementCount = 0;
  dataCount: number | undefined = undefined;
  data: DataSegment[] = [];
  tags: number[] = [];
  customs: { name: string; offset: number; size: number }[] = [];
  names: ModuleInfo["names"] = new _Names();
  dylink: DylinkInfo | undefined = undefined;
  importedFunctionCount = 0;
  /** Filled as sections are read, whether or not the bodies wait. */
  sectionList: SectionInfo[] = [];
  codeList: CodeBody[] = [];
  /** Reads the code section's bodies into a list, when they wait. */
  pending: ((codes: CodeBody[]) => void) | undefined;
  /** Set once the bodies were read in full for `sections` and their entries let go. */
  #reread: ((codes: CodeBody[]) => void) | undefined;

  get sections(): SectionInfo[] {
    const pending = this.pending;
    if (pending !== undefined) {
      this.pending = undefined;
      pending(this.codeList); // throws as `codes` would, and then keeps what it read
      this.codeList = [];
      this.#reread = pending;
    }
    return this.sectionList;
  }

  set sections(value: SectionInfo[]) {
    void this.sections;
    this.sectionList = value;
  }

  get codes(): CodeBody[] {
    const pending = this.pending ?? this.#reread;
    this.pending = this.#reread = undefined;
    pending?.(this.codeList);
    return this.codeList;
  }

  set codes(value: CodeBody[]) {
    void this.codes;
    this.codeList = value;
  }
}

function _emptyInfo(): _Info {
  return new _Info();
}

/**
 * Function types seen before, by their encoding: modules loaded side by side (a fleet's apps)
 * share one frozen object per signature instead of holding each its own (~0.1 KiB a type).
 * Bounded: cleared when full.
 */
const _types = new Map<string, FuncType>();
const _TYPES_LIMIT = 1024;
/** Encodings longer than this are not shared. */
const _TYPE_KEY_LENGTH = 32;

/** The shared function type encoded in `bytes[start, end)`, else `{ params, results }`. */
function _sharedType(
  bytes: Uint8Array,
  start: number,
  end: number,
  params: ValType[],
  results: ValType[],
): FuncType {
  if (end - start > _TYPE_KEY_LENGTH) return { params, results };
  let key = "";
  for (let k = start; k < end; k++) key += String.fromCharCode(bytes[k]!);
  let type = _types.get(key);
  if (type === undefined) {
    if (_types.size >= _TYPES_LIMIT) _types.clear();
    type = Object.freeze({
      params: Object.freeze(params.slice()) as ValType[],
      results: Object.freeze(results.slice()) as ValType[],
    });
    _types.set(key, type);
  }
  return type;
}

function _compositeType(r: _Reader, info: ModuleInfo): void {
  const at = r.pos;
  const form = r.u8();
  if (form === 0x60) {
    const params: ValType[] = [];
    for (let n = r.count(); n > 0; n--) params.push(_valType(r));
    const results: ValType[] = [];
    for (let n = r.count(); n > 0; n--) results.push(_valType(r));
    info.types.push(_sharedType(r.bytes, at, r.pos, params, results));
    info.typeKinds.push("func");
  } else if (form === 0x5f || form === 0x5e) {
    const fields = form === 0x5f ? r.count(2) : 1;
    for (let i = 0; i < fields; i++) {
      const peek = r.bytes[r.pos];
      if (peek === 0x78 || peek === 0x77) r.u8(); // packed i8 / i16
      else _valType(r);
      _mutability(r);
    }
    info.types.push(undefined);
    info.typeKinds.push(form === 0x5f ? "struct" : "array");
  } else {
    throw new _Deferred(at);
  }
}

function _subType(r: _Reader, info: ModuleInfo): void {
  const form = r.bytes[r.pos];
  if (form === 0x50 || form === 0x4f) {
    r.u8();
    for (let n = r.count(); n > 0; n--) r.u32();
  }
  _compositeType(r, info);
}

function _typeSection(r: _Reader, info: ModuleInfo): void {
  for (let n = r.count(); n > 0; n--) {
    if (r.pos < r.end && r.bytes[r.pos] === 0x4e) {
      r.u8();
      for (let m = r.count(); m > 0; m--) _subType(r, info);
    } else {
      _subType(r, info);
    }
  }
}

function _importSection(r: _Reader, info: ModuleInfo): void {
  for (let n = r.count(3); n > 0; n--) {
    const module = r.name();
    const name = r.name();
    const at = r.pos;
    const kind = r.u8();
    switch (kind) {
      case 0: {
        const typeIndex = r.u32();
        info.imports.push({
          module,
          name,
          kind: "function",
          typeIndex,
          type: info.types[typeIndex],
        });
        info.importedFunctionCount++;
        break;
      }
      case 1:
        info.imports.push({ module, name, kind: "table", type: _tableType(r) });
        break;
      case 2:
        info.imports.push({ module, name, kind: "memory", type: _limits(r) });
        break;
      case 3:
        info.imports.push({ module, name, kind: "global", type: _globalType(r) });
        break;
      case 4:
        info.imports.push({ module, name, kind: "tag", typeIndex: _tagType(r) });
        break;
      default:
        throw new _Deferred(at);
    }
  }
}

function _tagType(r: _Reader): number {
  const at = r.pos;
  if (r.u8() !== 0) throw new _Deferred(at); // the only attribute is 0, "exception"
  return r.u32();
}

function _tableSection(r: _Reader, info: ModuleInfo): void {
  for (let n = r.count(2); n > 0; n--) {
    if (r.pos < r.end && r.bytes[r.pos] === 0x40) {
      const at = r.pos;
      r.u8();
      if (r.u8() !== 0x00) throw new _Deferred(at);
      info.tables.push(_tableType(r));
      _constExpr(r);
    } else {
      info.tables.push(_tableType(r));
    }
  }
}

function _elementSection(r: _Reader, info: ModuleInfo): void {
  for (let n = r.count(); n > 0; n--) {
    const at = r.pos;
    const flags = r.u32();
    if (flags > 7) throw new _Deferred(at);
    const active = (flags & 0x01) === 0;
    const explicitTable = (flags & 0x02) !== 0;
    const expressions = (flags & 0x04) !== 0;
    if (active && explicitTable) r.u32();
    if (active) _constExpr(r);
    if (!active || explicitTable) {
      if (expressions) {
        _valType(r);
      } else {
        const kindAt = r.pos;
        if (r.u8() !== 0x00) throw new _Deferred(kindAt); // elemkind: only funcref
      }
    }
    for (let m = r.count(); m > 0; m--) {
      if (expressions) _constExpr(r);
      else r.u32();
    }
    info.elementCount++;
  }
}

// The function and code sections have an entry per function, 10,000 in a large app: their loops
// read one- and two-byte LEBs inline and fall back to the reader for anything else.

function _functionSection(r: _Reader, info: Pick<ModuleInfo, "functions">): void {
  const functions = info.functions;
  const bytes = r.bytes;
  const end = r.end;
  for (let n = r.count(); n > 0; n--) {
    const pos = r.pos;
    const byte = pos < end ? bytes[pos]! : 0x80;
    if (byte < 0x80) {
      functions.push(byte);
      r.pos = pos + 1;
    } else {
      functions.push(r.u32());
    }
  }
}

function _codeSection(r: _Reader, info: Pick<ModuleInfo, "codes">, section: SectionInfo): void {
  const bytes = r.bytes;
  const end = r.end;
  const codes = info.codes;
  // One reader serves every body's local declarations.
  const body = new _Reader(bytes, 0, 0, r.endReason);
  for (let n = r.count(); n > 0; n--) {
    let pos = r.pos;
    let size: number;
    const first = pos + 1 < end ? bytes[pos]! : 0x80;
    const second = pos + 1 < end ? bytes[pos + 1]! : 0x80;
    if (first < 0x80) {
      size = first;
      pos += 1;
    } else if (second < 0x80) {
      size = (first & 0x7f) | (second << 7);
      pos += 2;
    } else {
      size = r.u32();
      pos = r.pos;
    }
    const offset = pos;
    if (size > end - offset) r.fail(r.endReason, offset);
    r.pos = offset + size;
    if (size > 0 && bytes[offset] === 0) {
      codes.push({ offset, size, localCount: 0 }); // no local declarations
      continue;
    }
    body.pos = offset;
    body.end = offset + size;
    const code: CodeBody = { offset, size, localCount: 0 };
    try {
      for (let d = body.count(2); d > 0; d--) {
        code.localCount += body.u32();
        _valType(body);
      }
    } catch (e) {
      if (!(e instanceof _Deferred)) throw e;
      code.opaque = true;
      section.opaque = true;
    }
    codes.push(code);
  }
}

function _dataSection(r: _Reader, info: ModuleInfo): void {
  for (let n = r.count(); n > 0; n--) {
    const at = r.pos;
    const flags = r.u32();
    if (flags > 2) throw new _Deferred(at);
    const memory = flags === 2 ? r.u32() : 0;
    if (flags !== 1) _constExpr(r);
    const size = r.count();
    info.data.push({ mode: flags === 1 ? "passive" : "active", memory, size, offset: r.pos });
    r.skip(size);
  }
}

function _readSection(r: _Reader, info: ModuleInfo, section: SectionInfo): void {
  switch (section.id) {
    case 1:
      return _typeSection(r, info);
    case 2:
      return _importSection(r, info);
    case 3:
      return _functionSection(r, info);
    case 4:
      return _tableSection(r, info);
    case 5:
      for (let n = r.count(); n > 0; n--) info.memories.push(_limits(r));
      return;
    case 6:
      for (let n = r.count(3); n > 0; n--) {
        info.globals.push(_globalType(r));
        _constExpr(r);
      }
      return;
    case 7:
      for (let n = r.count(3); n > 0; n--) {
        const name = r.name();
        const at = r.pos;
        const kind = _EXPORT_KINDS[r.u8()];
        if (kind === undefined) throw new _Deferred(at);
        info.exports.push({ name, kind, index: r.u32() });
      }
      return;
    case 8:
      info.start = r.u32();
      return;
    case 9:
      return _elementSection(r, info);
    case 10:
      return _codeSection(r, info, section);
    case 11:
      return _dataSection(r, info);
    case 12:
      info.dataCount = r.u32();
      return;
    case 13:
      for (let n = r.count(2); n > 0; n--) info.tags.push(_tagType(r));
      return;
  }
}

function _nameMap(r: _Reader): Map<number, string> {
  const map = new Map<number, string>();
  for (let n = r.count(2); n > 0; n--) {
    const index = r.u32();
    map.set(index, r.name());
  }
  return map;
}

/** Decodes a function-names (1) or local-names (2) subsection into `names`. */
function _nameSubsection(
  id: number,
  sub: _Reader,
  names: { functions: Map<number, string>; locals: Map<number, Map<number, string>> },
): void {
  if (id === 1) {
    names.functions = _nameMap(sub);
  } else if (id === 2) {
    for (let n = sub.count(2); n > 0; n--) {
      const func = sub.u32();
      names.locals.set(func, _nameMap(sub));
    }
  }
}

/**
 * The `name` section, whose function and local names are decoded on first use: loading needs
 * only the module name, and decoding every name made a load with names 2-3x one without.
 * The result is what decoding it all at once gives, malformed parts included: each section's
 * subsections are decoded in order and the first failure ends that section.
 */
class _Names {
  module?: string;
  // Made on first use: most loads never ask.
  #functions: Map<number, string> | undefined;
  #locals: Map<number, Map<number, string>> | undefined;
  /** Per name section, in order: its function and local subsections not yet decoded. */
  #pending: { id: number; sub: _Reader }[][] = [];

  get functions(): Map<number, string> {
    this.#decode();
    return this.#functions ??= new Map();
  }

  set functions(map: Map<number, string>) {
    this.#decode();
    this.#functions = map;
  }

  get locals(): Map<number, Map<number, string>> {
    this.#decode();
    return this.#locals ??= new Map();
  }

  set locals(map: Map<number, Map<number, string>>) {
    this.#decode();
    this.#locals = map;
  }

  /** Reads one name section: the module name now, the rest when asked for. */
  read(r: _Reader): void {
    const pending: { id: number; sub: _Reader }[] = [];
    try {
      while (r.pos < r.end) {
        const id = r.u8();
        const size = r.u32();
        const start = r.pos;
        r.skip(size);
        const sub = new _Reader(r.bytes, start, start + size, r.endReason);
        if (id === 0) {
          // Out of the spec's order: it is reached only when the names before it decode.
          if (pending.length > 0) {
            this.#decode();
            this.#decodeSection(pending.splice(0));
          }
          this.module = sub.name();
        } else if (id === 1 || id === 2) {
          pending.push({ id, sub });
        }
      }
    } finally {
      if (pending.length > 0) this.#pending.push(pending);
    }
  }

  #decode(): void {
    const sections = this.#pending;
    this.#pending = [];
    for (const pending of sections) {
      try {
        this.#decodeSection(pending);
      } catch (e) {
        if (!(e instanceof LoadError)) throw e;
      }
    }
  }

  #decodeSection(pending: { id: number; sub: _Reader }[]): void {
    const target = {
      functions: this.#functions ??= new Map(),
      locals: this.#locals ??= new Map(),
    };
    try {
      for (const { id, sub } of pending) _nameSubsection(id, sub, target);
    } finally {
      this.#functions = target.functions;
    }
  }
}

function _dylinkMemInfo(r: _Reader, dylink: DylinkInfo): void {
  dylink.memorySize = r.u32();
  dylink.memoryAlign = r.u32();
  dylink.tableSize = r.u32();
  dylink.tableAlign = r.u32();
}

function _dylinkNeeded(r: _Reader, dylink: DylinkInfo): void {
  for (let n = r.count(); n > 0; n--) dylink.needed.push(r.name());
}

function _dylinkSection(r: _Reader, legacy: boolean): DylinkInfo {
  const dylink: DylinkInfo = {
    memorySize: 0,
    memoryAlign: 0,
    tableSize: 0,
    tableAlign: 0,
    needed: [],
  };
  if (legacy) {
    _dylinkMemInfo(r, dylink);
    _dylinkNeeded(r, dylink);
    return dylink;
  }
  while (r.pos < r.end) {
    const id = r.u8();
    const size = r.u32();
    const start = r.pos;
    r.skip(size);
    const sub = new _Reader(r.bytes, start, start + size, r.endReason);
    if (id === 1) _dylinkMemInfo(sub, dylink);
    else if (id === 2) _dylinkNeeded(sub, dylink);
  }
  return dylink;
}

function _customSection(r: _Reader, info: ModuleInfo, section: SectionInfo): void {
  const name = r.name();
  section.name = name;
  info.customs.push({ name, offset: r.pos, size: r.end - r.pos });
  // A malformed custom body never fails the load: the section is just left unparsed.
  try {
    if (name === "name") (info.names as _Names).read(r);
    else if (name === "dylink.0" || name === "dylink") {
      info.dylink = _dylinkSection(r, name === "dylink");
    }
  } catch (e) {
    if (!(e instanceof LoadError || e instanceof _Deferred)) throw e;
  }
  r.pos = r.end;
}

/**
 * Reads every section of a WebAssembly binary.
 *
 * @param bytes the binary
 * @returns what the module declares: types, imports, functions, exports, code locations, names
 * @throws {LoadError} for structural damage: bad magic or version, truncation, sizes that lie,
 *   malformed LEBs or UTF-8, sections out of order
 *
 * @example Read a minimal module
 * ```ts
 * import { readModule } from "./binary.ts";
 * import assert from "node:assert/strict";
 *
 * const info = readModule(new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]));
 * assert.equal(info.sections.length, 0);
 * ```
 */
export function readModule(bytes: Uint8Array): ModuleInfo {
  return _read(bytes);
}

/**
 * Reads a binary like {@linkcode readModule}, except that the code section's entries (a body
 * per function) are read on first use of `codes` or `sections`: V8 checks them when it
 * compiles, and walking every body's local declarations was most of a load's own cost in large
 * apps. Damage found elsewhere is reported as {@linkcode readModule} would, first in byte order.
 *
 * @param bytes the binary, to be compiled by V8 as well
 * @returns what {@linkcode readModule} returns for it
 * @throws {LoadError} as {@linkcode readModule}, except for damage inside the code section's
 *   entries (call {@linkcode readModule} when V8 rejects the binary)
 */
export function readValidModule(bytes: Uint8Array): ModuleInfo {
  const state = { skipped: false };
  try {
    return _read(bytes, state);
  } catch (error) {
    // Damage after the skipped bodies may not be the first: read them all to find out.
    if (state.skipped) readModule(bytes);
    throw error;
  }
}

function _read(bytes: Uint8Array, lazy?: { skipped: boolean }): ModuleInfo {
  const top = new _Reader(bytes, 0, bytes.length, "unexpected end");
  for (const byte of _MAGIC) {
    if (top.remaining === 0) top.fail("unexpected end");
    if (top.u8() !== byte) top.fail("magic header not detected", 0);
  }
  for (const byte of _VERSION) {
    if (top.remaining === 0) top.fail("unexpected end");
    if (top.u8() !== byte) top.fail("unknown binary version", 4);
  }

  const info = _emptyInfo();
  const sections = info.sectionList; // `info.sections` would read the bodies left waiting
  let seen = 0; // a bit per section id
  let lastRank = 0;
  let codeSection: SectionInfo | undefined;
  let functionSection: SectionInfo | undefined;
  let dataSection: SectionInfo | undefined;
  while (top.remaining > 0) {
    const idAt = top.pos;
    const id = top.u8();
    if (id >= 0x80) top.fail("malformed section id", idAt);
    if (id >= _SECTION_NAMES.length) top.fail("invalid section id", idAt);
    const sizeAt = top.pos;
    const size = top.u32();
    if (size > top.remaining) top.fail("unexpected end", sizeAt);
    const section: SectionInfo = { id, offset: top.pos, size };
    if (id !== 0) {
      if (seen & (1 << id)) top.fail("duplicate section", idAt);
      const rank = _SECTION_RANK[id]!;
      if (rank < lastRank) top.fail("section out of order", idAt);
      seen |= 1 << id;
      lastRank = rank;
    }
    sections.push(section);
    const r = new _Reader(bytes, top.pos, top.pos + size, "unexpected end of section or function");
    if (lazy && id === 10) {
      _deferCode(info, section, r);
      lazy.skipped = true;
      codeSection = section;
      top.pos = r.end;
      continue;
    }
    try {
      if (id === 0) _customSection(r, info, section);
      else _readSection(r, info, section);
    } catch (e) {
      if (!(e instanceof _Deferred)) throw e;
      section.opaque = true;
      r.pos = r.end;
    }
    if (r.pos !== r.end) r.fail("section size mismatch");
    top.pos = r.end;
    if (id === 3) functionSection = section;
    if (id === 10) codeSection = section;
    if (id === 11) dataSection = section;
  }

  if (lazy?.skipped) {
    // Counted without reading the bodies: the count is the section's first LEB.
    const count = new _Reader(
      bytes,
      codeSection!.offset,
      codeSection!.offset + codeSection!.size,
      "unexpected end of section or function",
    ).u32();
    if (info.functions.length !== count) {
      top.fail("function and code section have inconsistent lengths", codeSection!.offset);
    }
  } else if (info.functions.length !== info.codes.length) {
    top.fail(
      "function and code section have inconsistent lengths",
      codeSection?.offset ?? functionSection?.offset ?? bytes.length,
    );
  }
  if (
    info.dataCount !== undefined && !dataSection?.opaque && info.dataCount !== info.data.length
  ) {
    top.fail(
      "data count and data section have inconsistent lengths",
      dataSection?.offset ?? bytes.length,
    );
  }
  _trim(info);
  return info;
}

/**
 * Copies the lists a module keeps for its lifetime to their exact length: a list grown by
 * `push` keeps spare room (~0.9 KiB per idle app for request_handler's).
 */
function _trim(info: _Info): void {
  info.sectionList = info.sectionList.slice();
  info.types = info.types.slice();
  info.typeKinds = info.typeKinds.slice();
  info.imports = info.imports.slice();
  info.functions = info.functions.slice();
  info.globals = info.globals.slice();
  info.exports = info.exports.slice();
  info.data = info.data.slice();
}

/** Leaves the code section's bodies to be read on first use of `codes` or `sections`. */
function _deferCode(info: _Info, section: SectionInfo, r: _Reader): void {
  info.pending = function readBodies(codes: CodeBody[]): void {
    r.pos = section.offset;
    try {
      _codeSection(r, { codes }, section);
    } catch (e) {
      if (!(e instanceof _Deferred)) throw e;
      section.opaque = true; // the code section may mark itself opaque
    }
  };
}

/**
 * The wasm type of a function, by index in the function index space (imports first).
 *
 * @param info a read module
 * @param funcIndex the function index
 * @returns its type, or `undefined` when the index or its type index is out of range
 */
export function functionType(info: ModuleInfo, funcIndex: number): FuncType | undefined {
  if (funcIndex < info.importedFunctionCount) {
    let seen = 0;
    for (const imp of info.imports) {
      if (imp.kind !== "function") continue;
      if (seen++ === funcIndex) return imp.type;
    }
    return undefined;
  }
  const typeIndex = info.functions[funcIndex - info.importedFunctionCount];
  return typeIndex === undefined ? undefined : info.types[typeIndex];
}

/**
 * The type of an exported function, by export name.
 *
 * @param info a read module
 * @param name the export name
 * @returns its type, or `undefined` when there is no function export of that name
 */
export function exportedFunctionType(info: ModuleInfo, name: string): FuncType | undefined {
  const exp = info.exports.find((e) => e.name === name && e.kind === "function");
  return exp === undefined ? undefined : functionType(info, exp.index);
}

/**
 * Formats a function type the way messages print it.
 *
 * @param type the function type
 * @returns text like `(i32, i32) -> i32`, `() -> ()` or `(f64) -> (i32, i64)`
 *
 * @example Format a signature
 * ```ts
 * import { formatFuncType } from "./binary.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(formatFuncType({ params: ["i32", "i32"], results: ["i32"] }), "(i32, i32) -> i32");
 * ```
 */
export function formatFuncType(type: FuncType): string {
  const results = type.results.length === 1 ? type.results[0]! : `(${type.results.join(", ")})`;
  return `(${type.params.join(", ")}) -> ${results}`;
}
