/**
 * Limits: running untrusted code under a fuel budget (deterministic metering), a wall-clock
 * deadline per call (a CPU-bound export is stopped without stopping the process), a memory cap
 * and a stack size. Each is compiled into the app at load time, only when asked for; see the
 * README's Limits section.
 *
 * ```sh
 * deno run --allow-read examples/embed/limits.ts
 * ```
 *
 * @module
 */

import { libc, LoadError, Runtime, TrapError } from "../../mod.ts";

const runtime = new Runtime({ plugins: [libc] });
const examples = new URL("../", import.meta.url);

// Runs a call that is expected to break a limit and prints the trap.
function expectTrap(label: string, call: () => unknown): void {
  try {
    console.log(`${label}: returned ${call()}`);
  } catch (error) {
    if (!(error instanceof TrapError)) throw error;
    console.log(`${label}: Exception: ${error.message}`);
  }
}

// Fuel: about one unit per instruction, the same on every run for the same call.
const fib = await runtime.load(new URL("fib/fib.wasm", examples));
const metered = await runtime.instantiate(fib, { limits: { fuel: 10_000_000 } });
function fuelOf(call: () => unknown): number {
  const before = metered.fuel!;
  call();
  return before - metered.fuel!;
}
const used = fuelOf(() => metered.call("fib", 20));
const again = fuelOf(() => metered.call("fib", 20));
console.log(`fuel: fib(20) used ${used} units, the same the second time: ${used === again}`);
expectTrap("fuel: fib(30)", () => metered.call("fib", 30));
console.log(`fuel left: ${metered.fuel}`);
metered.fuel = 1_000_000; // refuel
console.log(`fuel: after refuelling, fib(15) = ${metered.call("fib", 15)}`);
metered.free();

// Deadline: a wall-clock budget for each call. JS timers cannot fire while wasm runs, so the
// checks are compiled into the app's loops and function entries.
const workloads = await runtime.load(new URL("limits/workloads.wasm", examples));
const timed = await runtime.instantiate(workloads, { limits: { deadlineMs: 50 } });
const started = performance.now();
expectTrap("deadline 50 ms: sha256_run(1000000)", () => timed.call("sha256_run", 1_000_000));
const elapsed = performance.now() - started;
console.log(`deadline: stopped after ${Math.floor(elapsed)} ms`);
timed.deadlineMs = 0; // per call; 0 turns it off (the checks stay compiled in)
console.log(`deadline off: matmul_run(1) = ${timed.call("matmul_run", 1)}`);
timed.free();

// Memory: the module's maximum is lowered to the cap, the app heap counted inside it.
const capped = await runtime.instantiate(fib, { limits: { maxMemory: 3 * 65536 } });
console.log(`memory cap: ${capped.memoryLimit} bytes, ${capped.memory.size} in use`);
capped.free();
try {
  await runtime.instantiate(workloads, { limits: { maxMemory: 1024 * 1024 } });
} catch (error) {
  if (!(error instanceof LoadError)) throw error;
  console.log(`memory cap 1 MiB for a 2 MiB app: LoadError: ${error.message}`);
}

// Stack: bounds the call depth and checks C's shadow stack against the data below it.
const recursion = await runtime.load(new URL("limits/recursion.wasm", examples));
const stacked = await runtime.instantiate(recursion, { limits: { stackSize: 8192 } });
console.log(`stack: shadow_overflow(2) = ${stacked.call("shadow_overflow", 2)}`);
expectTrap("stack: shadow_overflow(100)", () => stacked.call("shadow_overflow", 100));
expectTrap("stack: call_overflow(1000000)", () => stacked.call("call_overflow", 1_000_000));
stacked.free();
