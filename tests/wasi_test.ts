// The WASI library as a whole: a C program built with wasi-libc at test time prints the
// same and exits with the same status under micro-runtime as under node:wasi (run by
// `node`), escapes are refused, Deno's permissions can be scoped to the mapped directories,
// stdout shares libc's buffer, and the library's options.
import assert from "node:assert/strict";
import { wat } from "./_wat.ts";
import { Runtime } from "../core/instance/runtime.ts";
import type { AppModule } from "../core/module/module.ts";
import libc from "../natives/libc/mod.ts";
import wasi, { createWasiLibrary, WasiExit, type WasiPreopen } from "../natives/wasi/mod.ts";
import { tempDir } from "./_wasi.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const DEMO_SOURCE = `${ROOT}tests/fixtures/wasi_demo.c`;
const NODE_RUNNER = `${ROOT}tests/fixtures/wasi_node_runner.mjs`;
const decoder = new TextDecoder();

async function _run(command: string, args: string[], cwd?: string): Promise<Deno.CommandOutput> {
  const output = await new Deno.Command(command, {
    args,
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
    ...(cwd ? { cwd } : {}),
  }).output();
  return output;
}

let _demo: Promise<string> | undefined;

/** Builds wasi_demo.c once per run; returns the .wasm path (in a temp dir removed at exit). */
function demoWasm(): Promise<string> {
  return _demo ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "wasi_demo_" });
    globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
    // Compile and link apart: the link step without -O never runs a wasm-opt found on PATH,
    // so the build is the same everywhere (clang-19's --no-wasm-opt skips linking).
    for (
      const args of [
        [
          "--target=wasm32-wasi",
          "-O2",
          "-Wall",
          "-Werror",
          "-c",
          DEMO_SOURCE,
          "-o",
          `${dir}/demo.o`,
        ],
        ["--target=wasm32-wasi", `${dir}/demo.o`, "-o", `${dir}/demo.wasm`],
      ]
    ) {
      const out = await _run("clang-19", args);
      if (!out.success) throw new Error(`clang-19 failed:\n${decoder.decode(out.stderr)}`);
    }
    return `${dir}/demo.wasm`;
  })();
}

let _module: Promise<AppModule> | undefined;

interface RunResult {
  stdout: string;
  code: number;
}

interface RunConfig {
  args: string[];
  env?: Record<string, string>;
  preopens?: WasiPreopen[];
}

async function runOurs(config: RunConfig): Promise<RunResult & { stderr: string }> {
  const chunks: string[] = [];
  const errors: string[] = [];
  const library = createWasiLibrary({
    args: config.args,
    env: config.env ?? {},
    preopens: config.preopens ?? [],
    stderr: { writeSync: (b) => (errors.push(decoder.decode(b)), b.length) },
  });
  const runtime = new Runtime({
    plugins: [library],
    stdout: (b) => chunks.push(decoder.decode(b)),
  });
  _module ??= (async () => runtime.load(await Deno.readFile(await demoWasm())))();
  const app = await runtime.instantiate(await _module, { heapSize: 0 });
  let code = 0;
  try {
    app.call("_start");
  } catch (e) {
    if (!(e instanceof WasiExit)) throw e;
    code = e.code;
  } finally {
    app.free();
  }
  return { stdout: chunks.join(""), stderr: errors.join(""), code };
}

async function runNode(config: RunConfig): Promise<RunResult> {
  const preopens = Object.fromEntries((config.preopens ?? []).map((p) => [p.guest, p.host]));
  const json = JSON.stringify({ args: config.args, env: config.env ?? {}, preopens });
  const out = await _run("node", ["--no-warnings", NODE_RUNNER, await demoWasm(), json]);
  return { stdout: decoder.decode(out.stdout), code: out.code };
}

/**
 * Runs under both, each in a fresh dir prepared the same way; the dirs must end up the same,
 * and `inspect` sees them before they are removed.
 */
async function both(
  prepare: (dir: string) => RunConfig,
  inspect: (dirs: [string, string]) => void = () => {},
): Promise<{ ours: RunResult & { stderr: string }; node: RunResult }> {
  using a = tempDir();
  using b = tempDir();
  const ours = await runOurs(prepare(a.dir));
  const node = await runNode(prepare(b.dir));
  assert.deepEqual(_snapshot(a.dir), _snapshot(b.dir), "the same files afterwards");
  inspect([a.dir, b.dir]);
  return { ours, node };
}

