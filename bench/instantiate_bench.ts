// Instantiate cost (issue 17): `instantiateSync` (link every import to its native, wrap it, create
// the instance, place the heap) against raw `new WebAssembly.Instance` of the same module, one
// group per app. Two raw forms: the baseline builds its import object's closures per instance,
// as natives with per-app state (the app's memory) must; the other reuses one import object for
// every instance, which V8 instantiates faster still (its closures are not new) but which no
// per-app native can do. Synthetic apps import 20, 40 and 60 natives of mixed signatures; the real
// request_handler (18 imports, libc and base natives) and printf (libc) are there too. Both sides
// instantiate with no app heap, so neither grows memory. Target: <= 1.15x for 20-60 imports.
import { Runtime } from "../core/instance/runtime.ts";
import { defineNativeLibrary } from "../sdk/native.ts";
import libc from "../natives/libc/mod.ts";
import base from "../natives/base/mod.ts";
import { wat } from "../tests/_wat.ts";

/** Signatures in the mix a vendor library has: plain numbers, a buffer, a string. */
const KINDS = [
  { sig: "(ii)i", wasm: "(param i32 i32) (result i32)", raw: (a: number, b: number) => a + b },
  { sig: "(i)", wasm: "(param i32)", raw: (_a: number) => {} },
  { sig: "()i", wasm: "(result i32)", raw: () => 7 },
  { sig: "(*~)i", wasm: "(param i32 i32) (result i32)", raw: (_p: number, n: number) => n },
  { sig: "($)i", wasm: "(param i32) (result i32)", raw: (_p: number) => 0 },
  { sig: "(iii)", wasm: "(param i32 i32 i32)", raw: (_a: number, _b: number, _c: number) => {} },
  { sig: "(F)F", wasm: "(param f64) (result f64)", raw: (x: number) => x * 2 },
  { sig: "(*)i", wasm: "(param i32) (result i32)", raw: (p: number) => p },
] as const;

const MAX = 60;
const vendor = defineNativeLibrary({
  name: "vendor",
  symbols: (define) => {
    const symbols: Record<string, ReturnType<typeof define>> = {};
    for (let i = 0; i < MAX; i++) {
      const kind = KINDS[i % KINDS.length]!;
      const impl = kind.raw as (...args: unknown[]) => number | void;
      symbols[`n${i}`] = define(kind.sig, (_ctx: unknown, ...args: unknown[]) => impl(...args));
    }
    return symbols;
  },
});

function _synthetic(imports: number): Uint8Array {
  const lines: string[] = [];
  for (let i = 0; i < imports; i++) {
    lines.push(`(import "env" "n${i}" (func ${KINDS[i % KINDS.length]!.wasm}))`);
  }
  return wat(`(module ${lines.join("\n")}
    (memory (export "memory") 1)
    (func (export "main") (result i32) i32.const 0))`);
}

const runtime = new Runtime({ plugins: [libc, base, vendor], stdout: () => {} });

/**
 * A raw import object factory: every function import gets a closure over the instance's own
 * state (here a memory holder), made anew for each instance.
 */
function _rawImports(module: WebAssembly.Module): () => WebAssembly.Imports {
  const names = WebAssembly.Module.imports(module).map((imp) => {
    const index = Number(/^n(\d+)$/.exec(imp.name)?.[1] ?? -1);
    const impl = (index >= 0 ? KINDS[index % KINDS.length]!.raw : () => 0) as (
      ...args: unknown[]
    ) => unknown;
    return { module: imp.module, name: imp.name, impl };
  });
  return function rawImports(): WebAssembly.Imports {
    const state = { memory: undefined as WebAssembly.Memory | undefined };
    const imports: Record<string, Record<string, WebAssembly.ImportValue>> = {};
    for (const { module, name, impl } of names) {
      const fn = (...args: unknown[]) => state.memory === null ? 0 : impl(...args);
      (imports[module] ??= {})[name] = fn as WebAssembly.ImportValue;
    }
    return imports;
  };
}

