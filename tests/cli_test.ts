import assert from "node:assert/strict";
import { runCli } from "../core/cli/cli.ts";
import libc from "../natives/libc/mod.ts";

const ROOT = new URL("../", import.meta.url);
const MOD = new URL("mod.ts", ROOT).pathname;
const HELLO = "examples/hello/hello.wasm";
const FIB = "examples/fib/fib.wasm";
const TRAPS = "examples/traps/traps.wasm";

/** Runs the CLI in-process, capturing stdout and stderr. */
async function cli(args: string[], stdin?: string[]) {
  const dec = new TextDecoder();
  let out = "";
  let err = "";
  const code = await runCli(args, {
    builtins: { libc },
    stdout: (b) => out += dec.decode(b),
    stderr: (t) => err += t,
    ...(stdin
      ? {
        stdin: (async function* () {
          yield* stdin;
        })(),
      }
      : {}),
  });
  return { code, out, err };
}

/** Runs `deno run mod.ts` as a real process. */
async function run(args: string[], permissions = ["--allow-read"]) {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...permissions, MOD, ...args],
    cwd: ROOT.pathname,
    env: { NO_COLOR: "1" },
  }).output();
  const dec = new TextDecoder();
  return { code, out: dec.decode(stdout), err: dec.decode(stderr) };
}

Deno.test("cli: the demo prints the seed README's hello world", async () => {
  const { code, out, err } = await run([HELLO, "foo"]);
  assert.equal(err, "");
  assert.equal(code, 0);
  assert.match(
    out,
    /^Hello world!\nbuf ptr: 0x[0-9a-f]{8}\nbuf: 1234\nargc=2 argv0=examples\/hello\/hello\.wasm\nargv1=foo\n$/,
  );
});

Deno.test("cli: main/argv marshalling passes every argument", async () => {
  const { code, out } = await cli([HELLO, "a", "", "ünï"]);
  assert.equal(code, 0);
  assert.ok(out.endsWith("argc=4 argv0=examples/hello/hello.wasm\nargv1=a\nargv2=\nargv3=ünï\n"));
});

Deno.test("cli: -f parses arguments by type and formats results like iwasm", async () => {
  const cases: [string[], string][] = [
    [["-f", "divz", FIB, "5"], "0x2:i32\n"],
    [["-f", "add", FIB, "0x10", "-1"], "0xf:i32\n"],
    [["-f", "add", FIB, "010", "1"], "0x9:i32\n"],
    [["-f", "add", FIB, "-5", "2"], "0xfffffffd:i32\n"],
    [["-f", "i64f", FIB, "5", "2.5"], "0xc:i64\n"],
    [["-f", "f32f", FIB, "2"], "3:f32\n"],
    [["-f", "f64f", FIB, "1e300"], "1.5e+300:f64\n"],
    [["-f", "f64f", FIB, "inf"], "inf:f64\n"],
    [["-f", "f64f", FIB, "0x1p-2"], "0.375:f64\n"],
    [["--function=fib", FIB, "20"], "0x1a6d:i32\n"],
  ];
  for (const [args, expected] of cases) {
    const { code, out } = await cli(args);
    assert.equal(out, expected, args.join(" "));
    assert.equal(code, 0);
  }
});

Deno.test("cli: -f errors use iwasm's wording and exit 1", async () => {
  const cases: [string[], string][] = [
    [["-f", "nosuch", FIB], "Exception: lookup function nosuch failed\n"],
    [["-f", "add", FIB, "1"], "Exception: invalid input argument count\n"],
    [["-f", "add", FIB, "1", ""], "Exception: invalid input argument 1\n"],
    [["-f", "add", FIB, "1", "zz"], "Exception: invalid input argument 1: zz\n"],
    [["-f", "f64f", FIB, "1.5x"], "Exception: invalid input argument 0: 1.5x\n"],
  ];
  for (const [args, expected] of cases) {
    const { code, out } = await cli(args);
    assert.equal(out, expected, args.join(" "));
    assert.equal(code, 1);
  }
});

Deno.test("cli: traps print WAMR's exception line and exit 1", async () => {
  const cases: [string, string[], string][] = [
    ["unreachable_trap", [], "unreachable"],
    ["oob_load", [], "out of bounds memory access"],
    ["divz", ["0"], "integer divide by zero"],
    ["int_overflow", [], "integer overflow"],
    ["bad_convert", [], "invalid conversion to integer"],
    ["indirect_mismatch", [], "indirect call type mismatch"],
    ["stack_overflow", [], "wasm operand stack overflow"],
    ["strlen_bad", [], "out of bounds memory access"],
    ["call_missing", [], "failed to call unlinked import function (env, foo_missing)"],
  ];
  for (const [fn, args, message] of cases) {
    const { code, out, err } = await cli(["-f", fn, TRAPS, ...args]);
    assert.equal(out, `Exception: ${message}\n`, fn);
    assert.equal(err, "warning: failed to link import function (env, foo_missing)\n");
    assert.equal(code, 1);
  }
});

