// Modules for the load and instantiate benches: synthetic binaries of a chosen size and
// function count, real apps rebuilt by clang-19 with their `name` section, and a strip that
// drops custom sections so each app comes in both forms with the same code.
import { join } from "node:path";
import { readModule } from "../core/module/binary.ts";
import { CLANG, clangArgs, clangAvailable, EXAMPLES } from "../sdk/c/build.ts";

const _ROOT = new URL("..", import.meta.url);

function _leb(value: number): number[] {
  const out: number[] = [];
  do {
    let byte = value & 0x7f;
    value >>>= 7;
    if (value !== 0) byte |= 0x80;
    out.push(byte);
  } while (value !== 0);
  return out;
}

function _name(text: string): number[] {
  const bytes = new TextEncoder().encode(text);
  return [..._leb(bytes.length), ...bytes];
}

function _section(id: number, body: number[] | Uint8Array): Uint8Array {
  const head = [id, ..._leb(body.length)];
  const out = new Uint8Array(head.length + body.length);
  out.set(head);
  out.set(body, head.length);
  return out;
}

function _concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** A name shaped like clang's C++ symbols: namespaces, a function, a hash; 30–70 bytes. */
function _symbol(i: number): string {
  const spaces = ["app", "core", "detail", "io", "net", "util"];
  const a = spaces[i % spaces.length]!;
  const b = spaces[(i >> 3) % spaces.length]!;
  return `_ZN${a.length}${a}${b.length}${b}8function${i}17h${(i * 2654435761 >>> 0).toString(16)}E`;
}

/**
 * A valid module of `functions` functions `() -> i32` about `size` bytes long, each exported
 * every 100th, with a `name` section (module and function names) when `names` is set.
 */
export function syntheticModule(functions: number, size: number, names: boolean): Uint8Array {
  const type = _section(1, [1, 0x60, 0, 1, 0x7f]);
  const funcs = _section(3, [..._leb(functions), ...new Array(functions).fill(0)]);
  const exportEntries: number[] = [];
  let exportCount = 0;
  for (let i = 0; i < functions; i += 100) {
    exportEntries.push(..._name(`f${i}`), 0, ..._leb(i));
    exportCount++;
  }
  const exports = _section(7, [..._leb(exportCount), ...exportEntries]);
  // Body: no locals, (i32.const k, drop) x pairs, i32.const 0, end.
  const pairs = Math.max(0, Math.floor((size / functions - 6) / 3));
  const body: number[] = [0];
  for (let k = 0; k < pairs; k++) body.push(0x41, k & 0x3f, 0x1a);
  body.push(0x41, 0, 0x0b);
  const sized = [..._leb(body.length), ...body];
  const code = new Uint8Array(_leb(functions).length + functions * sized.length);
  code.set(_leb(functions));
  for (let i = 0, at = _leb(functions).length; i < functions; i++, at += sized.length) {
    code.set(sized, at);
  }
  const parts = [new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]), type, funcs, exports];
  parts.push(_section(10, code));
  if (names) {
    const map: number[] = [..._leb(functions)];
    for (let i = 0; i < functions; i++) map.push(..._leb(i), ..._name(_symbol(i)));
    const moduleName = _name("synthetic");
    const sub0 = [0, ..._leb(moduleName.length), ...moduleName];
    const sub1 = [1, ..._leb(map.length), ...map];
    parts.push(_section(0, [..._name("name"), ...sub0, ...sub1]));
  }
  return _concat(parts);
}

/** The module without its custom sections (what `wasm-strip` leaves). */
export function stripCustomSections(bytes: Uint8Array): Uint8Array {
  const info = readModule(bytes);
  const parts: Uint8Array[] = [bytes.subarray(0, 8)];
  for (const section of info.sections) {
    if (section.id === 0) continue;
    parts.push(_section(section.id, bytes.subarray(section.offset, section.offset + section.size)));
  }
  return _concat(parts);
}

async function _run(command: string, args: string[]): Promise<void> {
  const { success, stderr } = await new Deno.Command(command, {
    args,
    cwd: _ROOT,
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!success) throw new Error(`${command} failed: ${new TextDecoder().decode(stderr)}`);
}

/** A real app built with its `name` section. */
export interface NamedApp {
  /** Short label for bench names. */
  readonly label: string;
  /** The module as clang-19 links it without stripping (debug sections removed). */
  readonly bytes: Uint8Array;
}

/**
 * Real apps rebuilt by clang-19 without `--strip-all`, so they keep the `name` section clang
 * writes: the C SDK's printf showcase and request_handler, and the WASI C and C++ apps
 * (wasi-libc, libc++). Debug sections from the system libraries are dropped. Empty when
 * clang-19 or the WASI sysroot is missing.
 */
export async function namedApps(): Promise<NamedApp[]> {
  if (!await clangAvailable()) return [];
  const dir = await Deno.makeTempDir({ prefix: "bench_modules_" });
  const apps: NamedApp[] = [];
  try {
    for (const name of ["printf", "request_handler"]) {
      const example = EXAMPLES.find((e) => e.name === name)!;
      const out = join(dir, `${name}.wasm`);
      const args = clangArgs(example).filter((a) => a !== "-Wl,--strip-all");
      await _run(CLANG, [...args, "-o", out]);
      apps.push({ label: name, bytes: _withoutDebug(await Deno.readFile(out)) });
    }
    for (
      const [label, compiler, source, extra] of [
        ["wasi_c", "clang-19", "examples/wasi/c/wasi_app.c", []],
        ["wasi_cpp", "clang++-19", "examples/wasi/cpp/wasi_app.cpp", ["-fno-exceptions"]],
      ] as const
    ) {
      const object = join(dir, `${label}.o`);
      const out = join(dir, `${label}.wasm`);
      try {
        await _run(compiler, ["--target=wasm32-wasi", "-O2", ...extra, "-c", source, "-o", object]);
        await _run(compiler, ["--target=wasm32-wasi", object, "-o", out]);
      } catch {
        continue; // no WASI sysroot
      }
      apps.push({ label, bytes: _withoutDebug(await Deno.readFile(out)) });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  return apps;
}

/** Drops `.debug_*` custom sections, keeping `name` and the rest. */
function _withoutDebug(bytes: Uint8Array): Uint8Array {
  const info = readModule(bytes);
  const parts: Uint8Array[] = [bytes.subarray(0, 8)];
  for (const section of info.sections) {
    if (section.id === 0 && section.name?.startsWith(".debug")) continue;
    parts.push(_section(section.id, bytes.subarray(section.offset, section.offset + section.size)));
  }
  return _concat(parts);
}
