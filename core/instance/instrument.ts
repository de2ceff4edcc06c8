/**
 * The load-time rewriter: compiles execution limits into an app's binary.
 *
 * - **Metering** (deadlines and fuel): a check at every function entry and loop header
 *   subtracts the static instruction count of the code it guards from a budget global and
 *   calls the host's `tick` when the budget goes negative. The host refills it, or throws to
 *   stop the app. One mechanism serves both modes: fuel counts what was charged, a deadline
 *   reads the clock only when a slice runs out (no ticker Worker, no shared memory, so it
 *   works the same in a browser page without cross-origin isolation).
 * - **Stack limit**: each function adds its frame estimate to a depth global on entry and
 *   restores it on exit (the body is wrapped in a block, `return` becomes a branch to it);
 *   past the limit the host's `trap` throws `wasm operand stack overflow`.
 * - **Shadow stack**: every write of clang's `__stack_pointer` is checked against the bottom
 *   of the stack region (`wasm auxiliary stack overflow`).
 * - **Memory cap**: each defined memory's maximum is lowered to the cap.
 * - A memory the module defines but does not export is exported as `__mr_memory`.
 *
 * The rewriter reads the binary itself (every instruction, including SIMD, atomics, bulk
 * memory, exceptions and GC); what it cannot read is a {@linkcode LoadError}, never a
 * silently unguarded app.
 *
 * @module
 */

import type { ModuleInfo } from "../module/binary.ts";
import { LoadError } from "../../sdk/errors.ts";
import { VALTYPE_BYTES } from "../../sdk/wasm_types.ts";
import {
  BUDGET_EXPORT,
  DEPTH_EXPORT,
  LIMITS_MODULE,
  MEMORY_EXPORT,
  TRAP_AUX_STACK,
  TRAP_STACK,
} from "./limits.ts";

/** What to compile into a module. */
export interface InstrumentOptions {
  /** Add budget checks at function entries and loop headers (deadlines and fuel). */
  meter?: boolean;
  /** Stack limit in bytes of estimated frames; adds the call-depth check. */
  stackLimit?: number;
  /** Check writes of the C shadow stack pointer against the bottom of its region. */
  shadowStack?: boolean;
  /** Most 64 KiB pages each defined memory may grow to. */
  maxMemoryPages?: number;
}

export {
  BUDGET_EXPORT,
  DEPTH_EXPORT,
  LIMITS_MODULE,
  type LimitsImports,
  MEMORY_EXPORT,
  TRAP_AUX_STACK,
  TRAP_STACK,
} from "./limits.ts";

/**
 * The bytes of each estimated stack frame: a fixed header plus 8 bytes per parameter and
 * local, a model of an interpreter frame like WAMR's.
 *
 * @param slots parameters plus declared locals
 * @returns the frame estimate in bytes
 */
export function frameBytes(slots: number): number {
  return 32 + 8 * slots;
}

/**
 * Rewrites a module's binary to enforce the given limits.
 *
 * @param bytes the original binary (already read into `info`)
 * @param info what the reader learned from it
 * @param options what to compile in
 * @returns the rewritten binary
 * @throws {LoadError} when the binary holds something the rewriter cannot read
 *
 * @example Cap a module's memory at one page
 * ```ts
 * import { instrumentModule } from "./instrument.ts";
 * import { readModule } from "../module/binary.ts";
 * import assert from "node:assert/strict";
 *
 * // (module (memory 1))
 * const bytes = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 5, 3, 1, 0, 1]);
 * const out = instrumentModule(bytes, readModule(bytes), { maxMemoryPages: 1 });
 * assert.deepEqual(readModule(out).memories[0]?.max, 1);
 * ```
 */
export function instrumentModule(
  bytes: Uint8Array,
  info: ModuleInfo,
  options: InstrumentOptions,
): Uint8Array {
  return new _Rewriter(bytes, info, options).run();
}

// --- byte encoding -------------------------------------------------------------------------

/** The few names the rewriter writes, encoded once. */
const _names = new Map<string, Uint8Array>();

class _Out {
  #buf: Uint8Array;
  length = 0;

  constructor(capacity = 256) {
    this.#buf = new Uint8Array(capacity);
  }

  #reserve(n: number): void {
    if (this.length + n <= this.#buf.length) return;
    let size = this.#buf.length * 2;
    while (size < this.length + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.#buf.subarray(0, this.length));
    this.#buf = next;
  }
  byte(b: number): this {
    this.#reserve(1);
    this.#buf[this.length++] = b;
    return this;
  }
  bytes(src: Uint8Array): this {
    return this.range(src, 0, src.length);
  }
  /** Copies `src[start..end)`; short runs byte by byte, which beats making a view. */
  range(src: Uint8Array, start: number, end: number): this {
    const n = end - start;
    this.#reserve(n);
    if (n > 32) {
      this.#buf.set(src.subarray(start, end), this.length);
    } else {
      const buf = this.#buf;
      for (let i = 0; i < n; i++) buf[this.length + i] = src[start + i]!;
    }
    this.length += n;
    return this;
  }
  u32(value: number): this {
    let v = value >>> 0;
    do {
      let b = v & 0x7f;
      v >>>= 7;
      if (v !== 0) b |= 0x80;
      this.byte(b);
    } while (v !== 0);
    return this;
  }
  s32(value: number): this {
    let v = value | 0;
    for (;;) {
      const b = v & 0x7f;
      v >>= 7;
      if ((v === 0 && (b & 0x40) === 0) || (v === -1 && (b & 0x40) !== 0)) return this.byte(b);
      this.byte(b | 0x80);
    }
  }
  name(text: string): this {
    let encoded = _names.get(text);
    if (!encoded) _names.set(text, encoded = new TextEncoder().encode(text));
    return this.u32(encoded.length).bytes(encoded);
  }
  /** Empties the buffer for reuse. */
  reset(): this {
    this.length = 0;
    return this;
  }
  /** Writes a section: id, size, body. */
  section(id: number, body: _Out): this {
    return this.byte(id).u32(body.length).bytes(body.view());
  }
  view(): Uint8Array {
    return this.#buf.subarray(0, this.length);
  }
}

// --- byte decoding -------------------------------------------------------------------------

class _In {
  constructor(readonly bytes: Uint8Array, public pos: number, readonly end: number) {}

