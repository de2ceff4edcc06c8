import assert from "node:assert/strict";
import {
  byteSize,
  count,
  inlineFlag,
  invalidValue,
  listFlag,
  oneOf,
  readFlags,
  switchFlag,
  text,
  UsageError,
  valueFlag,
} from "../core/cli/flags.ts";

const TABLE = {
  function: valueFlag(["-f", "--function"], text),
  port: valueFlag(["-P", "--port"], count("a number", 65535), 8888),
  size: valueFlag(["--size"], byteSize("bytes, e.g. 64M")),
  plugins: listFlag(["--plugin"], text),
  verbose: inlineFlag(["-v"], (level = "3") => Number(level), 2),
  query: inlineFlag(["-q", "--query"], (name): string | true => name ?? true),
  help: switchFlag("-h", "--help"),
  json: switchFlag("--json"),
};

/** The usage error `readFlags` throws, or fails. */
function usageError(argv: string[], options: Parameters<typeof readFlags>[2] = {}): string {
  try {
    readFlags(TABLE, argv, options);
  } catch (e) {
    assert.ok(e instanceof UsageError, String(e));
    return e.message;
  }
  assert.fail(`no error for ${argv.join(" ")}`);
}

Deno.test("flags: an absent flag reads as its initial value", () => {
  const { flags, args } = readFlags(TABLE, []);
  assert.deepEqual(flags, {
    function: undefined,
    port: 8888,
    size: undefined,
    plugins: [],
    verbose: 2,
    query: undefined,
    help: false,
    json: false,
  });
  assert.deepEqual(args, []);
});

Deno.test("flags: the result is typed after the table", () => {
  const { flags } = readFlags(TABLE, ["--port=80"]);
  const port: number = flags.port;
  const name: string | undefined = flags.function;
  const plugins: string[] = flags.plugins;
  // @ts-expect-error a value flag without an initial value may be absent
  const absent: string = flags.function;
  // @ts-expect-error a count is a number
  const wrong: string = flags.port;
  assert.deepEqual([port, name, plugins, absent, wrong], [80, undefined, [], undefined, 80]);
});

Deno.test("flags: values come as --flag=value or --flag value; the last one wins", () => {
  const { flags } = readFlags(TABLE, ["--function", "a", "--function=b=c", "-P", "1", "-P=2"]);
  assert.equal(flags.function, "b=c");
  assert.equal(flags.port, 2);
  // A value may start with "-": it is the next argument, whatever it is.
  assert.equal(readFlags(TABLE, ["-f", "-h"]).flags.function, "-h");
  assert.equal(readFlags(TABLE, ["--function="]).flags.function, "");
});

Deno.test("flags: a list flag keeps every value in order", () => {
  const { flags } = readFlags(TABLE, ["--plugin", "a", "--plugin=b,x=1", "--plugin", "a"]);
  assert.deepEqual(flags.plugins, ["a", "b,x=1", "a"]);
});

Deno.test("flags: an inline flag takes only an attached value, never the next argument", () => {
  assert.deepEqual(readFlags(TABLE, ["-v", "4"]), {
    flags: { ...readFlags(TABLE, []).flags, verbose: 3 },
    args: ["4"],
  });
  assert.equal(readFlags(TABLE, ["-v=5"]).flags.verbose, 5);
  assert.equal(readFlags(TABLE, ["--query"]).flags.query, true);
  assert.equal(readFlags(TABLE, ["--query=a"]).flags.query, "a");
});

Deno.test("flags: a switch is true when given and ignores =value in iwasm syntax", () => {
  assert.equal(readFlags(TABLE, ["-h"]).flags.help, true);
  assert.equal(readFlags(TABLE, ["--help=no"]).flags.help, true);
  assert.equal(readFlags(TABLE, ["--json"]).flags.help, false);
});

Deno.test("flags: 'stop' ends the flags at the first other argument, like iwasm", () => {
  const read = (argv: string[]) => readFlags(TABLE, argv, { args: "stop" });
  assert.deepEqual(read(["-f", "main", "app.wasm", "-h", "--x"]).args, ["app.wasm", "-h", "--x"]);
  assert.equal(read(["app.wasm", "-h"]).flags.help, false);
  assert.deepEqual(read(["-h", "-", "-x"]).args, ["-", "-x"]);
  assert.deepEqual(read(["-h", "--", "--json"]), {
    flags: { ...readFlags(TABLE, []).flags, help: true },
    args: ["--json"],
  });
});