/** Every file under `dir` with its bytes, links with their targets (`dir` shown as `<dir>`). */
function _snapshot(dir: string, prefix = ""): Record<string, string> {
  const out: Record<string, string> = {};
  for (
    const entry of [...Deno.readDirSync(`${dir}/${prefix}`)].sort((x, y) =>
      x.name < y.name ? -1 : 1
    )
  ) {
    const rel = prefix + entry.name;
    if (entry.isSymlink) {
      out[rel] = `-> ${Deno.readLinkSync(`${dir}/${rel}`).replace(dir, "<dir>")}`;
    } else if (entry.isDirectory) {
      Object.assign(out, { [rel + "/"]: "" }, _snapshot(dir, rel + "/"));
    } else out[rel] = btoa(String.fromCharCode(...Deno.readFileSync(`${dir}/${rel}`)));
  }
  return out;
}

Deno.test("wasi: C file copy between two preopened dirs matches node:wasi", async () => {
  const data = crypto.getRandomValues(new Uint8Array(50_000));
  const { ours, node } = await both((dir) => {
    Deno.mkdirSync(`${dir}/in`);
    Deno.mkdirSync(`${dir}/out`);
    Deno.writeFileSync(`${dir}/in/src.bin`, data);
    return {
      args: ["demo", "copy", "/in/src.bin", "/out/copy.bin"],
      preopens: [{ guest: "/in", host: `${dir}/in` }, { guest: "/out", host: `${dir}/out` }],
    };
  }, ([ourDir]) => assert.deepEqual(Deno.readFileSync(`${ourDir}/out/copy.bin`), data));
  assert.equal(ours.stdout, "copied 50000 bytes\n");
  assert.deepEqual(ours, { ...node, stderr: "" });
});

Deno.test("wasi: C args and environment echo matches node:wasi", async () => {
  const config = {
    args: ["demo", "echo", "two words", "ünïcödé", ""],
    env: { HOME: "/home/app", EMPTY: "", "WITH=EQUALS": "x=y" },
  };
  const ours = await runOurs(config);
  const node = await runNode(config);
  assert.match(ours.stdout, /^argc=5\nargv\[1\]=echo\nargv\[2\]=two words\nargv\[3\]=ünïcödé\n/);
  assert.match(ours.stdout, /env HOME=\/home\/app\n/);
  assert.deepEqual(ours, { ...node, stderr: "" });
});

Deno.test("wasi: C clocks and nanosleep behave as under node:wasi", async () => {
  const ours = await runOurs({ args: ["demo", "clock"] });
  // node:wasi's nanosleep sometimes ends before 20 ms of monotonic time have passed (node's run
  // printed 0 there about 1 run in 25 under load, ours never): node's run is taken again, up to
  // 3 runs, while it shows that. Ours is asserted exactly, every time.
  let node = await runNode({ args: ["demo", "clock"] });
  for (let runs = 1; runs < 3 && node.stdout.includes("slept at least 20 ms: 0"); runs++) {
    node = await runNode({ args: ["demo", "clock"] });
  }
  assert.equal(
    ours.stdout,
    "realtime after 2020: 1\nslept at least 20 ms: 1\nslept under 2 s: 1\nres ok: 1\n" +
      "process clock: 1\n",
  );
  assert.deepEqual(ours, { ...node, stderr: "" });
});

Deno.test("wasi: C getentropy behaves as under node:wasi", async () => {
  const ours = await runOurs({ args: ["demo", "random"] });
  const node = await runNode({ args: ["demo", "random"] });
  assert.equal(
    ours.stdout,
    "getentropy ok: 1, draws differ: 1, nonzero: 1\ngetentropy over 256 refused: 1\n",
  );
  assert.deepEqual(ours, { ...node, stderr: "" });
});

Deno.test("wasi: exit statuses match node:wasi (exit(N), return from main, bad usage)", async () => {
  for (const args of [["demo", "exit", "42"], ["demo", "exit", "0"], ["demo", "echo"], ["demo"]]) {
    const ours = await runOurs({ args });
    const node = await runNode({ args });
    assert.equal(ours.code, node.code, args.join(" "));
    assert.equal(ours.stdout, node.stdout, args.join(" "));
  }
  assert.equal((await runOurs({ args: ["demo", "exit", "42"] })).code, 42);
  assert.equal((await runOurs({ args: ["demo", "nope"] })).stderr, "unknown mode nope\n");
});

