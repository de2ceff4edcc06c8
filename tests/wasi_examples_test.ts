// The WASI examples (examples/wasi/build.ts): for each toolchain, the committed module is what
// a rebuild makes, and through the embedding API it prints the same and exits with the same
// status as under node:wasi run by `node`, and refuses the same escapes.
import assert from "node:assert/strict";
import { Runtime } from "../mod.ts";
import libc from "../natives/libc/mod.ts";
import wasi, { WasiExit, type WasiPreopen } from "../natives/wasi/mod.ts";
import {
  checkWasiExample,
  WASI_EXAMPLES,
  type WasiExample,
  wasiWasmPath,
} from "../examples/wasi/build.ts";
import { tempDir } from "./_wasi.ts";

const decoder = new TextDecoder();

// node:wasi with `env.abort` for AssemblyScript's default abort: argv is APP.wasm CONFIG.
const NODE_RUNNER = `
import { WASI } from "node:wasi";
import { readFile } from "node:fs/promises";
const [wasmPath, configJson] = process.argv.slice(1);
const config = JSON.parse(configJson);
const wasi = new WASI({ version: "preview1", returnOnExit: true, ...config });
const module = await WebAssembly.compile(await readFile(wasmPath));
const env = { abort() { throw new Error("abort"); } };
const instance = await WebAssembly.instantiate(module, { ...wasi.getImportObject(), env });
process.exitCode = wasi.start(instance);
`;

interface Run {
  stdout: string;
  stderr: string;
  code: number;
}

interface Config {
  args: string[];
  env: Record<string, string>;
  preopens: WasiPreopen[];
}

async function runOurs(example: WasiExample, config: Config): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const runtime = new Runtime({
    plugins: [
      libc,
      wasi.configure({
        ...config,
        stderr: { writeSync: (bytes) => (err.push(decoder.decode(bytes)), bytes.length) },
      }),
    ],
    stdout: (bytes) => out.push(decoder.decode(bytes)),
  });
  const module = await runtime.load(await Deno.readFile(wasiWasmPath(example)));
  const app = await runtime.instantiate(module, { heapSize: 0 });
  let code = 0;
  try {
    app.call("_start");
  } catch (error) {
    if (!(error instanceof WasiExit)) throw error;
    code = error.code;
  } finally {
    app.stdout.flush();
    app.free();
  }
  return { stdout: out.join(""), stderr: err.join(""), code };
}