const apps: { label: string; bytes: Uint8Array }[] = [
  ...[20, 40, 60].map((n) => ({ label: `${n} imports (synthetic)`, bytes: _synthetic(n) })),
  {
    label: "request_handler (18 imports)",
    bytes: await Deno.readFile(
      new URL("../examples/request_handler/request_handler.wasm", import.meta.url),
    ),
  },
  {
    label: "printf (libc)",
    bytes: await Deno.readFile(new URL("../examples/printf/printf.wasm", import.meta.url)),
  },
];

// A fixed number of instances per bench: garbage collection (each instance's memory is freed only
// by a full collection, in pauses of up to ~100 ms) then strikes every side about as often, where
// Deno.bench's time budget gave the sides different numbers of instances and of pauses.
const n = 20_000;
const warmup = 2_000;

// Where those pauses land still moves Deno.bench's means (one side collects what another left),
// so the figure that decides comes from paired processes: each side alone in a child that times
// CHILD_INSTANCES instantiations, collections included, the two sides alternating first.
const ROUNDS = 3;
const CHILD_INSTANCES = 10_000;

/** One side in a child process: prints the milliseconds its instances took. */
function _child(side: string, index: number): void {
  const { bytes, label } = apps[index]!;
  const module = runtime.loadSync(bytes, label);
  const rawImports = _rawImports(module.module);
  const one = side === "raw"
    ? () => void new WebAssembly.Instance(module.module, rawImports())
    : () => runtime.instantiateSync(module, { heapSize: 0 }).free();
  for (let i = 0; i < warmup; i++) one();
  const start = performance.now();
  for (let i = 0; i < CHILD_INSTANCES; i++) one();
  console.log(performance.now() - start);
}

async function _inChild(side: string, index: number): Promise<number> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", new URL(import.meta.url).pathname, "--child", side, String(index)],
    cwd: new URL("..", import.meta.url).pathname,
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (!out.success) throw new Error(`instantiate child (${side}, ${apps[index]!.label}) failed`);
  return Number(new TextDecoder().decode(out.stdout));
}

if (Deno.args[0] === "--child") {
  _child(Deno.args[1]!, Number(Deno.args[2]));
  Deno.exit(0);
}

for (let index = 0; index < apps.length; index++) {
  const ratios: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const sides = round % 2 === 0 ? ["raw", "runtime"] : ["runtime", "raw"];
    const ms: Record<string, number> = {};
    for (const side of sides) ms[side] = await _inChild(side, index);
    ratios.push(ms.runtime! / ms.raw!);
  }
  ratios.sort((a, b) => a - b);
  console.log(
    `instantiate ${apps[index]!.label}, paired processes (${ROUNDS} rounds of ${CHILD_INSTANCES} ` +
      `instances, collections included): instantiateSync / raw closures per instance ` +
      `${ratios[ratios.length >> 1]!.toFixed(2)}x median (${ratios[0]!.toFixed(2)}–` +
      `${ratios[ratios.length - 1]!.toFixed(2)}x; target <= 1.15x)`,
  );
}

for (const { label, bytes } of apps) {
  const module = runtime.loadSync(bytes, label);
  const rawImports = _rawImports(module.module);
  const shared = rawImports();
  const group = `instantiate ${label}`;
  Deno.bench(`${group}: raw, closures per instance`, { group, baseline: true, n, warmup }, () => {
    new WebAssembly.Instance(module.module, rawImports());
  });
  Deno.bench(`${group}: raw, one import object for all`, { group, n, warmup }, () => {
    new WebAssembly.Instance(module.module, shared);
  });
  Deno.bench(`${group}: instantiateSync`, { group, n, warmup }, () => {
    runtime.instantiateSync(module, { heapSize: 0 }).free();
  });
}