function escapeFixture(dir: string): RunConfig {
  const root = `${dir}/root`;
  Deno.mkdirSync(`${root}/sub`, { recursive: true });
  Deno.writeTextFileSync(`${root}/inside.txt`, "inside");
  Deno.writeTextFileSync(`${dir}/outside.txt`, "outside");
  Deno.symlinkSync("../outside.txt", `${root}/up_link`);
  Deno.symlinkSync(`${dir}/outside.txt`, `${root}/abs_link`);
  Deno.symlinkSync("inside.txt", `${root}/inside_link`);
  Deno.symlinkSync("loop_link", `${root}/loop_link`);
  Deno.symlinkSync("nothing", `${root}/dangling_link`);
  return { args: ["demo", "escape", "/r"], preopens: [{ guest: "/r", host: root }] };
}

Deno.test("wasi: C escape attempts are refused as under node:wasi", async () => {
  const { ours, node } = await both(escapeFixture, (dirs) => {
    for (const dir of dirs) assert.throws(() => Deno.statSync(`${dir}/made`), Deno.errors.NotFound);
  });
  assert.equal(
    ours.stdout,
    [
      "open /r/../outside.txt: Capabilities insufficient",
      "open /r/sub/../../outside.txt: Capabilities insufficient",
      "open /r/up_link: Capabilities insufficient",
      "open /r/abs_link: Capabilities insufficient",
      "open /r/sub/../inside.txt: OPENED (inside)",
      "open /r/inside_link: OPENED (inside)",
      "open /r/loop_link: Symbolic link loop",
      "open /r/dangling_link: No such file or directory",
      "mkdir ../made: Capabilities insufficient",
      "open /r/inside.txt/: Not a directory",
      "",
    ].join("\n"),
  );
  assert.deepEqual(ours, { ...node, stderr: "" });
});

Deno.test("wasi: C directory listing, seek/tell, truncate, rename over a dir match node:wasi", async () => {
  const { ours, node } = await both((dir) => {
    Deno.mkdirSync(`${dir}/sub`);
    Deno.writeTextFileSync(`${dir}/a.txt`, "12345");
    Deno.symlinkSync("a.txt", `${dir}/link`);
    return { args: ["demo", "tree", "/d"], preopens: [{ guest: "/d", host: dir }] };
  });
  assert.equal(
    ours.stdout,
    "file a.txt 5\nlink link 0\ndir sub 0\nseek end-3: 7\nread: 789, tell: 10\n" +
      "truncated size: 4\nrename file over dir: Is a directory\n",
  );
  assert.deepEqual(ours, { ...node, stderr: "" });
});

Deno.test("wasi: runs under Deno permissions scoped to the mapped directories", async () => {
  using t = tempDir();
  const wasm = await demoWasm();
  Deno.mkdirSync(`${t.dir}/in`);
  Deno.mkdirSync(`${t.dir}/out`);
  Deno.writeTextFileSync(`${t.dir}/in/src.txt`, "scoped");
  Deno.writeTextFileSync(`${t.dir}/secret.txt`, "secret");
  Deno.symlinkSync("../secret.txt", `${t.dir}/in/up_link`);
  const script = `${t.dir}/run.ts`;
  Deno.writeTextFileSync(
    script,
    `import { Runtime } from "${ROOT}core/instance/runtime.ts";
import { createWasiLibrary, WasiExit } from "${ROOT}natives/wasi/mod.ts";
const preopens = [{ guest: "/in", host: "${t.dir}/in" }, { guest: "/out", host: "${t.dir}/out" }];
for (const args of [["demo", "copy", "/in/src.txt", "/out/dst.txt"], ["demo", "escape", "/in"]]) {
  const runtime = new Runtime({ plugins: [createWasiLibrary({ args, preopens })] });
  const app = await runtime.instantiate(await runtime.load("${wasm}"), { heapSize: 0 });
  try { app.call("_start"); } catch (e) { if (!(e instanceof WasiExit)) throw e; }
  app.stdout.flush();
}
`,
  );
  const out = await _run(Deno.execPath(), [
    "run",
    "--no-prompt",
    `--allow-read=${t.dir}/in,${t.dir}/out,${wasm}`,
    `--allow-write=${t.dir}/out`,
    script,
  ]);
  const stdout = decoder.decode(out.stdout);
  assert.equal(out.success, true, decoder.decode(out.stderr));
  assert.match(stdout, /^copied 6 bytes\n/);
  assert.match(stdout, /open \/in\/up_link: Capabilities insufficient\n/);
  assert.match(stdout, /open \/in\/\.\.\/outside\.txt: Capabilities insufficient\n/);
  assert.equal(Deno.readTextFileSync(`${t.dir}/out/dst.txt`), "scoped");
});

