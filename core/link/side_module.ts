/**
 * Emscripten side modules (`emcc -s SIDE_MODULE=1`, any module with a `dylink.0` section):
 * the runtime plays the main module's part of emscripten's dynamic-linking ABI. It sizes the
 * memory and table the module imports from `dylink.0`, places its data at `__memory_base` and
 * its elements at `__table_base`, gives it a shadow stack through `__stack_pointer`, fills its
 * GOT (`GOT.mem`, `GOT.func`) and lists the exports that relocate and construct it.
 *
 * Memory (64 KiB pages), stack first so that an overflow runs off the bottom of memory and
 * traps instead of overwriting data:
 *
 * ```
 * [0, 1 KiB)                never used: a store through a null pointer lands here
 * [1 KiB, 64 KiB)           the shadow stack; __stack_pointer starts at 64 KiB, grows down
 * [64 KiB, + memorySize)    the module's data and bss: __memory_base = 64 KiB
 * the pages after           the app heap, appended by the instance (malloc, free)
 * ```
 *
 * Table: slot 0 stays empty so a null function pointer traps, the module's elements start at
 * `__table_base` = 1, and each `GOT.func` entry gets a slot after them.
 *
 * @module
 */

import type { DylinkInfo, Import, ModuleInfo } from "../module/binary.ts";
import { LinkError } from "../../sdk/errors.ts";
import { type FuncType, VALTYPE_BYTES } from "../../sdk/wasm_types.ts";

const PAGE = 65536;

/** Bytes at address 0 no app data or stack ever uses. */
export const NULL_GUARD = 1024;

/** Top of the shadow stack, and where the module's data starts. */
export const STACK_TOP = PAGE;

/** Where a side module's memory and table pieces go. */
export interface SideModuleLayout {
  /** Lowest address of the shadow stack (its end; it grows down to here). */
  readonly stackLow: number;
  /** Where `__stack_pointer` starts (the stack's base, above its top frame). */
  readonly stackTop: number;
  /** `__memory_base`: the address of the module's data. */
  readonly memoryBase: number;
  /** Pages the memory needs before the app heap: stack, guard and data. */
  readonly pages: number;
  /** `__table_base`: the slot of the module's first element. */
  readonly tableBase: number;
  /** Table slots needed: the empty slot 0, the module's elements and one per `GOT.func`. */
  readonly tableSize: number;
}

/**
 * Where a side module's pieces go (see the module comment).
 *
 * @param dylink the module's `dylink.0` memory and table needs
 * @param gotFuncs how many `GOT.func` entries need a table slot
 * @returns the layout
 */
export function sideModuleLayout(dylink: DylinkInfo, gotFuncs = 0): SideModuleLayout {
  const memoryBase = _alignUp(STACK_TOP, 2 ** dylink.memoryAlign);
  const tableBase = _alignUp(1, 2 ** dylink.tableAlign);
  return {
    stackLow: NULL_GUARD,
    stackTop: STACK_TOP,
    memoryBase,
    pages: Math.ceil((memoryBase + dylink.memorySize) / PAGE),
    tableBase,
    tableSize: tableBase + dylink.tableSize + gotFuncs,
  };
}

function _alignUp(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}

/** An export to call once the module is instantiated, before any other app code. */
export interface Initializer {
  /** The export's name. */
  readonly name: string;
  /** Its arguments. */
  readonly args: readonly number[];
}

/** One `GOT.mem` or `GOT.func` entry: the global the module imports and what fills it. */
interface _GotEntry {
  readonly kind: "mem" | "func";
  readonly symbol: string;
  readonly global: WebAssembly.Global;
  /** The table slot of a `GOT.func` entry. */
  readonly slot: number;
}

/** The main module's side of linking one side module instance. */
export class SideModule {
  /** Where everything goes. */
  readonly layout: SideModuleLayout;
  readonly #info: ModuleInfo;
  readonly #got: _GotEntry[] = [];
  #table: WebAssembly.Table | undefined;
  #nextSlot: number;

  /**
   * Lays out one instance of a side module.
   *
   * @param info the module, which must have a `dylink.0` section
   */
  constructor(info: ModuleInfo) {
    this.#info = info;
    const gotFuncs = info.imports.filter((i) => i.module === "GOT.func").length;
    this.layout = sideModuleLayout(info.dylink!, gotFuncs);
    this.#nextSlot = this.layout.tableBase + info.dylink!.tableSize;
  }

