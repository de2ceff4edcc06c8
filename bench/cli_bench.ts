// Whole-app costs: CLI start-up against an empty `deno run`, fib through the runtime against
// raw WebAssembly.instantiate, and a printf-heavy app.
import { Runtime } from "../core/runtime.ts";
import libc from "../natives/libc/mod.ts";

const ROOT = new URL("../", import.meta.url);
const MOD = new URL("mod.ts", ROOT).pathname;
const HELLO = new URL("examples/hello/hello.wasm", ROOT).pathname;
const EMPTY = await Deno.makeTempFile({ suffix: ".ts" });
await Deno.writeTextFile(EMPTY, "");

async function denoRun(args: string[]): Promise<void> {
  const { code } = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...args],
    stdout: "null",
    stderr: "null",
  }).output();
  if (code !== 0) throw new Error(`deno run ${args.join(" ")} exited ${code}`);
}

// Warm Deno's transpile cache so the measured runs are what a user sees on a second run.
await denoRun(["--allow-read", MOD, HELLO]);

Deno.bench("deno run empty script", { group: "startup", baseline: true }, async () => {
  await denoRun([EMPTY]);
});
Deno.bench("deno run mod.ts hello.wasm", { group: "startup" }, async () => {
  await denoRun(["--allow-read", MOD, HELLO]);
});

const fibBytes = await Deno.readFile(new URL("examples/fib/fib.wasm", ROOT));
const runtime = new Runtime({ plugins: [libc], stdout: () => {} });
const fibModule = await runtime.load(fibBytes);

Deno.bench("fib(25): runtime instantiate + call", { group: "fib" }, () => {
  const app = runtime.instantiateSync(fibModule);
  app.call("fib", 25);
  app.free();
});
Deno.bench("fib(25): raw WebAssembly.Instance + call", { group: "fib", baseline: true }, () => {
  const instance = new WebAssembly.Instance(fibModule.module, {
    env: { printf: () => 0, atoi: () => 0 },
  });
  (instance.exports.fib as (n: number) => number)(25);
});

const printfModule = await runtime.load(new URL("examples/printf/printf.wasm", ROOT));
Deno.bench("printf showcase app (main, ~130 formatted lines)", { group: "printf" }, () => {
  const app = runtime.instantiateSync(printfModule);
  app.callMain(["printf.wasm"]);
  app.free();
});