Deno.test("cli: a real process exits 1 on a trap, output flushed before the exception", async () => {
  const { code, out } = await run(["-f", "divz", TRAPS, "0"]);
  assert.equal(code, 1);
  assert.equal(out, "Exception: integer divide by zero\n");
});

Deno.test("cli: --heap-size=0 makes argv allocation fail like iwasm", async () => {
  const { code, out, err } = await cli(["--heap-size=0", HELLO]);
  assert.equal(out, "Exception: allocate memory failed\n");
  assert.match(err, /^warning: allocate \d+ bytes memory failed\n$/);
  assert.equal(code, 1);
});

Deno.test("cli: unknown flags, bad values and missing files get one line and exit 2", async () => {
  const cases: [string[], string][] = [
    [["--bogus", HELLO], 'error: Unknown option "--bogus". Run with --help for usage.\n'],
    [
      ["--heap-size=lots", HELLO],
      'error: Invalid value for --heap-size: "lots" (expected a byte count). Run with --help for usage.\n',
    ],
    [["-f"], "error: Missing value for -f. Run with --help for usage.\n"],
    [[], "error: missing wasm_file. Run with --help for usage.\n"],
    [["nofile.wasm"], 'error: Cannot read "nofile.wasm": no such file\n'],
    [
      ["--plugin", "nosuch", HELLO],
      'error: Cannot load plugin "nosuch": no built-in plugin of that name (built-ins: libc); use a path like ./nosuch.ts\n',
    ],
    [["--plugin", "./tests/fixtures/does_not_exist.ts", HELLO], ""],
    [
      ["--plugin", "./tests/cli_test.ts", HELLO],
      'error: Cannot load plugin "./tests/cli_test.ts": its default export is not a native library (use defineNativeLibrary)\n',
    ],
  ];
  for (const [args, expected] of cases) {
    const { code, out, err } = await cli(args);
    if (expected) assert.equal(err, expected, args.join(" "));
    else {assert.match(
        err,
        /^error: Cannot load plugin "\.\/tests\/fixtures\/does_not_exist\.ts": .+\n$/,
      );}
    assert.equal(out, "");
    assert.equal(code, 2);
  }
});

Deno.test("cli: -v takes its level only attached, --env needs k=v, -- ends the flags", async () => {
  const hello = (await cli([HELLO])).out;
  assert.deepEqual(await cli(["-v", HELLO]), { code: 0, out: hello, err: "" });
  assert.deepEqual(await cli(["-v=5", "--env=A=1", "--", HELLO]), { code: 0, out: hello, err: "" });
  const cases: [string[], string][] = [
    [["-v=9", HELLO], 'Invalid value for -v: "9"'],
    [["--env=A", HELLO], 'Invalid value for --env: "A" (expected k=v)'],
    [["--bogus=1", HELLO], 'Unknown option "--bogus=1"'],
    [["--fuel", "-1", HELLO], 'Invalid value for --fuel: "-1" (expected a byte count)'],
  ];
  for (const [args, message] of cases) {
    const { code, out, err } = await cli(args);
    assert.equal(err, `error: ${message}. Run with --help for usage.\n`, args.join(" "));
    assert.equal(out, "");
    assert.equal(code, 2);
  }
});