  /**
   * The initial page count of the imported memory: at least what the import asks for and
   * what the layout needs.
   *
   * @param imp the memory import
   * @returns the page count
   * @throws {LinkError} when the import's maximum is below what the layout needs
   */
  memoryPages(imp: Import & { kind: "memory" }): number {
    const pages = Math.max(imp.type.min, this.layout.pages);
    if (imp.type.max !== undefined && imp.type.max < pages) {
      throw new LinkError(
        `${_name(imp)}: the side module needs ${pages} pages (stack, data), ` +
          `more than the import's maximum of ${imp.type.max}`,
      );
    }
    return pages;
  }

  /**
   * The initial size of the imported table: at least what the import asks for and what the
   * layout needs.
   *
   * @param imp the table import
   * @returns the slot count
   * @throws {LinkError} when the import's maximum is below what the layout needs
   */
  tableSlots(imp: Import & { kind: "table" }): number {
    const slots = Math.max(imp.type.limits.min, this.layout.tableSize);
    const max = imp.type.limits.max;
    if (max !== undefined && max < slots) {
      throw new LinkError(
        `${
          _name(imp)
        }: the side module needs ${slots} slots, more than the import's maximum of ${max}`,
      );
    }
    return slots;
  }

  /**
   * Takes note of the table created for the module's imported function table.
   *
   * @param table the table
   */
  useTable(table: WebAssembly.Table): void {
    this.#table ??= table;
  }

  /**
   * The value of an imported global the side-module ABI defines: `env.__memory_base`,
   * `env.__table_base` (and the older `memoryBase`, `tableBase`), `env.__stack_pointer`, and
   * every `GOT.mem` and `GOT.func` entry.
   *
   * @param imp a global import
   * @returns the global, or undefined when the ABI does not define it
   * @throws {LinkError} for a GOT entry the module cannot fill, or a global of the wrong type
   */
  global(imp: Import & { kind: "global" }): WebAssembly.Global | undefined {
    const { type, mutable } = imp.type;
    if (imp.module === "GOT.mem" || imp.module === "GOT.func") {
      if (type !== "i32" || !mutable) {
        throw new LinkError(`${_name(imp)}: a GOT entry must be a mutable i32, not ${type}`);
      }
      return this.#gotEntry(imp);
    }
    if (imp.module !== "env") return undefined;
    const layout = this.layout;
    const values: Record<string, number> = {
      __memory_base: layout.memoryBase,
      memoryBase: layout.memoryBase,
      __table_base: layout.tableBase,
      tableBase: layout.tableBase,
      __stack_pointer: layout.stackTop,
    };
    if (!Object.hasOwn(values, imp.name)) return undefined;
    if (type !== "i32" || (imp.name === "__stack_pointer") !== mutable) {
      const want = imp.name === "__stack_pointer" ? "a mutable i32" : "an immutable i32";
      throw new LinkError(
        `${_name(imp)}: must be ${want}, not ${mutable ? "mutable " : ""}${type}`,
      );
    }
    return new WebAssembly.Global({ value: "i32", mutable }, values[imp.name]);
  }

