import assert from "node:assert/strict";
import { runServe } from "../core/cli/serve_command.ts";

/** Runs `serve` in-process up to its first answer; every case here ends before listening. */
async function serve(argv: string[]) {
  const decoder = new TextDecoder();
  let out = "";
  let err = "";
  const status = await runServe(argv, {
    stdout: (b) => out += decoder.decode(b),
    stderr: (t) => err += t,
  });
  return { status, out, err };
}

Deno.test("serve command: --help prints the usage and exits 0", async () => {
  const { status, out, err } = await serve(["--port=0", "-h"]);
  assert.equal(status, 0);
  assert.match(out, /^Usage: deno run mod\.ts serve \[options\]\n/);
  assert.equal(err, "");
});

Deno.test("serve command: wrong flags give one line and exit 2", async () => {
  const cases: [string[], string][] = [
    [["--bogus"], 'Unknown option "--bogus"'],
    [["app.wasm"], 'Unknown option "app.wasm"'],
    [["--port"], "Missing value for --port"],
    [["--port", "70000"], 'Invalid value for --port: "70000" (expected a number)'],
    [["--max-apps=x"], 'Invalid value for --max-apps: "x" (expected a number)'],
    [
      ["--max-memory=lots"],
      'Invalid value for --max-memory: "lots" (expected bytes, or a number with K, M or G)',
    ],
    [["--app", "timer.wasm"], 'Invalid value for --app: "timer.wasm" (expected NAME=FILE)'],
    [["--stdio", "--serial=/dev/null"], "Choose one of --stdio and --serial"],
  ];
  for (const [argv, message] of cases) {
    const { status, out, err } = await serve(argv);
    assert.equal(err, `serve: ${message}. Run with --help for usage.\n`, argv.join(" "));
    assert.equal(out, "");
    assert.equal(status, 2);
  }
});

Deno.test("serve command: the link's flags are checked: limits, TLS pairs, token files", async () => {
  const cases: [string[], string][] = [
    [["--max-connections=0"], 'Invalid value for --max-connections: "0" (expected 1 or more)'],
    [["--idle-timeout=soon"], 'Invalid value for --idle-timeout: "soon" (expected a number)'],
    [["--tls-cert=c.pem"], "Give both --tls-cert and --tls-key"],
    [["--tls-key=k.pem"], "Give both --tls-cert and --tls-key"],
    [
      ["--stdio", "--tls-cert=c.pem", "--tls-key=k.pem"],
      "TLS serves TCP links: not with --stdio or --serial",
    ],
  ];
  for (const [argv, message] of cases) {
    const { status, err } = await serve(argv);
    assert.equal(err, `serve: ${message}. Run with --help for usage.\n`, argv.join(" "));
    assert.equal(status, 2);
  }
  const missing = await serve(["--port=0", "--token-file=/nonexistent/token"]);
  assert.equal(missing.status, 1);
  assert.match(missing.err, /^serve: Cannot read the token file "\/nonexistent\/token": /);
});