Deno.test("wasi: a preopen Deno may not write answers notcapable, not a permission prompt", async () => {
  using t = tempDir();
  const wasm = await demoWasm();
  const script = `${t.dir}/run.ts`;
  Deno.mkdirSync(`${t.dir}/ro`);
  Deno.writeTextFileSync(`${t.dir}/ro/src.txt`, "read only");
  Deno.writeTextFileSync(
    script,
    `import { Runtime } from "${ROOT}core/instance/runtime.ts";
import { createWasiLibrary } from "${ROOT}natives/wasi/mod.ts";
const args = ["demo", "copy", "/ro/src.txt", "/ro/dst.txt"];
const runtime = new Runtime({ plugins: [createWasiLibrary({ args, preopens: [{ guest: "/ro", host: "${t.dir}/ro" }] })] });
const app = await runtime.instantiate(await runtime.load("${wasm}"), { heapSize: 0 });
app.call("_start");
app.stdout.flush();
`,
  );
  const out = await _run(Deno.execPath(), [
    "run",
    "--no-prompt",
    `--allow-read=${t.dir}/ro,${wasm}`,
    script,
  ]);
  assert.equal(decoder.decode(out.stdout), "create /ro/dst.txt: Capabilities insufficient\n");
  assert.throws(() => Deno.statSync(`${t.dir}/ro/dst.txt`), Deno.errors.NotFound);
});

Deno.test("wasi: stdout shares libc's output buffer, so printf and fd_write keep their order", async () => {
  const bytes = wat(`(module
    (import "env" "puts" (func $puts (param i32) (result i32)))
    (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
    (memory (export "memory") 1)
    (data (i32.const 16) "one\\00three\\00")
    (data (i32.const 32) "two\\n")
    (data (i32.const 48) "\\20\\00\\00\\00\\04\\00\\00\\00")
    (func (export "_start")
      (drop (call $puts (i32.const 16)))
      (drop (call $fd_write (i32.const 1) (i32.const 48) (i32.const 1) (i32.const 64)))
      (drop (call $puts (i32.const 20)))))`);
  const sink: string[] = [];
  const runtime = new Runtime({
    plugins: [libc, wasi],
    stdout: (b) => sink.push(decoder.decode(b)),
  });
  const app = await runtime.instantiate(await runtime.load(bytes), { heapSize: 0 });
  app.call("_start");
  app.stdout.flush();
  assert.equal(sink.join(""), "one\ntwo\nthree\n");
  app.free();
});

Deno.test("wasi: configure takes typed options from code and text from a command line", () => {
  const lib = wasi.configure({ args: ["a", "b"], env: { K: "v" } });
  assert.equal(lib.options.args, '["a","b"]');
  assert.equal(lib.options.env, '{"K":"v"}');
  const cli = wasi
    .configure({ dir: "./data::/data" })
    .configure({ mapdir: "/tmp::/var/tmp", env: "A=1", args: "prog  -v  x" })
    .configure({ dir: "/plain" });
  assert.equal(cli.options.preopens, "./data::/data;/var/tmp::/tmp;/plain::/plain");
  assert.equal(cli.options.env, '{"A":"1"}');
  assert.equal(cli.options.args, '["prog","-v","x"]');
  assert.throws(() => wasi.configure({ nope: "1" }), /unknown option "nope"/);
  assert.throws(() => wasi.configure({ mapdir: "/only" }), /GUEST::HOST/);
  assert.throws(() => wasi.configure({ env: "NOEQUALS" }), /KEY=value/);
  assert.throws(() => wasi.configure({ stdin: "x" }), /cannot be given as text/);
  assert.equal(wasi.module, "wasi_snapshot_preview1");
});

Deno.test("wasi: a missing preopened directory fails the app's instantiation by name", async () => {
  using t = tempDir();
  Deno.writeTextFileSync(`${t.dir}/file`, "");
  for (
    const [host, reason] of [[`${t.dir}/missing`, /No such file/], [
      `${t.dir}/file`,
      /not a directory/,
    ]] as const
  ) {
    const runtime = new Runtime({
      plugins: [createWasiLibrary({ preopens: [{ guest: "/x", host }] })],
    });
    await assert.rejects(
      async () => runtime.instantiate(await runtime.load(await demoWasm()), { heapSize: 0 }),
      (e: Error) =>
        e.message.startsWith(`Cannot preopen "${host}" as "/x": `) && reason.test(e.message),
    );
  }
});

Deno.test("wasi: WasiExit is a trap that callers tell apart by class and code", async () => {
  const ours = await runOurs({ args: ["demo", "exit", "3"] });
  assert.equal(ours.code, 3);
  const e = new WasiExit(300);
  assert.equal(e.name, "WasiExit");
  assert.equal(e.code, 300);
});
