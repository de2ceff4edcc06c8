// Whole-app costs: CLI start-up against an empty `deno run`, fib through the runtime against
// raw WebAssembly.instantiate, and a printf-heavy app.
//
// The start-up group also splits the CLI's cost: importing mod.ts alone, a minimal entry that
// loads only the CLI, the core and libc (as TypeScript modules), and that entry bundled into
// one minified JavaScript file with esbuild-wasm (built here, in a temporary directory).
import { Runtime } from "../core/instance/runtime.ts";
import libc from "../natives/libc/mod.ts";

const ROOT = new URL("../", import.meta.url);
const MOD = new URL("mod.ts", ROOT).pathname;
const HELLO = new URL("examples/hello/hello.wasm", ROOT).pathname;
const TMP = await Deno.makeTempDir();
globalThis.addEventListener("unload", () => Deno.removeSync(TMP, { recursive: true }));
const EMPTY = `${TMP}/empty.ts`;
await Deno.writeTextFile(EMPTY, "");

async function denoRun(args: string[]): Promise<void> {
  const { code } = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...args],
    stdout: "null",
    stderr: "null",
  }).output();
  if (code !== 0) throw new Error(`deno run ${args.join(" ")} exited ${code}`);
}

const IMPORT_ONLY = `${TMP}/import_only.ts`;
await Deno.writeTextFile(IMPORT_ONLY, `import ${JSON.stringify(MOD)};\n`);
const MINIMAL = `${TMP}/minimal.ts`;
await Deno.writeTextFile(
  MINIMAL,
  `import { runCli } from ${JSON.stringify(new URL("core/cli/cli.ts", ROOT).pathname)};
import libc from ${JSON.stringify(new URL("natives/libc/mod.ts", ROOT).pathname)};
Deno.exit(await runCli(Deno.args, { builtins: { libc } }));
`,
);
const MINIMAL_BUNDLE = `${TMP}/minimal.min.js`;
const bundled = await new Deno.Command(Deno.execPath(), {
  args: [
    "run",
    "--allow-all",
    "--no-lock",
    "npm:esbuild-wasm@0.28.2",
    MINIMAL,
    "--bundle",
    "--minify",
    "--format=esm",
    "--platform=neutral",
    `--outfile=${MINIMAL_BUNDLE}`,
    "--log-level=error",
    // The serve, apps and host commands are imported on demand; hello.wasm never needs them.
    "--external:*_command.ts",
  ],
}).output();
const haveBundle = bundled.code === 0;
if (!haveBundle) console.error(new TextDecoder().decode(bundled.stderr));

// Warm Deno's transpile and code caches so the measured runs are what a user sees on a second run.
for (const script of [MOD, MINIMAL, ...(haveBundle ? [MINIMAL_BUNDLE] : [])]) {
  await denoRun(["--allow-read", script, HELLO]);
}
await denoRun([IMPORT_ONLY]);

Deno.bench("deno run empty script", { group: "startup", baseline: true }, async () => {
  await denoRun([EMPTY]);
});
Deno.bench("deno run mod.ts hello.wasm", { group: "startup" }, async () => {
  await denoRun(["--allow-read", MOD, HELLO]);
});
Deno.bench("deno run of a script that only imports mod.ts", { group: "startup" }, async () => {
  await denoRun([IMPORT_ONLY]);
});
Deno.bench(
  "minimal entry (cli + core + libc modules) hello.wasm",
  { group: "startup" },
  async () => {
    await denoRun(["--allow-read", MINIMAL, HELLO]);
  },
);
Deno.bench({
  name: "minimal entry bundled and minified, hello.wasm",
  group: "startup",
  ignore: !haveBundle,
  async fn() {
    await denoRun(["--allow-read", MINIMAL_BUNDLE, HELLO]);
  },
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
