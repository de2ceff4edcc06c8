import assert from "node:assert/strict";
import { runCli } from "../core/cli/cli.ts";
import libc from "../natives/libc/mod.ts";
import { buildWasiC, WASI_DEMO } from "./_wasi_c.ts";
import { tempDir } from "./_wasi.ts";
import { wat } from "./_wat.ts";

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
    ["bad_convert", [], "integer overflow"],
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

Deno.test("cli: --unknown-imports=error fails the link where WAMR's default traps later", async () => {
  const strict = await cli(["--unknown-imports=error", "-f", "divz", TRAPS, "4"]);
  assert.equal(
    strict.out,
    'WASM module instantiate failed: Cannot link import "env"."foo_missing" ' +
      "(function (i32) -> i32): no native library, definition or registered instance provides it\n",
  );
  assert.equal(strict.err, "");
  assert.equal(strict.code, 1);
  const lenient = await cli(["--unknown-imports=trap", "-f", "divz", TRAPS, "4"]);
  assert.equal(lenient.code, 0);
  assert.equal(lenient.err, "warning: failed to link import function (env, foo_missing)\n");
  const wrong = await cli(["--unknown-imports=ignore", TRAPS]);
  assert.equal(wrong.code, 2);
  assert.match(
    wrong.err,
    /Invalid value for --unknown-imports: "ignore" \(expected trap or error\)/,
  );
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

/** Writes wasm bytes to a temp file named `name` in `dir`; returns its path. */
function _write(dir: string, name: string, bytes: Uint8Array): string {
  Deno.writeFileSync(`${dir}/${name}`, bytes);
  return `${dir}/${name}`;
}

/** A module whose entry points print their own names with libc's puts. */
function _entries(functions: string): Uint8Array {
  return wat(`(module
    (import "env" "puts" (func $puts (param i32) (result i32)))
    (memory (export "memory") 1)
    (data (i32.const 16) "_start\\00") (data (i32.const 32) "main\\00")
    (data (i32.const 48) "_main\\00") (data (i32.const 64) "init\\00")
    ${functions})`);
}

const _START = `(func (export "_start") (drop (call $puts (i32.const 16))))`;
const _MAIN_VOID =
  `(func (export "main") (result i32) (drop (call $puts (i32.const 32))) i32.const 5)`;
const _MAIN_ARGV = `(func (export "__main_argc_argv") (param i32 i32) (result i32)
  (drop (call $puts (i32.load offset=4 (local.get 1)))) i32.const 0)`;
const _UNDERSCORE_MAIN = `(func (export "_main") (param i32 i32) (result i32)
  (drop (call $puts (i32.const 48))) i32.const 0)`;

Deno.test("cli: entry points: _start, then main (no arguments or argc/argv), __main_argc_argv, _main", async () => {
  using t = tempDir();
  const cases: [string, string[], string][] = [
    [_START + _MAIN_VOID, [], "_start\n"],
    [_MAIN_VOID, [], "main\n"], // main returns 5: not the exit status, as in iwasm
    [_MAIN_ARGV, ["from argv"], "from argv\n"],
    [_UNDERSCORE_MAIN, [], "_main\n"],
    // WAMR takes a _start only when its type is () -> ()
    [`(func (export "_start") (param i32))` + _MAIN_VOID, [], "main\n"],
  ];
  for (const [functions, args, expected] of cases) {
    const path = _write(t.dir, "entry.wasm", _entries(functions));
    assert.deepEqual(await cli([path, ...args]), { code: 0, out: expected, err: "" }, functions);
  }
});

Deno.test("cli: a module with no entry point gets iwasm's list of what was looked for", async () => {
  using t = tempDir();
  const none = _write(t.dir, "none.wasm", _entries(`(func (export "foo"))`));
  assert.deepEqual(await cli([none]), {
    code: 1,
    out:
      "Exception: lookup the entry point symbol (like _start, main, _main, __main_argc_argv) failed\n",
    err: "",
  });
  // A reactor's _initialize runs at instantiation; then the hint says how to call it.
  const reactor = _write(
    t.dir,
    "reactor.wasm",
    _entries(`(func (export "_initialize") (drop (call $puts (i32.const 64))))`),
  );
  const { code, out, err } = await cli([reactor]);
  assert.equal(
    out,
    "init\nException: lookup the entry point symbol (like _start, main, _main, __main_argc_argv) failed\n",
  );
  assert.equal(
    err,
    `hint: "${reactor}" is a reactor (it exports _initialize, which has run): call its exports with "-f NAME"\n`,
  );
  assert.equal(code, 1);
});

Deno.test("cli: a WASI command sees its file and arguments as argv, --env as its environment", async () => {
  const wasm = await buildWasiC(WASI_DEMO);
  assert.deepEqual(
    await cli(["--env=GREETING=hi there", "--env=HOME=/app", wasm, "echo", "a b", ""]),
    {
      code: 0,
      out: "argc=4\nargv[1]=echo\nargv[2]=a b\nargv[3]=\nenv GREETING=hi there\nenv HOME=/app\n" +
        "HOME=/app\n",
      err: "",
    },
  );
  // Never the host's own environment.
  assert.equal((await cli([wasm, "echo"])).out, "argc=2\nargv[1]=echo\nHOME=(unset)\n");
});

Deno.test("cli: a WASI app's proc_exit status is the exit status, returning from _start 0", async () => {
  const wasm = await buildWasiC(WASI_DEMO);
  assert.deepEqual(await cli([wasm, "exit", "42"]), {
    code: 42,
    out: "exiting with 42\n",
    err: "",
  });
  // wasi-libc's _start passes main's nonzero result to proc_exit.
  assert.deepEqual(await cli([wasm]), { code: 2, out: "usage: wasi_demo MODE ...\n", err: "" });
  assert.deepEqual(await run([wasm, "exit", "7"]), { code: 7, out: "exiting with 7\n", err: "" });
  assert.equal((await run([wasm, "echo"])).code, 0);
});

Deno.test("cli: a trap in a WASI app prints WAMR's exception and exits 1", async () => {
  using t = tempDir();
  const path = _write(
    t.dir,
    "trap.wasm",
    wat(`(module
      (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
      (memory (export "memory") 1)
      (data (i32.const 16) "before\\n")
      (func (export "_start")
        (i32.store (i32.const 0) (i32.const 16))
        (i32.store (i32.const 4) (i32.const 7))
        (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
        unreachable))`),
  );
  assert.deepEqual(await cli([path]), {
    code: 1,
    out: "before\nException: unreachable\n",
    err: "",
  });
});

Deno.test("cli: --dir=HOST[::GUEST] and --map-dir=GUEST::HOST preopen directories; escapes are refused", async () => {
  using t = tempDir();
  Deno.mkdirSync(`${t.dir}/in`);
  Deno.mkdirSync(`${t.dir}/out`);
  Deno.writeTextFileSync(`${t.dir}/in/src.txt`, "from in");
  Deno.writeTextFileSync(`${t.dir}/outside.txt`, "secret");
  const wasm = await buildWasiC(WASI_DEMO);
  const copy = await cli([
    `--dir=${t.dir}/in::/in`,
    `--map-dir=/out::${t.dir}/out`,
    wasm,
    "copy",
    "/in/src.txt",
    "/out/dst.txt",
  ]);
  assert.deepEqual(copy, { code: 0, out: "copied 7 bytes\n", err: "" });
  assert.equal(Deno.readTextFileSync(`${t.dir}/out/dst.txt`), "from in");
  // Without ::GUEST the app sees the directory under the host's name.
  const same = await cli([
    `--dir=${t.dir}/in`,
    wasm,
    "copy",
    `${t.dir}/in/src.txt`,
    `${t.dir}/in/b`,
  ]);
  assert.equal(same.out, "copied 7 bytes\n");
  const escape = await cli([`--dir=${t.dir}/in::/in`, wasm, "escape", "/in"]);
  assert.match(escape.out, /^open \/in\/\.\.\/outside\.txt: Capabilities insufficient\n/);
  assert.match(escape.out, /\nmkdir \.\.\/made: Capabilities insufficient\n/);
  assert.doesNotMatch(escape.out, /secret/);
  // No preopen, no files.
  const none = await cli([wasm, "copy", `${t.dir}/in/src.txt`, `${t.dir}/out/x`]);
  assert.equal(none.out, `open ${t.dir}/in/src.txt: Capabilities insufficient\n`);
  assert.equal(none.code, 1);
});

Deno.test("cli: a WASI app runs under Deno permissions scoped to its file and directories", async () => {
  using t = tempDir();
  Deno.mkdirSync(`${t.dir}/in`);
  Deno.mkdirSync(`${t.dir}/out`);
  Deno.writeTextFileSync(`${t.dir}/in/src.txt`, "scoped");
  const wasm = await buildWasiC(WASI_DEMO);
  const permissions = [
    "--no-prompt",
    `--allow-read=${wasm},${t.dir}/in,${t.dir}/out`,
    `--allow-write=${t.dir}/out`,
  ];
  const dirs = [`--dir=${t.dir}/in::/in`, `--dir=${t.dir}/out::/out`];
  assert.deepEqual(await run([...dirs, wasm, "copy", "/in/src.txt", "/out/dst.txt"], permissions), {
    code: 0,
    out: "copied 6 bytes\n",
    err: "",
  });
  assert.equal(Deno.readTextFileSync(`${t.dir}/out/dst.txt`), "scoped");
  // A directory the permissions leave out is refused before the app runs.
  const denied = await run([`--dir=${t.dir}`, wasm, "echo"], permissions);
  assert.equal(denied.out, "");
  assert.match(
    denied.err,
    /^error: Cannot preopen "[^"]+" \(--dir=[^)]+\): Requires read access to "[^"]+"/,
  );
  assert.equal(denied.code, 2);
});

Deno.test("cli: a preopen that is missing or no directory, or a malformed one, exits 2", async () => {
  using t = tempDir();
  Deno.writeTextFileSync(`${t.dir}/file`, "");
  const wasm = await buildWasiC(WASI_DEMO);
  const cases: [string, string][] = [
    [
      `--dir=${t.dir}/missing`,
      `Cannot preopen "${t.dir}/missing" (--dir=${t.dir}/missing): no such directory`,
    ],
    [
      `--map-dir=/f::${t.dir}/file`,
      `Cannot preopen "${t.dir}/file" (--map-dir=/f::${t.dir}/file): not a directory`,
    ],
    [
      "--map-dir=/data",
      'Invalid value for --map-dir: "/data" (expected GUEST::HOST). Run with --help for usage.',
    ],
    [
      "--dir=::/x",
      'Invalid value for --dir: "::/x" (expected HOST[::GUEST]). Run with --help for usage.',
    ],
  ];
  for (const [flag, message] of cases) {
    assert.deepEqual(await cli([flag, wasm, "echo"]), {
      code: 2,
      out: "",
      err: `error: ${message}\n`,
    });
  }
  // Directories mean nothing to an app without WASI: it runs, with a warning.
  const { code, err } = await cli([`--dir=${t.dir}`, HELLO]);
  assert.equal(
    err,
    `warning: --dir and --map-dir give directories to WASI apps; "${HELLO}" imports no ` +
      `"wasi_snapshot_preview1" function\n`,
  );
  assert.equal(code, 0);
});

Deno.test("cli: an app importing wasi_unstable (WASI preview 0) gets a hint to rebuild", async () => {
  using t = tempDir();
  const path = _write(
    t.dir,
    "old.wasm",
    wat(
      `(module (import "wasi_unstable" "proc_exit" (func (param i32))) (func (export "_start")))`,
    ),
  );
  assert.deepEqual(await cli([path]), {
    code: 0,
    out: "",
    err: `hint: "${path}" imports "wasi_unstable" (WASI preview 0), which micro-runtime does not ` +
      `provide: rebuild it for "wasi_snapshot_preview1" (--target=wasm32-wasi)\n` +
      "warning: failed to link import function (wasi_unstable, proc_exit)\n",
  });
});

Deno.test("cli: an app given by URL is fetched; a failed fetch exits 2", async () => {
  const hello = await Deno.readFile(new URL(HELLO, ROOT));
  await using server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (request) =>
      new URL(request.url).pathname === "/apps/hello.wasm"
        ? new Response(hello)
        : new Response("not here", { status: 404 }),
  );
  const base = `http://127.0.0.1:${server.addr.port}`;
  const { code, out, err } = await cli([`${base}/apps/hello.wasm`, "x"]);
  assert.equal(err, "");
  assert.match(out, /^Hello world!\n/);
  assert.ok(out.endsWith(`argc=2 argv0=${base}/apps/hello.wasm\nargv1=x\n`), out);
  assert.equal(code, 0);
  assert.deepEqual(await cli([`${base}/nope.wasm`]), {
    code: 2,
    out: "",
    err: `error: Cannot read "${base}/nope.wasm": HTTP 404 Not Found\n`,
  });
  // A real process needs only network access to that host.
  const real = await run([`${base}/apps/hello.wasm`], [
    "--no-prompt",
    `--allow-net=127.0.0.1:${server.addr.port}`,
  ]);
  assert.match(real.out, /^Hello world!\n/);
  assert.equal(real.code, 0);
});

Deno.test("cli: a .wat or .wast app is assembled; bad text names its line and column", async () => {
  using t = tempDir();
  const text = `(module
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "hi from text\\n")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 13))
    (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
    (call $exit (i32.const 3))))`;
  for (const name of ["hi.wat", "hi.wast"]) {
    Deno.writeTextFileSync(`${t.dir}/${name}`, text);
    assert.deepEqual(await cli([`${t.dir}/${name}`]), { code: 3, out: "hi from text\n", err: "" });
  }
  Deno.writeTextFileSync(`${t.dir}/bad.wat`, `(module\n  (func (export "main") bogus))`);
  assert.deepEqual(await cli([`${t.dir}/bad.wat`]), {
    code: 1,
    out:
      `WASM module load failed: ${t.dir}/bad.wat:2:25: error: unexpected token bogus, expected ).\n`,
    err: "",
  });
  Deno.writeTextFileSync(`${t.dir}/invalid.wat`, `(module (func (result i32) i64.const 1))`);
  assert.deepEqual(await cli([`${t.dir}/invalid.wat`]), {
    code: 1,
    out: `WASM module load failed: ${t.dir}/invalid.wat:1:28: error: type mismatch in implicit ` +
      "return, expected [i32] but got [i64]\n",
    err: "",
  });
});

Deno.test("cli: --native-lib is WAMR's spelling of --plugin; shared libraries are refused", async () => {
  assert.deepEqual(
    await cli(["--native-lib", "./examples/native_lib/plugin.ts", "examples/native_lib/test.wasm"]),
    {
      code: 0,
      out: "10 + 20 = 30\nsqrt(10, 20) = 500\nMessage from test_hello: Hello main!\n",
      err: "",
    },
  );
  assert.deepEqual(await cli(["--native-lib=./libtest.so", HELLO]), {
    code: 2,
    out: "",
    err: 'error: Cannot load plugin "./libtest.so": native shared libraries do not load into ' +
      "micro-runtime; write the library as a TypeScript module (defineNativeLibrary)\n",
  });
});
