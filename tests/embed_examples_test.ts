// The embedding programs in examples/embed/: each runs as its own process with exactly the
// permissions its header comment gives, imports only the public API, and prints what it shows.
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { join } from "node:path";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const DIR = join(ROOT, "examples/embed");

/** A line of expected output: the exact text, or a pattern it must match. */
type Line = string | RegExp;

// The `deno run …` line of a program's header comment, as arguments after `deno`.
async function headerCommand(file: string): Promise<string[]> {
  const source = await Deno.readTextFile(join(DIR, file));
  const match = /^ \* deno (run .*)$/m.exec(source);
  assert.ok(match, `${file} has no "deno run" line in its header comment`);
  return match[1]!.trim().split(/\s+/);
}

async function run(file: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const args = await headerCommand(file);
  assert.equal(args.at(-1), `examples/embed/${file}`, `${file}'s header runs another file`);
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: [...args.slice(0, 1), "--no-prompt", ...args.slice(1)],
    cwd: ROOT,
    stdin: "null",
  }).output();
  const decoder = new TextDecoder();
  return { code, stdout: decoder.decode(stdout), stderr: decoder.decode(stderr) };
}

function assertLines(actual: string, expected: readonly Line[]): void {
  const lines = actual.trimEnd().split("\n");
  assert.equal(lines.length, expected.length, `expected ${expected.length} lines:\n${actual}`);
  expected.forEach((want, i) => {
    if (typeof want === "string") assert.equal(lines[i], want, `line ${i + 1}`);
    else assert.match(lines[i]!, want, `line ${i + 1}`);
  });
}

// Runs a program and checks its exit status, its silence on stderr and every line it prints.
function example(file: string, behaviour: string, expected: readonly Line[]): void {
  Deno.test(`embed examples: ${file} ${behaviour}`, async () => {
    const { code, stdout, stderr } = await run(file);
    assert.equal(stderr, "", `${file} wrote to stderr`);
    assert.equal(code, 0, stdout);
    assertLines(stdout, expected);
  });
}

const PROGRAMS = [
  "app_manager.ts",
  "embed_and_call.ts",
  "host_client.ts",
  "limits.ts",
  "memory_and_heap.ts",
  "plugin_state.ts",
  "traps.ts",
];

Deno.test("embed examples: each program is tested, listed in the README and imports only mod.ts", async () => {
  const found: string[] = [];
  for await (const entry of Deno.readDir(DIR)) {
    if (entry.name.endsWith(".ts")) found.push(entry.name);
  }
  assert.deepEqual(found.sort(), PROGRAMS);
  const readme = await Deno.readTextFile(join(DIR, "README.md"));
  for (const file of PROGRAMS) {
    assert.ok(readme.includes(`- \`${file}\`: `), `${file} is not listed in the README`);
    const source = await Deno.readTextFile(join(DIR, file));
    const specifiers = [...source.matchAll(/\b(?:from|import)\s*\(?\s*"([^"]+)"/g)].map((m) =>
      m[1]
    );
    assert.deepEqual([...new Set(specifiers)], ["../../mod.ts"], file);
  }
});

example("embed_and_call.ts", "calls exports by their wasm types and runs main", [
  "loaded fib.wasm: 490 bytes",
  "imports: env.atoi, env.printf",
  "export fib: (i32) -> i32",
  "export add: (i32, i32) -> i32",
  "export i64f: (i64, f64) -> i64",
  "export f32f: (i32) -> f32",
  "fib(20) = 6765",
  "i64f(5, 2.5) = 12 (a bigint)",
  "f32f(2) = 3",
  "add 1..100 through lookup = 5050",
  'main returned 0 and printed: "fib(25) = 75025\\n"',
]);

example("memory_and_heap.ts", "allocates in the app heap and reads back what it wrote", [
  "memory: 131072 bytes",
  "heap: builtin, 0x00010000..0x00014000",
  "the app's malloc returned 0x00010020: in the heap: true",
  'malloc(32) = 0x00010008, reads back "written by the host"',
  "calloc(4, 8): i32 -2, f64 2.5, i64 1099511627776, last 8 bytes still zero: true",
  "dup([d, u, p]) = 0x00010058: 100,117,112",
  "after writing through the view: DUP",
  'reading 4 bytes at 0x0001fffe: TrapError "out of bounds memory access"',
  "  (warning: allocate 1048576 bytes memory failed)",
  "malloc(1 MiB) = 0",
  "after free, malloc(32) = 0x00010008: the first block again: true",
]);

example("plugin_state.ts", "gives each instance its own state and disposes it on free", [
  "setup for kitchen: room at 15 C",
  "setup for cellar: room at 20 C",
  'kitchen\'s room: {"temperature":175,"target":215,"readings":5}',
  'cellar\'s room: {"temperature":215,"target":215,"readings":5}',
  "dispose for kitchen: room at 17.5 C after 5 readings",
  "dispose for cellar: room at 21.5 C after 5 readings",
  "kitchen printed:",
  "  target: 21.5 C",
  "  reading 1: 15.5 C",
  "  reading 2: 16.0 C",
  "  reading 3: 16.5 C",
  "  reading 4: 17.0 C",
  "  reading 5: 17.5 C",
  "  living room: 17.5 C (19 chars)",
  '  truncated: "living " of 19',
  "cellar printed:",
  "  target: 21.5 C",
  "  reading 1: 20.5 C",
  "  reading 2: 21.0 C",
  "  reading 3: 21.5 C",
  "  reading 4: 21.5 C",
  "  reading 5: 21.5 C",
  "  living room: 21.5 C (19 chars)",
  '  truncated: "living " of 19',
]);

