// End to end: a real `deno run mod.ts serve` process driven by `deno run mod.ts host`.
import assert from "node:assert/strict";
import { HostClient } from "../sdk/host_client.ts";
import { wat } from "./_wat.ts";

const MOD = new URL("../mod.ts", import.meta.url).pathname;
const EXAMPLES = new URL("../examples/", import.meta.url).pathname;

const QUIET = wat(`(module
  (import "env" "puts" (func $puts (param i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "bye from on_destroy\\00")
  (func (export "on_init"))
  (func (export "on_destroy") (drop (call $puts (i32.const 16)))))`);

/** A running `serve` whose stdout is collected; `waitFor` awaits a pattern in it. */
function serve(args: string[]) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", MOD, "serve", ...args],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let out = "";
  let err = "";
  const changed: (() => void)[] = [];
  const pump = async (stream: ReadableStream<Uint8Array>, add: (t: string) => void) => {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      add(chunk);
      changed.splice(0).forEach((f) => f());
    }
  };
  const pumps = Promise.all([
    pump(child.stdout, (t) => out += t),
    pump(child.stderr, (t) => err += t),
  ]);
  return {
    child,
    get out() {
      return out;
    },
    get err() {
      return err;
    },
    /** Resolves with the match once stdout shows `pattern`; fails after 10 s. */
    async waitFor(pattern: RegExp): Promise<RegExpMatchArray> {
      const deadline = Date.now() + 10_000;
      while (true) {
        const m = out.match(pattern);
        if (m) return m;
        if (Date.now() > deadline) {
          throw new Error(`Timed out waiting for ${pattern}: ${out}${err}`);
        }
        let timer: ReturnType<typeof setTimeout> | undefined;
        await new Promise<void>((resolve) => {
          changed.push(resolve);
          timer = setTimeout(resolve, deadline - Date.now());
        });
        clearTimeout(timer);
      }
    },
    async stop(signal: Deno.Signal = "SIGTERM"): Promise<Deno.CommandStatus> {
      child.kill(signal);
      const status = await child.status;
      await pumps;
      return status;
    },
  };
}

async function host(port: number, ...args: string[]) {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", MOD, "host", "-P", String(port), ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code, out: dec.decode(stdout), err: dec.decode(stderr) };
}

Deno.test({
  name: "e2e: serve + host tool: install, query, request, events, uninstall, restart",
  sanitizeResources: false,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    const quiet = `${dir}/quiet.wasm`;
    await Deno.writeFile(quiet, QUIET);
    const state = `${dir}/state`;
    try {
      let server = serve(["--port", "0", "--state-dir", state]);
      let port = Number((await server.waitFor(/listening on 127\.0\.0\.1:(\d+)/))[1]);
      assert.match(server.out, /^App Manager started\.\n/);

      const empty = await host(port, "-q");
      assert.deepEqual([empty.code, empty.out], [69, '\nresponse status 69\n{\n\t"num":\t0\n}']);

      for (const name of ["request_handler", "event_publisher"]) {
        const r = await host(port, "-i", name, "-f", `${EXAMPLES}${name}/${name}.wasm`);
        assert.deepEqual([r.code, r.out], [65, "\nresponse status 65\n"], r.err);
      }
      assert.equal((await host(port, "-i", "quiet", "-f", quiet, "--heap=4096")).code, 65);

      const all = await host(port, "-q");
      assert.equal(all.code, 69);
      assert.match(all.out, /"num":\t3,\n\t"applet1":\t"quiet",\n\t"heap1":\t4096,/);
      const one = await host(port, "-qrequest_handler");
      assert.equal(
        one.out,
        '\nresponse status 69\n{\n\t"name":\t"request_handler",\n\t"heap":\t8192\n}',
      );

      const expected = '\nresponse status 69\n{\n\t"key1":\t"value1",\n\t"key2":\t"value2"\n}';
      assert.equal(
        (await host(port, "-r", "/app/request_handler/url1", "-A", "GET")).out,
        expected,
      );
      assert.equal((await host(port, "-r", "/url1", "-A", "GET")).out, expected);
      assert.equal((await host(port, "-r", "/url2", "-A", "DELETE")).code, 66);
      const nomatch = await host(port, "-r", "/nomatch", "-A", "GET", "-t", "1500");
      assert.equal(nomatch.code, 132);

      // The publisher fires once a second; listen for 2.5 s like the reference run.
      const events = await host(port, "-s", "/alert/overheat", "-a", "2500");
      assert.equal(events.code, 69);
      assert.match(
        events.out,
        /^\nresponse status 69\n\nreceived an event alert\/overheat\n\{\n\t"warning":\t"temperature is over high"\n\}/,
      );

      const json = await host(port, "-q", "--json");
      assert.equal(JSON.parse(json.out).payload.num, 3);

      assert.equal((await host(port, "-u", "event_publisher")).code, 66);
      await server.waitFor(/Uninstall WASM app successful!/);

      // SIGTERM: on_destroy for every app, state kept.
      let status = await server.stop();
      assert.equal(status.code, 0, server.err);
      assert.match(server.out, /bye from on_destroy/);
      assert.match(server.out, /App instance main thread exit\./);

      server = serve(["--port", "0", "--state-dir", state]);
      port = Number((await server.waitFor(/listening on 127\.0\.0\.1:(\d+)/))[1]);
      const back = await host(port, "-q");
      assert.match(
        back.out,
        /"num":\t2,\n\t"applet1":\t"quiet",\n\t"heap1":\t4096,\n\t"applet2":\t"request_handler"/,
      );
      assert.equal((await host(port, "-r", "/url1", "-A", "GET")).out, expected);
      status = await server.stop("SIGINT");
      assert.equal(status.code, 0);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "e2e: serve --stdio runs the link on stdin/stdout and app output on stderr",
  sanitizeResources: false,
  fn: async () => {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", MOD, "serve", "--stdio"],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const errText = new Response(child.stderr).text();
    const client = new HostClient({ readable: child.stdout, writable: child.stdin }, {
      timeout: 10_000,
    });
    assert.equal((await client.install("quiet", QUIET)).status, 65);
    const q = await client.query();
    assert.equal(q.container?.get("applet1")?.value, "quiet");
    client.close(); // closes stdin: the server shuts down
    const status = await child.status;
    assert.equal(status.code, 0);
    const err = await errText;
    assert.match(err, /App Manager started\.\n/);
    assert.match(err, /Install WASM app success!\n/);
    assert.match(err, /bye from on_destroy/);
  },
});

Deno.test("e2e: serve rejects unknown flags with exit 2", async () => {
  const { code, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", MOD, "serve", "--bogus"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(code, 2);
  assert.match(new TextDecoder().decode(stderr), /Unknown option "--bogus"/);
});