  fail(what: string): never {
    throw new LoadError(`cannot instrument: ${what}`, this.pos);
  }
  u8(): number {
    if (this.pos >= this.end) this.fail("unexpected end");
    return this.bytes[this.pos++]!;
  }
  u32(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      const b = this.u8();
      if (shift < 32) result |= (b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result >>> 0;
      shift += 7;
      if (shift > 35) this.fail("integer too long");
    }
  }
  /** Skips a LEB128 of any width (signed or unsigned). */
  leb(): void {
    for (let n = 0; n < 10; n++) {
      if ((this.u8() & 0x80) === 0) return;
    }
    this.fail("integer too long");
  }
  s32(): number {
    let result = 0;
    let shift = 0;
    let b: number;
    do {
      b = this.u8();
      if (shift < 32) result |= (b & 0x7f) << shift;
      shift += 7;
      if (shift > 35) this.fail("integer too long");
    } while ((b & 0x80) !== 0);
    if (shift < 32 && (b & 0x40) !== 0) result |= -1 << shift;
    return result | 0;
  }
  skip(n: number): void {
    if (this.pos + n > this.end) this.fail("unexpected end");
    this.pos += n;
  }
  skipName(): void {
    this.skip(this.u32());
  }
  /** A value type, with the multi-byte reference forms. */
  valType(): void {
    const b = this.u8();
    if (b === 0x63 || b === 0x64) this.leb(); // (ref null? ht): heap type is an s33
  }
}

// --- instructions --------------------------------------------------------------------------

/** What the scanner tells the rewriter about one instruction. */
const enum _Op {
  Plain,
  Block, // block, if, try, try_table: opens a label
  Loop,
  Else, // else, catch, catch_all: stays at the same depth
  End,
  Return,
  Branch, // br, br_if, br_table
  ReturnCall, // return_call, return_call_indirect, return_call_ref
  Call, // call f: function index to shift
  CallIndirect, // call_indirect, call_ref
  RefFunc, // ref.func f
  GlobalSet,
}

/** A memarg: alignment (with the multi-memory flag) then offset. */
function _memarg(r: _In): void {
  const align = r.u32();
  if ((align & 0x40) !== 0) r.u32();
  r.leb();
}

/** A block type: 0x40, a value type, or an s33 type index. */
function _blockType(r: _In): void {
  const b = r.bytes[r.pos];
  if (b === 0x40) r.pos++;
  else if (b !== undefined && b >= 0x40 && b < 0x80 && b !== 0x63 && b !== 0x64) r.pos++;
  else if (b === 0x63 || b === 0x64) r.valType();
  else r.leb();
}

function _gcOp(r: _In): void {
  const sub = r.u32();
  if (sub <= 1 || sub === 6 || sub === 7 || sub === 11 || sub === 12 || sub === 13) r.u32();
  else if (sub <= 5) (r.u32(), r.u32());
  else if (sub === 8 || sub === 9 || sub === 10 || sub === 17 || sub === 18 || sub === 19) {
    r.u32();
    r.u32();
  } else if (sub === 14 || sub === 16) r.u32();
  else if (sub === 15 || (sub >= 26 && sub <= 30)) return;
  else if (sub >= 20 && sub <= 23) r.leb();
  else if (sub === 24 || sub === 25) (r.u8(), r.u32(), r.leb(), r.leb());
  else r.fail(`unknown GC instruction 0xfb ${sub}`);
}

function _miscOp(r: _In): void {
  const sub = r.u32();
  if (sub <= 7) return;
  if (sub === 8 || sub === 10 || sub === 12 || sub === 14) (r.u32(), r.u32());
  else if (sub <= 17) r.u32();
  else r.fail(`unknown instruction 0xfc ${sub}`);
}

function _simdOp(r: _In): void {
  const sub = r.u32();
  if (sub <= 11 || sub === 92 || sub === 93) _memarg(r);
  else if (sub === 12 || sub === 13) r.skip(16);
  else if (sub >= 21 && sub <= 34) r.skip(1);
  else if (sub >= 84 && sub <= 91) (_memarg(r), r.skip(1));
  else if (sub > 0x113) r.fail(`unknown SIMD instruction 0xfd ${sub}`);
}

function _atomicOp(r: _In): void {
  const sub = r.u32();
  if (sub === 3) r.skip(1);
  else if (sub <= 2 || (sub >= 0x10 && sub <= 0x4e)) _memarg(r);
  else r.fail(`unknown atomic instruction 0xfe ${sub}`);
}

/**
 * Reads one instruction at `r.pos`, leaves `r.pos` after it, and says what it is. For `Call`
 * and `RefFunc` the function index starts at `indexAt`.
 */
function _scan(r: _In, found: { indexAt: number; index: number }): _Op {
  const op = r.u8();
  switch (op) {
    case 0x02:
    case 0x04:
    case 0x06:
      _blockType(r);
      return _Op.Block;
    case 0x03:
      _blockType(r);
      return _Op.Loop;
    case 0x1f: {
      _blockType(r);
      for (let n = r.u32(); n > 0; n--) {
        const kind = r.u8();
        if (kind <= 1) r.u32();
        r.u32();
      }
      return _Op.Block;
    }
    case 0x05:
    case 0x19:
      return _Op.Else;
    case 0x07:
      r.u32();
      return _Op.Else;
    case 0x0b:
      return _Op.End;
    case 0x18: // delegate closes its try
      r.u32();
      return _Op.End;
    case 0x0f:
      return _Op.Return;
    case 0x10:
    case 0x12:
    case 0xd2:
      found.indexAt = r.pos;
      found.index = r.u32();
      return op === 0x12 ? _Op.ReturnCall : op === 0x10 ? _Op.Call : _Op.RefFunc;
    case 0x13:
      r.u32();
      r.u32();
      return _Op.ReturnCall;
    case 0x11:
      r.u32();
      r.u32();
      return _Op.CallIndirect;
    case 0x14:
      r.u32();
      return _Op.CallIndirect;
    case 0x15:
      r.u32();
      return _Op.ReturnCall;
    case 0x24:
      found.indexAt = r.pos;
      found.index = r.u32();
      return _Op.GlobalSet;
    case 0x0c:
    case 0x0d:
      r.u32();
      return _Op.Branch;
    case 0x0e:
      for (let n = r.u32() + 1; n > 0; n--) r.u32();
      return _Op.Branch;
    case 0x08:
    case 0x09:
    case 0x20:
    case 0x21:
    case 0x22:
    case 0x23:
    case 0x25:
    case 0x26:
    case 0x3f:
    case 0x40:
    case 0xd5:
    case 0xd6:
      r.u32();
      return _Op.Plain;
    case 0x1c:
      for (let n = r.u32(); n > 0; n--) r.valType();
      return _Op.Plain;
    case 0x41:
    case 0x42:
    case 0xd0:
      r.leb();
      return _Op.Plain;
    case 0x43:
      r.skip(4);
      return _Op.Plain;
    case 0x44:
      r.skip(8);
      return _Op.Plain;
    case 0xfb:
      _gcOp(r);
      return _Op.Plain;
    case 0xfc:
      _miscOp(r);
      return _Op.Plain;
    case 0xfd:
      _simdOp(r);
      return _Op.Plain;
    case 0xfe:
      _atomicOp(r);
      return _Op.Plain;
  }
  if (op >= 0x28 && op <= 0x3e) {
    _memarg(r);
    return _Op.Plain;
  }
  if (
    op === 0x00 || op === 0x01 || op === 0x0a || op === 0x1a || op === 0x1b ||
    (op >= 0x45 && op <= 0xc4) || op === 0xd1 || op === 0xd3 || op === 0xd4
  ) {
    return _Op.Plain;
  }
  r.pos--;
  return r.fail(`unknown opcode 0x${op.toString(16).padStart(2, "0")}`);
}

// --- the rewriter --------------------------------------------------------------------------

const _I32 = 0x7f;

/** Where the shadow stack lives, for the `__stack_pointer` check. */
interface _ShadowStack {
  global: number;
  low: number;
}

/** An open block, loop, if or try while a body is scanned. */
interface _Control {
  loop: boolean;
  /** Whether the loop runs inside the labels of the refill path (decided at its end). */
  wrapped: boolean;
  /** Whether the loop turned out to be counted: no check of its own. */
  counted: boolean;
  /** Offset of its first instruction. */
  bodyStart: number;
  /** For a loop that may be counted: locals known to hold a constant when it is entered. */
  starts?: Map<number, number> | undefined;
  /** Writes of each local inside the loop. */
  writes?: Map<number, number>;
  /** Branches back to the loop's header. */
  branches?: number;
}

/** Largest total cost a counted loop may have and still go unchecked (about a millisecond). */
const _COUNTED_COST_MAX = 1 << 20;

/** The relative depths a `br`, `br_if` or `br_table` at `at` names. */
function _branchLabels(bytes: Uint8Array, at: number): number[] {
  const imm = new _In(bytes, at + 1, bytes.length);
  const n = bytes[at] === 0x0e ? imm.u32() + 1 : 1;
  const labels: number[] = [];
  for (let i = 0; i < n; i++) labels.push(imm.u32());
  return labels;
}

/**
 * How many times a loop runs at most, when it is a counted loop clang writes: entered with
 * `I = K` (a constant stored in the straight-line code before it), ending in `local.get I; i32.const S; i32.add; local.tee I; i32.const N;
 * i32.ne|lt_s|lt_u; br_if 0`, with no other write of `I` and no other branch back. Undefined
 * when it is not such a loop or the count is not certain.
 */
function _countedTrips(
  bytes: Uint8Array,
  loop: _Control,
  recent: readonly number[],
): number | undefined {
  if (!loop.starts || loop.branches !== 1 || recent.length < 7) return undefined;
  const tail = recent.slice(-7);
  if (tail[0]! < loop.bodyStart) return undefined;
  const at = (n: number) => new _In(bytes, tail[n]! + 1, bytes.length);
  const ops = tail.map((p) => bytes[p]);
  if (
    ops[0] !== 0x20 || ops[1] !== 0x41 || ops[2] !== 0x6a || ops[3] !== 0x22 ||
    ops[4] !== 0x41 || ops[6] !== 0x0d || at(6).u32() !== 0
  ) {
    return undefined;
  }
  const local = at(0).u32();
  const start = loop.starts.get(local);
  if (at(3).u32() !== local || start === undefined || loop.writes?.get(local) !== 1) {
    return undefined;
  }
  const step = at(1).s32();
  const end = at(4).s32();
  if (step <= 0) return undefined;
  let span: number;
  if (ops[5] === 0x47) { // ne: exact, and never wraps around
    if (end <= start || (end - start) % step !== 0) return undefined;
    return (end - start) / step;
  } else if (ops[5] === 0x48) { // lt_s
    if (start >= end || end - 1 + step > 0x7fffffff) return undefined;
    span = end - start;
  } else if (ops[5] === 0x49) { // lt_u
    const u = end >>> 0;
    if ((start >>> 0) >= u || u - 1 + step > 0xffffffff) return undefined;
    span = u - (start >>> 0);
  } else {
    return undefined;
  }
  return Math.ceil(span / step);
}

/** One change to a function body: at `at`, drop `skip` bytes and write what `emit` writes. */
interface _Edit {
  at: number;
  skip: number;
  emit: (out: _Out) => void;
}

class _Rewriter {
  readonly #bytes: Uint8Array;
  readonly #info: ModuleInfo;
  readonly #opts: InstrumentOptions;
  readonly #addImports: boolean;
  /** How far defined functions move: the number of imports we add. */
  readonly #shift: number;
  readonly #importedGlobals: number;
  readonly #budgetGlobal: number;
  readonly #depthGlobal: number;
  readonly #tickType: number;
  readonly #trapType: number;
  readonly #tickFunc: number;
  readonly #trapFunc: number;
  /** Extra types appended to the type section: `[] -> results` for multi-value wrappers. */
  readonly #extraTypes: string[][] = [];
  readonly #shadow: _ShadowStack | undefined;
  /** Where each function body is assembled before it is copied behind its size. */
  readonly #scratch = new _Out(4096);

