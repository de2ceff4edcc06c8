// Execution limits: what each mode costs on CPU-bound C workloads, as a ratio to the same
// workload uninstrumented in the same process; the rewrite's cost at load against V8's
// compile; and how far past its deadline a spinning call is stopped (printed, p50/p99).
import { readModule } from "../core/module/binary.ts";
import { instrumentModule } from "../core/instance/instrument.ts";
import type { AppLimits } from "../core/instance/limits.ts";
import { Runtime } from "../core/instance/runtime.ts";
import { wat } from "../tests/_wat.ts";

const runtime = new Runtime({ stdout: () => {} });
const bytes = await Deno.readFile(new URL("../examples/limits/workloads.wasm", import.meta.url));
const module = await runtime.load(bytes, "workloads");

const MODES: [string, AppLimits][] = [
  ["uninstrumented", {}],
  ["deadline", { deadlineMs: 60_000 }],
  ["fuel", { fuel: Number.MAX_SAFE_INTEGER }],
  ["stack", { stackSize: 1 << 20 }],
];
const WORKLOADS = ["sort_run", "sha256_run", "matmul_run", "recursion_run"];

for (const workload of WORKLOADS) {
  for (const [mode, limits] of MODES) {
    // One instance per mode, warmed up so every mode is measured in V8's optimizing tier.
    const app = await runtime.instantiate(module, { limits, heapSize: 0 });
    for (let i = 0; i < 5; i++) app.call(workload, 1);
    Deno.bench({
      name: `${workload} ${mode}`,
      group: workload,
      baseline: mode === "uninstrumented",
      n: 40,
      warmup: 5,
      fn: () => {
        app.call(workload, 1);
      },
    });
  }
}

// V8 caches compiled modules by their bytes: a custom section with a fresh counter makes each
// compile a real one.
let serial = 0;
function uncachedBytes(): Uint8Array<ArrayBuffer> {
  const tag = new TextEncoder().encode(`bench${serial++}`.padEnd(12));
  const section = new Uint8Array([0, 1 + 1 + tag.length, 1, 0x78, ...tag]);
  const out = new Uint8Array(bytes.length + section.length);
  out.set(bytes);
  out.set(section, bytes.length);
  return out;
}
Deno.bench({
  name: "compile (V8) of workloads.wasm",
  group: "load",
  baseline: true,
  fn: async () => {
    await WebAssembly.compile(uncachedBytes());
  },
});
Deno.bench({
  name: "rewrite for deadline + fuel + stack + memory cap",
  group: "load",
  fn: () => {
    instrumentModule(bytes, readModule(bytes), {
      meter: true,
      stackLimit: 1 << 20,
      shadowStack: true,
      maxMemoryPages: 1024,
    });
  },
});

// Overshoot: how long after a 50 ms deadline a spinning loop stops. Printed, not benched.
const spin = await runtime.load(wat(`(module (func (export "spin") (loop $l (br $l))))`), "spin");
const app = await runtime.instantiate(spin, { limits: { deadlineMs: 50 } });
const overshoots: number[] = [];
for (let i = 0; i < 40; i++) {
  const start = performance.now();
  try {
    app.call("spin");
  } catch {
    overshoots.push(performance.now() - start - 50);
  }
}
overshoots.sort((a, b) => a - b);
const pick = (q: number) =>
  overshoots[Math.min(overshoots.length - 1, Math.floor(q * overshoots.length))]!;
console.log(
  `deadline overshoot past 50 ms over ${overshoots.length} runs: ` +
    `p50 ${pick(0.5).toFixed(2)} ms, p99 ${pick(0.99).toFixed(2)} ms, max ${pick(1).toFixed(2)} ms`,
);
