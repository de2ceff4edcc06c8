/**
 * Embed and call: load a module, look at what it imports and exports, instantiate it with the
 * libc natives, call its exports with numbers and bigints, and run its `main` with arguments
 * while keeping what it prints.
 *
 * ```sh
 * deno run --allow-read examples/embed/embed_and_call.ts
 * ```
 *
 * @module
 */

import { formatFuncType, libc, Runtime } from "../../mod.ts";

// App output goes to this sink instead of stdout, so the host decides what to do with it.
let printed = "";
const decoder = new TextDecoder();
function keepOutput(bytes: Uint8Array): void {
  printed += decoder.decode(bytes, { stream: true });
}

const runtime = new Runtime({ plugins: [libc], stdout: keepOutput });

// A path, a URL, or the bytes themselves; a bad binary throws LoadError here.
const module = await runtime.load(new URL("../fib/fib.wasm", import.meta.url));
const imports = module.info.imports.map((i) => `${i.module}.${i.name}`);
console.log(`loaded ${module.name}: ${module.bytes.length} bytes`);
console.log(`imports: ${imports.join(", ")}`);

// Natives are resolved and signature-checked here; a mismatch throws LinkError.
const app = await runtime.instantiate(module);
try {
  for (const name of ["fib", "add", "i64f", "f32f"]) {
    console.log(`export ${name}: ${formatFuncType(app.functionType(name)!)}`);
  }

  // Arguments and results follow the wasm types: numbers for i32, f32 and f64, bigints for i64
  // (a number is accepted for an i64 parameter).
  console.log(`fib(20) = ${app.call("fib", 20)}`);
  console.log(`i64f(5, 2.5) = ${app.call("i64f", 5n, 2.5)} (a bigint)`);
  console.log(`f32f(2) = ${app.call("f32f", 2)}`);

  // lookup checks the export against a signature string and returns the raw function: the
  // cheapest way to call the same export many times.
  const add = app.lookup("add", "(ii)i") as (a: number, b: number) => number;
  let sum = 0;
  for (let i = 1; i <= 100; i++) sum = add(sum, i);
  console.log(`add 1..100 through lookup = ${sum}`);

  // main(argc, argv): argv[0] is the program name, as iwasm passes it.
  const status = app.callMain(["fib.wasm", "25"]);
  app.stdout.flush();
  console.log(`main returned ${status} and printed: ${JSON.stringify(printed)}`);
} finally {
  app.free();
}