  #gotEntry(imp: Import & { kind: "global" }): WebAssembly.Global {
    const symbol = imp.name;
    const info = this.#info;
    if (imp.module === "GOT.mem") {
      const exported = info.exports.some((e) => e.name === symbol && e.kind === "global");
      if (!exported) {
        throw new LinkError(
          `${_name(imp)}: the module exports no data symbol "${symbol}", ` +
            `and a side module has no main module to provide it`,
        );
      }
      const global = new WebAssembly.Global({ value: "i32", mutable: true }, 0);
      this.#got.push({ kind: "mem", symbol, global, slot: -1 });
      return global;
    }
    const exported = info.exports.some((e) => e.name === symbol && e.kind === "function");
    const imported = info.imports.some((i) => i.kind === "function" && i.name === symbol);
    if (!exported && !imported) {
      throw new LinkError(
        `${_name(imp)}: the module neither exports nor imports a function "${symbol}"`,
      );
    }
    const slot = this.#nextSlot++;
    const global = new WebAssembly.Global({ value: "i32", mutable: true }, slot);
    this.#got.push({ kind: "func", symbol, global, slot });
    return global;
  }

  /**
   * Puts the functions the module imports and takes the address of (`GOT.func` entries it
   * does not export) into their table slots; call once every import is in `imports`.
   *
   * @param imports the finished import object
   * @throws {LinkError} when such an entry exists but no function table is imported
   */
  placeImportedFunctions(imports: Record<string, Record<string, WebAssembly.ImportValue>>): void {
    const info = this.#info;
    for (const entry of this.#got) {
      if (entry.kind !== "func") continue;
      if (!this.#table) {
        throw new LinkError(
          `Cannot link import "GOT.func"."${entry.symbol}": the module imports no function table`,
        );
      }
      if (info.exports.some((e) => e.name === entry.symbol && e.kind === "function")) continue;
      const imp = info.imports.find((i): i is Import & { kind: "function" } =>
        i.kind === "function" && i.name === entry.symbol
      );
      if (!imp?.type) continue;
      const value = imports[imp.module]?.[imp.name];
      this.#table.set(entry.slot, _asWasmFunction(value, imp.type, entry.symbol));
    }
  }

  /**
   * Fills what needs the instance: `GOT.mem` entries (`__memory_base` plus the offset the
   * module exports for the symbol) and the table slots of exported `GOT.func` functions.
   *
   * @param exports the instance's exports
   */
  bind(exports: Readonly<Record<string, unknown>>): void {
    for (const entry of this.#got) {
      const value = exports[entry.symbol];
      if (entry.kind === "mem" && value instanceof WebAssembly.Global) {
        entry.global.value = this.layout.memoryBase + Number(value.value);
      } else if (entry.kind === "func" && typeof value === "function") {
        this.#table!.set(entry.slot, value as (...args: never[]) => unknown);
      }
    }
  }

  /**
   * The exports to call after `bind`, in emscripten's order: the stack limits its
   * `STACK_OVERFLOW_CHECK` code compares against, then data relocations, then constructors.
   * LLVM 14 (Debian's emcc 3.1.6) also runs the relocations as the start function, before
   * the GOT is filled, and again from `__wasm_call_ctors`; running them late is what
   * emscripten's own loader does.
   *
   * @returns the calls, for the exports the module has
   */
  initializers(): Initializer[] {
    const out: Initializer[] = [];
    const has = (name: string) =>
      this.#info.exports.some((e) => e.name === name && e.kind === "function");
    if (has("__set_stack_limits")) {
      out.push({ name: "__set_stack_limits", args: [this.layout.stackTop, this.layout.stackLow] });
    }
    if (has("__wasm_apply_data_relocs")) out.push({ name: "__wasm_apply_data_relocs", args: [] });
    if (has("__wasm_call_ctors")) out.push({ name: "__wasm_call_ctors", args: [] });
    return out;
  }
}

function _name(imp: Import): string {
  return `Cannot link import "${imp.module}"."${imp.name}"`;
}

/**
 * A host function as a wasm function, which a table can hold: a one-import module that
 * re-exports it (emscripten's loader does the same for JS functions it puts in the table).
 */
function _asWasmFunction(
  fn: WebAssembly.ImportValue | undefined,
  type: FuncType,
  symbol: string,
): (...args: never[]) => unknown {
  const types = [...type.params, ...type.results].map((t) => VALTYPE_BYTES[t]);
  if (fn === undefined || types.some((t) => t === undefined)) {
    throw new LinkError(
      `Cannot link import "GOT.func"."${symbol}": its function cannot be put in a table`,
    );
  }
  const params = types.slice(0, type.params.length) as number[];
  const results = types.slice(type.params.length) as number[];
  const typeSec = [1, 0x60, ..._leb(params.length), ...params, ..._leb(results.length), ...results];
  const importSec = [1, 1, 0x6d, 1, 0x66, 0x00, 0]; // "m"."f": func of type 0
  const exportSec = [1, 1, 0x66, 0x00, 0]; // "f": func 0
  const bytes = new Uint8Array([
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ..._section(1, typeSec),
    ..._section(2, importSec),
    ..._section(7, exportSec),
  ]);
  const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), { m: { f: fn } });
  return instance.exports.f as (...args: never[]) => unknown;
}

function _section(id: number, body: number[]): number[] {
  return [id, ..._leb(body.length), ...body];
}

function _leb(n: number): number[] {
  const out: number[] = [];
  do {
    const byte = n & 0x7f;
    n >>>= 7;
    out.push(n === 0 ? byte : byte | 0x80);
  } while (n !== 0);
  return out;
}
