// WASI: start-up of a WASI hello against our libc hello (whole `deno run` processes), a 64 MiB
// file copy through WASI against the same program under node:wasi in this process and against
// native `cp`, and a CPU-bound WASI workload against raw V8. The C programs are built here
// with clang-19 and wasi-libc (compile and link apart, so no wasm-opt on PATH runs).
import { WASI } from "node:wasi";
import { Runtime } from "../core/instance/runtime.ts";
import wasi, { WasiExit } from "../natives/wasi/mod.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const dir = Deno.makeTempDirSync({ prefix: "wasi_bench_" });
globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));

const SOURCES: Record<string, string> = {
  hello: `#include <stdio.h>
int main(void) { printf("Hello world!\\n"); return 0; }`,
  copy: `#include <stdio.h>
static char buf[1 << 16];
int main(int argc, char **argv) {
  if (argc < 3) return 2;
  FILE *in = fopen(argv[1], "rb"), *out = fopen(argv[2], "wb");
  if (!in || !out) return 1;
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, in)) > 0) fwrite(buf, 1, n, out);
  return fclose(out) != 0;
}`,
  cpu: `#include <stdint.h>
static uint32_t data[1 << 14];
__attribute__((export_name("work"))) uint32_t work(int rounds) {
  uint32_t h = 2166136261u;
  for (int r = 0; r < rounds; r++)
    for (int i = 0; i < (1 << 14); i++) {
      data[i] = data[i] * 1664525u + 1013904223u + (uint32_t)r;
      h = (h ^ data[i]) * 16777619u;
    }
  return h;
}`,
};

function build(name: string, extra: string[] = []): string {
  const c = `${dir}/${name}.c`;
  Deno.writeTextFileSync(c, SOURCES[name]!);
  for (
    const args of [
      ["--target=wasm32-wasi", "-O2", "-c", c, "-o", `${dir}/${name}.o`],
      ["--target=wasm32-wasi", ...extra, `${dir}/${name}.o`, "-o", `${dir}/${name}.wasm`],
    ]
  ) {
    const out = new Deno.Command("clang-19", { args, stderr: "piped" }).outputSync();
    if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
  }
  return `${dir}/${name}.wasm`;
}

const hello = build("hello");
const copy = build("copy");
const cpu = build("cpu", ["-mexec-model=reactor"]);

// --- start-up: whole processes -------------------------------------------------------------

function deno(args: string[]): void {
  const out = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", ...args],
    cwd: ROOT,
    stdout: "null",
    stderr: "null",
  }).outputSync();
  if (!out.success) throw new Error(`deno run ${args.join(" ")} failed`);
}

Deno.bench({
  name: "deno run mod.ts examples/hello/hello.wasm (our libc)",
  group: "start-up",
  baseline: true,
  n: 30,
  fn: () => deno(["mod.ts", "examples/hello/hello.wasm"]),
});
Deno.bench({
  name: "deno run mod.ts hello.wasm (wasi-libc)",
  group: "start-up",
  n: 30,
  fn: () => deno(["mod.ts", hello]),
});

// --- a 64 MiB copy between two directories ----------------------------------------------------

const input = `${dir}/in`;
const output = `${dir}/out`;
Deno.mkdirSync(input);
Deno.mkdirSync(output);
const payload = new Uint8Array(64 << 20);
crypto.getRandomValues(payload.subarray(0, 65536));
for (let at = 65536; at < payload.length; at *= 2) payload.copyWithin(at, 0, at);
Deno.writeFileSync(`${input}/big`, payload);
const copyBytes = Deno.readFileSync(copy);

const runtime = new Runtime({
  plugins: [wasi.configure({
    args: ["copy", "/in/big", "/out/big"],
    preopens: [{ guest: "/in", host: input }, { guest: "/out", host: output }],
  })],
  stdout: () => {},
});
const copyModule = await runtime.load(copyBytes, "copy");

Deno.bench({
  name: "node:wasi on Deno",
  group: "copy 64 MiB",
  baseline: true,
  n: 10,
  fn: async () => {
    const node = new WASI({
      version: "preview1",
      args: ["copy", "/in/big", "/out/big"],
      preopens: { "/in": input, "/out": output },
    });
    const instance = await WebAssembly.instantiate(
      await WebAssembly.compile(copyBytes),
      { wasi_snapshot_preview1: node.wasiImport } as WebAssembly.Imports,
    );
    node.start(instance);
  },
});
Deno.bench({
  name: "micro-runtime's WASI",
  group: "copy 64 MiB",
  n: 10,
  fn: async () => {
    const app = await runtime.instantiate(copyModule, { heapSize: 0 });
    try {
      app.call("_start");
    } catch (e) {
      if (!(e instanceof WasiExit) || e.code !== 0) throw e;
    } finally {
      app.free();
    }
  },
});
Deno.bench({
  name: "native cp (a process)",
  group: "copy 64 MiB",
  n: 10,
  fn: () => {
    new Deno.Command("cp", { args: [`${input}/big`, `${output}/big`] }).outputSync();
  },
});

// --- CPU-bound ---------------------------------------------------------------------------------

const cpuBytes = Deno.readFileSync(cpu);
const rawModule = new WebAssembly.Module(cpuBytes);
// What the reactor imports (wasi-libc's start-up), answered by stubs that do nothing.
const stubs: Record<string, () => number> = {};
for (const imp of WebAssembly.Module.imports(rawModule)) stubs[imp.name] = () => 0;
const raw = new WebAssembly.Instance(rawModule, { wasi_snapshot_preview1: stubs });
(raw.exports._initialize as (() => void) | undefined)?.();
const rawWork = raw.exports.work as (n: number) => number;
const ours = await new Runtime({ plugins: [wasi], stdout: () => {} })
  .instantiate(await runtime.load(cpuBytes, "cpu"), { heapSize: 0 });

Deno.bench({
  name: "raw V8",
  group: "CPU-bound WASI reactor",
  baseline: true,
  fn: () => {
    rawWork(50);
  },
});
Deno.bench({
  name: "through micro-runtime",
  group: "CPU-bound WASI reactor",
  fn: () => {
    ours.call("work", 50);
  },
});