async function runNode(example: WasiExample, config: Config): Promise<Run> {
  const preopens = Object.fromEntries(config.preopens.map((p) => [p.guest, p.host]));
  const json = JSON.stringify({ args: config.args, env: config.env, preopens });
  const output = await new Deno.Command("node", {
    args: ["--no-warnings", "--input-type=module", "-e", NODE_RUNNER, wasiWasmPath(example), json],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
    code: output.code,
  };
}

/** Every file under `dir`, with its bytes in base64. */
function snapshot(dir: string, prefix = ""): Record<string, string> {
  const files: Record<string, string> = {};
  for (const entry of [...Deno.readDirSync(`${dir}/${prefix}`)]) {
    const path = prefix + entry.name;
    if (entry.isDirectory) Object.assign(files, snapshot(dir, `${path}/`));
    else files[path] = btoa(String.fromCharCode(...Deno.readFileSync(`${dir}/${path}`)));
  }
  return Object.fromEntries(Object.entries(files).sort(([a], [b]) => a < b ? -1 : 1));
}

const SOURCE_BYTES = crypto.getRandomValues(new Uint8Array(50_000));

/** `in/src.bin`, an empty `out/`, and `outside.txt` next to them that no app may reach. */
function prepare(dir: string, args: string[]): Config {
  Deno.mkdirSync(`${dir}/in`);
  Deno.mkdirSync(`${dir}/out`);
  Deno.writeFileSync(`${dir}/in/src.bin`, SOURCE_BYTES);
  Deno.writeTextFileSync(`${dir}/outside.txt`, "outside");
  return {
    args: ["wasi_app", ...args],
    env: { HOME: "/home/app", GREETING: "hello, wasm" },
    preopens: [{ guest: "/in", host: `${dir}/in` }, { guest: "/out", host: `${dir}/out` }],
  };
}

/** Runs under both, each in a fresh directory; the directories must end up the same. */
async function both(
  example: WasiExample,
  args: string[],
): Promise<{ ours: Run; node: Run; files: Record<string, string> }> {
  using a = tempDir();
  using b = tempDir();
  const ours = await runOurs(example, prepare(a.dir, args));
  const node = await runNode(example, prepare(b.dir, args));
  const files = snapshot(a.dir);
  assert.deepEqual(files, snapshot(b.dir), "the same files afterwards");
  return { ours, node, files };
}

for (const example of WASI_EXAMPLES) {
  const name = `wasi examples: ${example.dir}`;

  Deno.test(`${name} wasi_app.wasm is byte for byte what a rebuild makes`, async () => {
    assert.equal(await checkWasiExample(example), undefined);
  });

  Deno.test(`${name} copies, echoes args and GREETING, reads clocks and random, exits as under node:wasi`, async () => {
    const { ours, node, files } = await both(example, [
      "/in/src.bin",
      "/out/copy.bin",
      "3",
      "two words",
      "ünïcödé",
    ]);
    assert.equal(
      ours.stdout,
      [
        "argc 6",
        "argv[1] /in/src.bin",
        "argv[2] /out/copy.bin",
        "argv[3] 3",
        "argv[4] two words",
        "argv[5] ünïcödé",
        "env GREETING=hello, wasm",
        "copy /in/src.bin -> /out/copy.bin: 50000 bytes",
        "clock ok",
        "random 16 bytes",
        "exit 3",
        "",
      ].join("\n"),
    );
    assert.equal(ours.code, 3);
    assert.deepEqual(ours, node);
    assert.equal(files["out/copy.bin"], files["in/src.bin"]);
  });

  Deno.test(`${name} refuses paths out of its preopens (notcapable, errno 76) as node:wasi does`, async () => {
    for (
      const [from, to] of [
        ["/in/../outside.txt", "/out/copy.txt"],
        ["/in/src.bin", "/out/../escaped.txt"],
        ["/in/../../../../etc/passwd", "/out/passwd"],
      ] as const
    ) {
      const { ours, node, files } = await both(example, [from, to, "0"]);
      assert.match(ours.stdout, new RegExp(`\ncopy ${from} -> ${to}: errno 76\n`));
      assert.equal(ours.code, 0);
      assert.deepEqual(ours, node);
      assert.deepEqual(Object.keys(files), ["in/src.bin", "outside.txt"]);
    }
  });

  Deno.test(`${name} exits 2 with a usage line on stderr when arguments are missing, as under node:wasi`, async () => {
    const { ours, node } = await both(example, ["/in/src.bin"]);
    assert.deepEqual(ours, {
      stdout: "",
      stderr: "usage: wasi_app SRC DST STATUS [ARG...]\n",
      code: 2,
    });
    assert.deepEqual(ours, node);
  });
}

Deno.test("wasi examples: rust runs through the CLI with --dir, --map-dir and --env, scoped to its dirs, as under node:wasi", async () => {
  const rust = WASI_EXAMPLES.find((example) => example.dir === "rust")!;
  const root = new URL("..", import.meta.url).pathname;
  for (
    const [from, to, status] of [
      ["/in/src.bin", "/out/copy.bin", "7"],
      ["/in/../outside.txt", "/out/copy.bin", "0"],
    ] as const
  ) {
    using a = tempDir();
    using b = tempDir();
    prepare(a.dir, []);
    const output = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--no-prompt",
        `--allow-read=${root},${a.dir}/in,${a.dir}/out`,
        `--allow-write=${a.dir}/out`,
        `${root}mod.ts`,
        `--dir=${a.dir}/in::/in`,
        `--map-dir=/out::${a.dir}/out`,
        "--env=GREETING=hello, wasm",
        wasiWasmPath(rust),
        from,
        to,
        status,
      ],
      env: { NO_COLOR: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const ours = {
      stdout: decoder.decode(output.stdout),
      stderr: decoder.decode(output.stderr),
      code: output.code,
    };
    const node = await runNode(rust, {
      ...prepare(b.dir, [from, to, status]),
      env: { GREETING: "hello, wasm" },
    });
    assert.deepEqual(snapshot(a.dir), snapshot(b.dir), "the same files afterwards");
    assert.deepEqual(ours, node);
    assert.equal(ours.code, Number(status));
    assert.match(
      ours.stdout,
      new RegExp(`\ncopy ${from} -> ${to}: ${status === "7" ? "50000 bytes" : "errno 76"}\n`),
    );
  }
});