Deno.test("flags: 'collect' keeps other arguments from anywhere; 'reject' refuses them", () => {
  const { flags, args } = readFlags(TABLE, ["a.wasm", "-h", "b.wasm", "-", "--", "-c"]);
  assert.equal(flags.help, true);
  assert.deepEqual(args, ["a.wasm", "b.wasm", "-", "-c"]);
  assert.equal(usageError(["-h", "a.wasm"], { args: "reject" }), 'Unknown option "a.wasm"');
  assert.equal(usageError(["--", "-h"], { args: "reject" }), 'Unknown option "-h"');
  assert.equal(readFlags(TABLE, ["-h", "--"], { args: "reject" }).flags.help, true);
});

Deno.test("flags: unknown flags and missing values in iwasm's wording", () => {
  assert.equal(usageError(["--bogus"]), 'Unknown option "--bogus"');
  assert.equal(usageError(["--bogus=1"]), 'Unknown option "--bogus=1"');
  assert.equal(usageError(["-hq"]), 'Unknown option "-hq"');
  assert.equal(usageError(["-f"]), "Missing value for -f");
  assert.equal(usageError(["-h", "--port"]), "Missing value for --port");
});

Deno.test("flags: count and byteSize name the flag's long spelling and what fits", () => {
  assert.equal(usageError(["-P", "http"]), 'Invalid value for --port: "http" (expected a number)');
  assert.equal(usageError(["-P=70000"]), 'Invalid value for --port: "70000" (expected a number)');
  assert.equal(usageError(["--port=-1"]), 'Invalid value for --port: "-1" (expected a number)');
  assert.equal(
    usageError(["--size=lots"]),
    'Invalid value for --size: "lots" (expected bytes, e.g. 64M)',
  );
  assert.equal(readFlags(TABLE, ["--size=64M"]).flags.size, 64 * 1024 * 1024);
  assert.equal(count("a byte count")("99999999999999999999", "--fuel"), 1e20);
  assert.equal(invalidValue("-x", "y", "z").message, 'Invalid value for -x: "y" (expected z)');
});

Deno.test("flags: oneOf reads one of its words and lists them all when refusing", () => {
  const how = oneOf("trap", "error");
  assert.equal(how("error", "--unknown-imports"), "error");
  assert.throws(
    () => how("Trap", "--unknown-imports"),
    new UsageError('Invalid value for --unknown-imports: "Trap" (expected trap or error)'),
  );
  assert.throws(
    () => oneOf("a", "b", "c")("d", "--x"),
    new UsageError('Invalid value for --x: "d" (expected a, b or c)'),
  );
  assert.equal(oneOf("only")("only", "--x"), "only");
});

Deno.test("flags: getopt syntax clusters short flags and attaches their values", () => {
  const read = (argv: string[]) => readFlags(TABLE, argv, { getopt: true }).flags;
  assert.deepEqual([read(["-hq"]).help, read(["-hq"]).query], [true, true]);
  assert.equal(read(["-qapp"]).query, "app");
  assert.equal(read(["-q", "app"]).query, true);
  assert.equal(read(["-hP80"]).port, 80);
  assert.equal(read(["-P", "80"]).port, 80);
  assert.equal(read(["-fmain"]).function, "main");
  assert.equal(read(["--port=81", "--function", "-x"]).function, "-x");
  assert.deepEqual(readFlags(TABLE, ["x", "-", "-h"], { getopt: true }).args, ["x", "-"]);
});

Deno.test("flags: getopt syntax errors in getopt_long's wording", () => {
  const error = (argv: string[]) => usageError(argv, { getopt: true });
  assert.equal(error(["--bogus=1"]), 'Unknown option "--bogus"');
  assert.equal(error(["-hx"]), 'Unknown option "-x"');
  assert.equal(error(["-t"]), 'Unknown option "-t"');
  assert.equal(error(["-P"]), 'Option "-P" needs a value');
  assert.equal(error(["--port"]), 'Option "--port" needs a value');
  assert.equal(error(["--json=1"]), 'Option "--json" takes no value');
  assert.equal(error(["-Pnope"]), 'Invalid value for --port: "nope" (expected a number)');
});

Deno.test("flags: a value reader's own usage error passes through", () => {
  const table = {
    env: listFlag(["--env"], (kv): [string, string] => {
      const at = kv.indexOf("=");
      if (at <= 0) throw new UsageError(`Invalid value for --env: "${kv}" (expected k=v)`);
      return [kv.slice(0, at), kv.slice(at + 1)];
    }),
  };
  const { env } = readFlags(table, ["--env=A=1", "--env", "B="]).flags;
  assert.deepEqual(env, [["A", "1"], ["B", ""]]);
  assert.throws(() => readFlags(table, ["--env=A"]), {
    name: "UsageError",
    message: 'Invalid value for --env: "A" (expected k=v)',
  });
});