  constructor(bytes: Uint8Array, info: ModuleInfo, options: InstrumentOptions) {
    this.#bytes = bytes;
    this.#info = info;
    this.#opts = options;
    const opaque = info.sections.find((s) => s.opaque);
    if (opaque) {
      throw new LoadError(
        "cannot instrument: a section holds constructs the reader does not model",
        opaque.offset,
      );
    }
    this.#addImports = options.meter === true || options.stackLimit !== undefined ||
      options.shadowStack === true;
    this.#shift = this.#addImports ? 2 : 0;
    this.#importedGlobals = info.imports.filter((i) => i.kind === "global").length;
    const globals = this.#importedGlobals + info.globals.length;
    this.#budgetGlobal = globals;
    this.#depthGlobal = globals + 1;
    this.#tickType = info.types.length;
    this.#trapType = info.types.length + 1;
    this.#tickFunc = info.importedFunctionCount;
    this.#trapFunc = info.importedFunctionCount + 1;
    this.#shadow = options.shadowStack ? this.#findShadowStack() : undefined;
  }

  run(): Uint8Array {
    const info = this.#info;
    const out = new _Out(this.#bytes.length + (this.#bytes.length >> 1) + 256);
    out.range(this.#bytes, 0, 8);
    const ids = new Set(info.sections.map((s) => s.id));
    // Sections we may have to create, keyed by the id they are written before.
    const pending = new Map<number, number>();
    const need = (id: number, before: number[]) => {
      if (!ids.has(id)) pending.set(id, before.find((b) => ids.has(b)) ?? -1);
    };
    if (this.#addImports) {
      need(1, [2, 3, 4, 5, 13, 6, 7, 8, 9, 12, 10, 11]);
      need(2, [3, 4, 5, 13, 6, 7, 8, 9, 12, 10, 11]);
      need(6, [7, 8, 9, 12, 10, 11]);
      need(7, [8, 9, 12, 10, 11]);
    } else if (this.#needsMemoryExport()) {
      need(7, [8, 9, 12, 10, 11]);
    }
    const writeCreated = (before: number) => {
      for (const [id, at] of pending) {
        if (at !== before) continue;
        this.#writeSection(out, id, undefined);
        pending.delete(id);
      }
    };
    for (const section of info.sections) {
      if (section.id !== 0) writeCreated(section.id);
      this.#writeSection(out, section.id, section);
    }
    writeCreated(-1);
    return out.view().slice();
  }

  /** Writes one section, rewritten when it needs to be; `section` undefined creates it. */
  #writeSection(
    out: _Out,
    id: number,
    section: { offset: number; size: number; name?: string } | undefined,
  ): void {
    const body = (s: { offset: number; size: number }) =>
      new _In(this.#bytes, s.offset, s.offset + s.size);
    const copy = () => {
      const s = section!;
      // id, then the original size LEB and body.
      out.byte(id).u32(s.size).range(this.#bytes, s.offset, s.offset + s.size);
    };
    if (id === 0) {
      // Function indices move, so the name section would lie; V8 only uses it in traces.
      if (section!.name === "name" && this.#shift !== 0) return;
      return copy();
    }
    const rewritten = this.#rewrite(id, section ? body(section) : undefined);
    if (rewritten === undefined) return copy();
    out.section(id, rewritten);
  }

  /** The new body of a section, or undefined to copy it unchanged. */
  #rewrite(id: number, r: _In | undefined): _Out | undefined {
    switch (id) {
      case 1:
        return this.#addImports ? this.#typeSection(r) : undefined;
      case 2:
        return this.#addImports ? this.#importSection(r) : undefined;
      case 5:
        return this.#opts.maxMemoryPages === undefined ? undefined : this.#memorySection(r!);
      case 6:
        return this.#addImports ? this.#globalSection(r) : undefined;
      case 7:
        return this.#shift || this.#addImports || this.#needsMemoryExport()
          ? this.#exportSection(r)
          : undefined;
      case 8:
        return this.#shift ? new _Out().u32(this.#func(r!.u32())) : undefined;
      case 9:
        return this.#shift ? this.#elementSection(r!) : undefined;
      case 10:
        return this.#addImports ? this.#codeSection(r!) : undefined;
    }
    return undefined;
  }

  #func(index: number): number {
    return index < this.#info.importedFunctionCount ? index : index + this.#shift;
  }

  // --- types and imports --------------------------------------------------------------------

  #typeSection(r: _In | undefined): _Out {
    // Wrapper block types are only known after the code is scanned, so scan their need now.
    this.#collectWrapperTypes();
    const count = r ? r.u32() : 0;
    const out = new _Out().u32(count + (this.#addImports ? 2 : 0) + this.#extraTypes.length);
    if (r) out.range(r.bytes, r.pos, r.end);
    if (this.#addImports) {
      out.byte(0x60).u32(1).byte(_I32).u32(1).byte(_I32); // tick: (i32) -> i32
      out.byte(0x60).u32(1).byte(_I32).u32(0); // trap: (i32) -> ()
    }
    for (const results of this.#extraTypes) {
      out.byte(0x60).u32(0).u32(results.length);
      for (const t of results) out.byte(VALTYPE_BYTES[t]!);
    }
    return out;
  }

  /** Records a `[] -> results` type for every function with several results. */
  #collectWrapperTypes(): void {
    for (const typeIndex of this.#info.functions) {
      const results = this.#info.types[typeIndex]?.results ?? [];
      if (results.length < 2) continue;
      const key = results.join(",");
      if (!this.#extraTypes.some((t) => t.join(",") === key)) this.#extraTypes.push(results);
    }
  }

  #importSection(r: _In | undefined): _Out {
    const count = r ? r.u32() : 0;
    const out = new _Out().u32(count + 2);
    if (r) out.range(r.bytes, r.pos, r.end);
    out.name(LIMITS_MODULE).name("tick").byte(0x00).u32(this.#tickType);
    out.name(LIMITS_MODULE).name("trap").byte(0x00).u32(this.#trapType);
    return out;
  }

  // --- memory, globals, exports, elements ---------------------------------------------------

  #memorySection(r: _In): _Out {
    const cap = this.#opts.maxMemoryPages!;
    const count = r.u32();
    const out = new _Out().u32(count);
    for (let i = 0; i < count; i++) {
      const flags = r.u8();
      if ((flags & 0x04) !== 0) {
        r.fail("a 64-bit memory cannot be capped");
      }
      const min = r.u32();
      const max = (flags & 0x01) !== 0 ? r.u32() : undefined;
      if (min > cap) {
        throw new LoadError(
          `the app's memory starts at ${min} pages, more than the ${cap}-page memory limit`,
        );
      }
      out.byte(flags | 0x01).u32(min).u32(Math.min(max ?? cap, cap));
    }
    return out;
  }

  #globalSection(r: _In | undefined): _Out {
    const count = r ? r.u32() : 0;
    const out = new _Out().u32(count + (this.#addImports ? 2 : 0));
    for (let i = 0; i < count; i++) {
      const start = r!.pos;
      r!.valType();
      r!.u8();
      out.range(r!.bytes, start, r!.pos);
      this.#constExpr(r!, out);
    }
    if (this.#addImports) {
      out.byte(_I32).byte(1).byte(0x41).s32(0).byte(0x0b); // budget
      out.byte(_I32).byte(1).byte(0x41).s32(0).byte(0x0b); // depth
    }
    return out;
  }

  #needsMemoryExport(): boolean {
    return this.#info.memories.length > 0 &&
      !this.#info.exports.some((e) => e.kind === "memory" && e.index === 0) &&
      !this.#info.imports.some((i) => i.kind === "memory");
  }

  #exportSection(r: _In | undefined): _Out {
    const count = r ? r.u32() : 0;
    const extra = (this.#addImports ? 2 : 0) + (this.#needsMemoryExport() ? 1 : 0);
    const out = new _Out().u32(count + extra);
    for (let i = 0; i < count; i++) {
      const start = r!.pos;
      r!.skipName();
      const kind = r!.u8();
      out.range(r!.bytes, start, r!.pos);
      const index = r!.u32();
      out.u32(kind === 0 ? this.#func(index) : index);
    }
    if (this.#addImports) {
      out.name(BUDGET_EXPORT).byte(0x03).u32(this.#budgetGlobal);
      out.name(DEPTH_EXPORT).byte(0x03).u32(this.#depthGlobal);
    }
    if (this.#needsMemoryExport()) out.name(MEMORY_EXPORT).byte(0x02).u32(0);
    return out;
  }

  /** Copies a constant expression, moving `ref.func` indices. */
  #constExpr(r: _In, out: _Out): void {
    const found = { indexAt: 0, index: 0 };
    for (;;) {
      const start = r.pos;
      const op = _scan(r, found);
      if (op === _Op.RefFunc) {
        out.range(r.bytes, start, found.indexAt).u32(this.#func(found.index));
      } else {
        out.range(r.bytes, start, r.pos);
      }
      if (op === _Op.End) return;
    }
  }

  #funcVec(r: _In, out: _Out): void {
    const n = r.u32();
    out.u32(n);
    for (let i = 0; i < n; i++) out.u32(this.#func(r.u32()));
  }

  #exprVec(r: _In, out: _Out): void {
    const n = r.u32();
    out.u32(n);
    for (let i = 0; i < n; i++) this.#constExpr(r, out);
  }

  #elementSection(r: _In): _Out {
    const count = r.u32();
    const out = new _Out().u32(count);
    for (let i = 0; i < count; i++) {
      const flags = r.u32();
      out.u32(flags);
      if (flags > 7) r.fail(`unknown element segment flags ${flags}`);
      if (flags === 2 || flags === 6) out.u32(r.u32()); // table index
      if ((flags & 0x01) === 0) this.#constExpr(r, out); // active: offset
      if ((flags & 0x03) !== 0) {
        // elemkind (0x00) or reference type
        const start = r.pos;
        if ((flags & 0x04) !== 0) r.valType();
        else r.u8();
        out.range(r.bytes, start, r.pos);
      }
      if ((flags & 0x04) !== 0) this.#exprVec(r, out);
      else this.#funcVec(r, out);
    }
    return out;
  }

  // --- shadow stack -------------------------------------------------------------------------

  /**
   * Finds clang's `__stack_pointer`: the first defined global when it is a mutable i32
   * starting at a 16-aligned address (wasm-ld always writes it first), and the bottom of its
   * region: the end of the data when the stack sits above it, else 0.
   */
  #findShadowStack(): _ShadowStack | undefined {
    const info = this.#info;
    const imported = info.imports.some((i) => i.kind === "global" && i.name === "__stack_pointer");
    const first = info.globals[0];
    if (imported || !first || first.type !== "i32" || !first.mutable) return undefined;
    const section = info.sections.find((s) => s.id === 6)!;
    const r = new _In(this.#bytes, section.offset, section.offset + section.size);
    r.u32();
    r.valType();
    r.u8();
    if (r.u8() !== 0x41) return undefined;
    const top = r.s32();
    if (r.u8() !== 0x0b || top <= 0 || top % 16 !== 0) return undefined;
    let dataEnd = 0;
    for (const exp of info.exports) {
      if (exp.kind === "global" && (exp.name === "__data_end" || exp.name === "__stack_low")) {
        const value = this.#globalInit(exp.index);
        if (value !== undefined && value < top) dataEnd = Math.max(dataEnd, value);
      }
    }
    return { global: this.#importedGlobals, low: dataEnd };
  }

  /** The i32.const a defined global starts at, if that is all its initializer is. */
  #globalInit(index: number): number | undefined {
    const defined = index - this.#importedGlobals;
    if (defined < 0) return undefined;
    const section = this.#info.sections.find((s) => s.id === 6)!;
    const r = new _In(this.#bytes, section.offset, section.offset + section.size);
    const count = r.u32();
    const found = { indexAt: 0, index: 0 };
    for (let i = 0; i < count; i++) {
      r.valType();
      r.u8();
      if (i === defined) {
        if (r.u8() !== 0x41) return undefined;
        const value = r.s32();
        return r.u8() === 0x0b ? value : undefined;
      }
      while (_scan(r, found) !== _Op.End);
    }
    return undefined;
  }

  // --- code ---------------------------------------------------------------------------------

  #codeSection(r: _In): _Out {
    const count = r.u32();
    const out = new _Out(r.end - r.pos + (r.end - r.pos >> 1) + 64).u32(count);
    for (let i = 0; i < count; i++) {
      const size = r.u32();
      const end = r.pos + size;
      const body = this.#body(new _In(r.bytes, r.pos, end), i);
      out.u32(body.length).bytes(body.view());
      r.pos = end;
    }
    return out;
  }

  /**
   * Looks at a body once before rewriting it: whether it has loops, and whether its loops
   * can be wrapped so the budget call sits outside them (every branch is `br`, `br_if` or
   * `br_table`, no loop takes parameters).
   */
  #survey(r: _In): { loops: boolean; wrappable: boolean } {
    const found = { indexAt: 0, index: 0 };
    let loops = false;
    let wrappable = true;
    while (r.pos < r.end) {
      const at = r.pos;
      const code = r.bytes[at]!;
      const op = _scan(r, found);
      if (op === _Op.Loop) {
        loops = true;
        const b = r.bytes[at + 1]!;
        const typed = b < 0x40 || b >= 0x80;
        if (typed) {
          const index = new _In(r.bytes, at + 1, r.end).s32();
          if ((this.#info.types[index]?.params.length ?? 1) > 0) wrappable = false;
        }
      } else if (
        code === 0x06 || code === 0x1f || code === 0x18 || code === 0x09 || code === 0xd5 ||
        code === 0xd6 || (code === 0xfb && (r.bytes[at + 1] === 24 || r.bytes[at + 1] === 25))
      ) {
        wrappable = false;
      }
    }
    return { loops, wrappable };
  }

  /** Rewrites one function body. */
  #body(r: _In, defined: number): _Out {
    const info = this.#info;
    const type = info.types[info.functions[defined]!];
    if (!type) r.fail(`function ${defined + info.importedFunctionCount} has no function type`);
    const meter = this.#opts.meter === true;
    const stack = this.#opts.stackLimit !== undefined;

    // Locals: copy the declarations and add three i32 scratch locals.
    const groups = r.u32();
    const localsStart = r.pos;
    let declared = 0;
    for (let g = 0; g < groups; g++) {
      declared += r.u32();
      r.valType();
    }
    const locals = r.bytes.subarray(localsStart, r.pos);
    const tmp = type.params.length + declared;
    const saved = tmp + 1;
    const budget = tmp + 2;
    const g = this.#budgetGlobal;
    const codeStart = r.pos;
    const survey = this.#survey(new _In(r.bytes, codeStart, r.end));
    // A function with loops keeps the budget in a local (a register in the loop), writes it
    // back around calls and at its exits, and runs each loop inside two new labels so the
    // call that refills the budget sits outside the loop (V8 optimizes call-free loops
    // much better). Other functions check the global once at entry.
    const local = meter && survey.loops;
    const wrapLoops = local && survey.wrappable;
    const wrapped = stack || local;

    const edits: _Edit[] = [];
    const found = { indexAt: 0, index: 0 };
    const controls: _Control[] = [];
    const recent: number[] = []; // start offsets of the last few instructions
    // Locals holding a known constant in the current straight-line code.
    const consts = new Map<number, number>();
    const regions: { cost: number }[] = [];
    const newRegion = () => {
      const region = { cost: 0 };
      regions.push(region);
      return region;
    };
    /**
     * Where a branch of relative depth `d` goes once loops are wrapped: 3 more labels per
     * wrapped loop it leaves. Known only when the loops it leaves are closed, so it is a
     * function called at emit time.
     */
    const relabel = (d: number): () => number => {
      const left = controls.slice(Math.max(0, controls.length - d));
      return () => d + 3 * left.filter((c) => c.wrapped).length;
    };
    const writeBack = (out: _Out) => {
      if (local) out.byte(0x20).u32(budget).byte(0x24).u32(g);
    };
    const reload = (out: _Out) => {
      if (local) out.byte(0x23).u32(g).byte(0x21).u32(budget);
    };
    const leave = (out: _Out) => {
      writeBack(out);
      if (stack) out.byte(0x20).u32(saved).byte(0x24).u32(this.#depthGlobal);
    };
    const frame = frameBytes(type.params.length + declared);
    let region = newRegion();
    const entry = region;
    edits.push({
      at: codeStart,
      skip: 0,
      emit: (out) => {
        if (local) out.byte(0x23).u32(g).byte(0x21).u32(budget);
        if (meter && local) this.#localCheck(out, entry.cost, budget);
        if (meter && !local) this.#globalCheck(out, entry.cost, tmp);
        if (stack) this.#stackEntry(out, frame, saved);
        if (wrapped) this.#wrapperStart(out, type.results);
      },
    });
    for (;;) {
      const at = r.pos;
      const op = _scan(r, found);
      region.cost++;
      const code = r.bytes[at]!;
      if ((code === 0x21 || code === 0x22) && wrapLoops) {
        const index = new _In(r.bytes, at + 1, r.end).u32();
        for (const c of controls) c.writes?.set(index, (c.writes.get(index) ?? 0) + 1);
        const prev = recent[recent.length - 1];
        if (prev !== undefined && r.bytes[prev] === 0x41) {
          consts.set(index, new _In(r.bytes, prev + 1, at).s32());
        } else {
          consts.delete(index);
        }
      } else if (op !== _Op.Plain && op !== _Op.Call && op !== _Op.CallIndirect) {
        // Control flow joins or leaves here: what held before may not hold after.
        if (op !== _Op.Loop) consts.clear();
      }
      switch (op) {
        case _Op.Block:
          controls.push({ loop: false, wrapped: false, counted: false, bodyStart: r.pos });
          break;
        case _Op.Loop: {
          const loop: _Control = {
            loop: true,
            wrapped: wrapLoops,
            counted: false,
            bodyStart: r.pos,
            // Only where br, br_if and br_table are the only branches: they are all counted.
            starts: wrapLoops ? new Map(consts) : undefined,
            writes: new Map(),
            branches: 0,
          };
          controls.push(loop);
          consts.clear();
          const loopRegion = region = newRegion();
          if (wrapLoops) {
            const blockType = r.bytes.subarray(at + 1, r.pos);
            edits.push({
              at,
              skip: 0,
              emit: (out) => {
                if (!loop.wrapped) return;
                out.byte(0x02).bytes(blockType).byte(0x03).byte(0x40).byte(0x02).byte(0x40);
              },
            });
          }
          if (meter) {
            edits.push({
              at: r.pos,
              skip: 0,
              emit: (out) => {
                if (loop.counted) return;
                if (loop.wrapped) this.#loopCheck(out, loopRegion.cost, budget);
                else this.#localCheck(out, loopRegion.cost, budget);
              },
            });
          }
          break;
        }
        case _Op.End: {
          if (controls.length === 0) {
            if (r.pos !== r.end) r.fail("code after the function's end");
            edits.push({
              at,
              skip: 0,
              emit: (out) => {
                if (wrapped) leave(out.byte(0x0b));
              },
            });
            return this.#assemble(r.bytes, groups, locals, codeStart, r.end, edits);
          }
          const closed = controls.pop()!;
          if (closed.loop) {
            const cost = regions.pop()!.cost;
            region = regions[regions.length - 1]!;
            const trips = _countedTrips(r.bytes, closed, recent);
            if (trips !== undefined && cost * trips <= _COUNTED_COST_MAX) {
              // A counted loop needs no check of its own: its whole cost is charged where
              // the code around it is.
              closed.counted = true;
              closed.wrapped = false;
              region.cost += cost * trips;
            } else if (closed.wrapped) {
              edits.push({ at: r.pos, skip: 0, emit: (out) => this.#loopTail(out, cost, budget) });
            }
          }
          break;
        }
        case _Op.Branch:
          if (meter) {
            const labels = _branchLabels(r.bytes, at);
            for (const d of labels) {
              const target = controls[controls.length - 1 - d];
              if (target?.loop) target.branches = (target.branches ?? 0) + 1;
            }
            if (wrapLoops) this.#branchEdit(edits, r, at, labels.map(relabel));
          }
          break;
        case _Op.Return: {
          const depth = relabel(controls.length);
          edits.push({
            at,
            skip: 1,
            emit: (out) => wrapped ? out.byte(0x0c).u32(depth()) : out.byte(0x0f),
          });
          break;
        }
        case _Op.ReturnCall:
          edits.push({ at, skip: 0, emit: leave });
          if (found.indexAt > at && r.bytes[at] === 0x12) this.#callEdit(edits, found);
          break;
        case _Op.Call:
        case _Op.CallIndirect:
          edits.push({ at, skip: 0, emit: writeBack });
          if (op === _Op.Call) this.#callEdit(edits, found);
          edits.push({ at: r.pos, skip: 0, emit: reload });
          break;
        case _Op.RefFunc:
          this.#callEdit(edits, found);
          break;
        case _Op.GlobalSet:
          if (this.#shadow && found.index === this.#shadow.global) {
            const low = this.#shadow.low;
            edits.push({ at, skip: 0, emit: (out) => this.#shadowCheck(out, low, tmp) });
          }
          break;
      }
      found.indexAt = 0;
      recent.push(at);
      if (recent.length > 8) recent.shift();
    }
  }

  /** Rewrites the labels of a `br`, `br_if` or `br_table` for the loops it leaves. */
  #branchEdit(edits: _Edit[], r: _In, at: number, moved: (() => number)[]): void {
    const code = r.bytes[at]!;
    edits.push({
      at,
      skip: r.pos - at,
      emit: (out) => {
        out.byte(code);
        if (code === 0x0e) out.u32(moved.length - 1);
        for (const d of moved) out.u32(d());
      },
    });
  }

  #callEdit(
    edits: _Edit[],
    found: { indexAt: number; index: number },
  ): void {
    const index = found.index;
    if (index < this.#info.importedFunctionCount || this.#shift === 0) return;
    const at = found.indexAt;
    let end = at;
    while ((this.#bytes[end++]! & 0x80) !== 0);
    edits.push({ at, skip: end - at, emit: (out) => out.u32(index + this.#shift) });
  }

  #assemble(
    bytes: Uint8Array,
    groups: number,
    locals: Uint8Array,
    codeStart: number,
    codeEnd: number,
    edits: _Edit[],
  ): _Out {
    const out = this.#scratch.reset();
    out.u32(groups + 1).bytes(locals).u32(3).byte(_I32);
    // Stable: edits at the same offset keep their order (metering before the wrapper).
    edits.sort((a, b) => a.at - b.at);
    let pos = codeStart;
    for (const edit of edits) {
      out.range(bytes, pos, edit.at);
      edit.emit(out);
      pos = edit.at + edit.skip;
    }
    return out.range(bytes, pos, codeEnd);
  }

  /** budget -= cost; if (budget < 0) budget = tick(budget), on a local copy of the budget */
  #localCheck(out: _Out, cost: number, budget: number): void {
    out.byte(0x20).u32(budget).byte(0x41).s32(cost).byte(0x6b); // local.get, i32.const, i32.sub
    out.byte(0x22).u32(budget).byte(0x41).s32(0).byte(0x48); // local.tee, i32.const 0, i32.lt_s
    out.byte(0x04).byte(0x40); // if
    out.byte(0x20).u32(budget).byte(0x10).u32(this.#tickFunc).byte(0x21).u32(budget);
    out.byte(0x0b);
  }

  /** At a wrapped loop's header: budget -= cost; if (budget < 0) leave to the refill. */
  #loopCheck(out: _Out, cost: number, budget: number): void {
    out.byte(0x20).u32(budget).byte(0x41).s32(cost).byte(0x6b); // local.get, i32.const, i32.sub
    out.byte(0x22).u32(budget).byte(0x41).s32(0).byte(0x48); // local.tee, i32.const 0, i32.lt_s
    out.byte(0x0d).u32(1); // br_if to the block around the loop
  }

  /**
   * After a wrapped loop's `end`: leave with its results; the refill path (the block the
   * check left) refills, gives back the charge of the iteration that did not run, and
   * enters the loop again.
   */
  #loopTail(out: _Out, cost: number, budget: number): void {
    out.byte(0x0c).u32(2).byte(0x0b); // br to the outer block; end of the refill block
    out.byte(0x20).u32(budget).byte(0x10).u32(this.#tickFunc); // tick(budget)
    out.byte(0x41).s32(cost).byte(0x6a).byte(0x21).u32(budget); // + cost, local.set
    out.byte(0x0c).u32(0).byte(0x0b); // br to the outer loop; its end
    out.byte(0x00).byte(0x0b); // unreachable; end of the outer block
  }

  /** budget -= cost; if (budget < 0) budget = tick(budget), on the global */
  #globalCheck(out: _Out, cost: number, tmp: number): void {
    const g = this.#budgetGlobal;
    out.byte(0x23).u32(g).byte(0x41).s32(cost).byte(0x6b); // global.get, i32.const, i32.sub
    out.byte(0x22).u32(tmp).byte(0x24).u32(g); // local.tee, global.set
    out.byte(0x20).u32(tmp).byte(0x41).s32(0).byte(0x48); // local.get, i32.const 0, i32.lt_s
    out.byte(0x04).byte(0x40); // if
    out.byte(0x20).u32(tmp).byte(0x10).u32(this.#tickFunc).byte(0x24).u32(g);
    out.byte(0x0b);
  }

  /** saved = depth; if (saved > limit - frame) trap(STACK); depth = saved + frame */
  #stackEntry(out: _Out, frame: number, saved: number): void {
    const g = this.#depthGlobal;
    const limit = this.#opts.stackLimit!;
    out.byte(0x23).u32(g).byte(0x22).u32(saved); // global.get, local.tee
    out.byte(0x41).s32(limit - frame).byte(0x4b); // i32.const, i32.gt_u
    out.byte(0x04).byte(0x40).byte(0x41).s32(TRAP_STACK).byte(0x10).u32(this.#trapFunc);
    out.byte(0x0b);
    out.byte(0x20).u32(saved).byte(0x41).s32(frame).byte(0x6a).byte(0x24).u32(g);
  }

  /** Opens the block that every exit of the body leaves through. */
  #wrapperStart(out: _Out, results: readonly string[]): void {
    out.byte(0x02);
    if (results.length === 0) {
      out.byte(0x40);
    } else if (results.length === 1) {
      const b = VALTYPE_BYTES[results[0]!];
      if (b === undefined) {
        throw new LoadError(`cannot instrument: a function returns ${results[0]}`);
      }
      out.byte(b);
    } else {
      const key = results.join(",");
      const extra = this.#extraTypes.findIndex((t) => t.join(",") === key);
      out.s32(this.#info.types.length + 2 + extra);
    }
  }

  /** value = top of stack; if (value < low) trap(AUX_STACK); __stack_pointer = value */
  #shadowCheck(out: _Out, low: number, tmp: number): void {
    out.byte(0x22).u32(tmp).byte(0x41).s32(low).byte(0x48); // local.tee, i32.const, i32.lt_s
    out.byte(0x04).byte(0x40).byte(0x41).s32(TRAP_AUX_STACK).byte(0x10).u32(this.#trapFunc);
    out.byte(0x0b).byte(0x20).u32(tmp);
  }
}