Deno.test("cli: malformed wasm is a load error naming the reason", async () => {
  const path = await Deno.makeTempFile({ suffix: ".wasm" });
  try {
    await Deno.writeFile(path, new Uint8Array([0, 0x61, 0x73, 0x6d, 2, 0, 0, 0]));
    const { code, out } = await cli([path]);
    assert.equal(out, "WASM module load failed: unknown binary version (at byte offset 4)\n");
    assert.equal(code, 1);
    await Deno.writeFile(path, new TextEncoder().encode("not wasm"));
    assert.equal(
      (await cli([path])).out,
      "WASM module load failed: magic header not detected (at byte offset 0)\n",
    );
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("cli: --plugin loads a vendor library by path", async () => {
  const { code, out } = await cli([
    "--plugin",
    "./examples/native_lib/plugin.ts",
    "examples/native_lib/test.wasm",
  ]);
  assert.equal(out, "10 + 20 = 30\nsqrt(10, 20) = 500\nMessage from test_hello: Hello main!\n");
  assert.equal(code, 0);
});

Deno.test("cli: --repl calls exports line by line", async () => {
  const { code, out } = await cli(["--repl", FIB], [
    "add 2 3",
    "",
    "nosuch",
    "divz 0",
    "fib 10",
    "quit",
  ]);
  assert.equal(
    out,
    "webassembly> 0x5:i32\nwebassembly> webassembly> Exception: lookup function nosuch failed\n" +
      "webassembly> Exception: integer divide by zero\nwebassembly> 0x37:i32\nwebassembly> \n",
  );
  assert.equal(code, 0);
});

Deno.test("cli: --help and --version", async () => {
  const help = await cli(["--help"]);
  assert.match(help.out, /^Usage: deno run mod.ts \[options\] wasm_file \[args\.\.\.\]/);
  assert.equal(help.code, 0);
  const version = await cli(["--version"]);
  assert.match(version.out, /^micro-runtime \d+\.\d+\.\d+ \(deno 2\.\d+\.\d+, v8 .+\)\n$/);
});

Deno.test("cli: an event-driven app run as a program gets a hint towards 'apps'", async () => {
  const { code, out, err } = await cli(["examples/timer/timer.wasm"]);
  assert.equal(
    out,
    "Exception: lookup the entry point symbol (like _start, main, _main, __main_argc_argv) failed\n",
  );
  assert.match(
    err,
    /hint: "examples\/timer\/timer\.wasm" is an event-driven app \(it exports on_init\): run it with "deno run mod\.ts apps examples\/timer\/timer\.wasm"\n$/,
  );
  assert.equal(code, 1);
});

const RECURSION = "examples/limits/recursion.wasm";
const WORKLOADS = "examples/limits/workloads.wasm";

Deno.test("cli: --stack-size bounds recursion with iwasm's two stack messages", async () => {
  assert.deepEqual(await cli(["--stack-size=65536", "-f", "call_overflow", RECURSION, "100"]), {
    code: 0,
    out: "0x13ba:i32\n",
    err: "",
  });
  assert.deepEqual(await cli(["--stack-size=65536", "-f", "call_overflow", RECURSION, "100000"]), {
    code: 1,
    out: "Exception: wasm operand stack overflow\n",
    err: "",
  });
  assert.deepEqual(await cli(["--stack-size=65536", "-f", "shadow_overflow", RECURSION, "2"]), {
    code: 0,
    out: "0x9:i32\n",
    err: "",
  });
  // Without the check the C stack runs into the data below it and faults.
  assert.equal(
    (await cli(["--stack-size=65536", "-f", "shadow_overflow", RECURSION, "100"])).out,
    "Exception: wasm auxiliary stack overflow\n",
  );
  assert.equal(
    (await cli(["-f", "shadow_overflow", RECURSION, "100"])).out,
    "Exception: out of bounds memory access\n",
  );
});

Deno.test("cli: --deadline-ms stops a long call with the deadline exception", async () => {
  const start = performance.now();
  const { code, out } = await cli(["--deadline-ms=100", "-f", "sha256_run", WORKLOADS, "100000"]);
  const elapsed = performance.now() - start;
  assert.equal(out, "Exception: execution deadline exceeded\n");
  assert.equal(code, 1);
  assert.ok(elapsed < 1000, `took ${elapsed} ms`);
  assert.deepEqual(await cli(["--deadline-ms=5000", "-f", "recursion_run", WORKLOADS, "1"]), {
    code: 0,
    out: "0x213d05:i32\n",
    err: "",
  });
});

Deno.test("cli: --fuel runs out with wasmtime's message, and enough fuel finishes", async () => {
  assert.deepEqual(await cli(["--fuel=1000", "-f", "call_overflow", RECURSION, "100"]), {
    code: 1,
    out: "Exception: all fuel consumed\n",
    err: "",
  });
  assert.equal(
    (await cli(["--fuel=100000", "-f", "call_overflow", RECURSION, "100"])).out,
    "0x13ba:i32\n",
  );
});

Deno.test("cli: --max-memory takes sizes with units and rejects others", async () => {
  const ok = await cli(["--max-memory=4M", "-f", "recursion_run", WORKLOADS, "1"]);
  assert.equal(ok.out, "0x213d05:i32\n");
  const small = await cli(["--max-memory=64K", "-f", "recursion_run", WORKLOADS, "1"]);
  assert.equal(small.code, 1);
  assert.match(
    small.out,
    /^WASM module load failed: the app's memory starts at 32 pages, more than the 1-page memory limit\n$/,
  );
  const bad = await cli(["--max-memory=lots", WORKLOADS]);
  assert.equal(bad.code, 2);
  assert.match(bad.err, /Invalid value for --max-memory: "lots" \(expected bytes, e\.g\. 64M\)/);
});