example("traps.ts", "catches every trap with WAMR's message, then a link and a load error", [
  "(warning: failed to link import function (env, foo_missing))",
  "unreachable_trap: Exception: unreachable",
  "oob_load: Exception: out of bounds memory access",
  "int_overflow: Exception: integer overflow",
  "bad_convert: Exception: integer overflow",
  "indirect_mismatch: Exception: indirect call type mismatch",
  "stack_overflow: Exception: wasm operand stack overflow",
  "strlen_bad: Exception: out of bounds memory access",
  "call_missing: Exception: failed to call unlinked import function (env, foo_missing)",
  "divz(5) after all that = 2",
  "divz(0): Exception: integer divide by zero",
  'LinkError: Cannot link import "env"."foo_missing": signature "(ii)i" of library "wrong" does not match (i32) -> i32',
  "LoadError: magic header not detected (at byte offset 0)",
]);

Deno.test("embed examples: traps.ts prints what its README shows", async () => {
  const readme = await Deno.readTextFile(join(DIR, "README.md"));
  const shown = /`deno run --allow-read examples\/embed\/traps.ts` prints:\n\n```\n([^`]*)```/
    .exec(readme);
  assert.ok(shown, "the README shows no output of traps.ts");
  assert.equal((await run("traps.ts")).stdout, shown[1]);
});

example("limits.ts", "stops calls that break fuel, deadline, memory and stack limits", [
  /^fuel: fib\(20\) used \d+ units, the same the second time: true$/,
  "fuel: fib(30): Exception: all fuel consumed",
  "fuel left: 0",
  "fuel: after refuelling, fib(15) = 610",
  "deadline 50 ms: sha256_run(1000000): Exception: execution deadline exceeded",
  // On time, give or take a loaded machine.
  /^deadline: stopped after (?:[5-9]\d|[1-9]\d\d) ms$/,
  "deadline off: matmul_run(1) = -499336056",
  "memory cap: 196608 bytes, 131072 in use",
  "memory cap 1 MiB for a 2 MiB app: LoadError: the app's memory starts at 32 pages, more than the 16-page memory limit",
  "stack: shadow_overflow(2) = 9",
  "stack: shadow_overflow(100): Exception: wasm auxiliary stack overflow",
  "stack: call_overflow(1000000): Exception: wasm operand stack overflow",
]);

example("app_manager.ts", "fires each timer exactly when the manual clock passes it", [
  "install timer",
  "  | Install WASM app success!",
  'event: installed "timer" as app 1',
  "  | WASM app 'timer' started",
  "advance 999 ms (now 999)",
  "advance 1 ms (now 1000)",
  "  | Timer update 0",
  "advance 2000 ms (now 3000)",
  "  | Timer update 1",
  "  | Timer update 2",
  "install request_handler",
  "  | Install WASM app success!",
  'event: installed "request_handler" as app 2',
  "  | WASM app 'request_handler' started",
  "  | [resp] ### user resource 1 handler called",
  'GET /url1: status 69, "wasm app response payload" {"key1":"value1","key2":"value2"}',
  "install event_publisher",
  "  | Install WASM app success!",
  'event: installed "event_publisher" as app 3',
  "  | WASM app 'event_publisher' started",
  "  | Timer update 3",
  'event at 4000 ms: alert/overheat {"warning":"temperature is over high"}',
  "  | Timer update 4",
  'event at 5000 ms: alert/overheat {"warning":"temperature is over high"}',
  "apps: event_publisher (running), request_handler (running), timer (running)",
  "  | App instance main thread exit.",
  "  | Uninstall WASM app successful!",
  "uninstalled timer; advance 5000 ms: no more timer updates",
  "close",
  "  | App instance main thread exit.",
  "  | Uninstall WASM app successful!",
  "  | App instance main thread exit.",
  "  | Uninstall WASM app successful!",
]);

example("host_client.ts", "drives a serve subprocess over the host link", [
  "install request_handler: status 65",
  "install event_publisher: status 65",
  'query: status 69, {"num":2,"applet1":"event_publisher","heap1":8192,"applet2":"request_handler","heap2":8192}',
  'GET /app/request_handler/url1: status 69, {"key1":"value1","key2":"value2"}',
  "subscribe alert/overheat: status 69",
  'event alert/overheat: {"warning":"temperature is over high"}',
  "uninstall event_publisher: status 66",
  "serve exited with code 0; it printed:",
  "  | App Manager started.",
  /^ {2}\| listening on 127\.0\.0\.1:\d+$/,
  "  | Install WASM app success!",
  "  | WASM app 'request_handler' started",
  "  | Install WASM app success!",
  "  | WASM app 'event_publisher' started",
  "  | [resp] ### user resource 1 handler called",
  "  | App instance main thread exit.",
  "  | Uninstall WASM app successful!",
  "  | App instance main thread exit.",
  "  | Uninstall WASM app successful!",
]);
