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

// ---- limits: looping and hungry apps next to a healthy one ---------------------------------

const limitsApp = (name: string) => Deno.readFileSync(`${EXAMPLES}limits/${name}.wasm`);
const REQUEST_HANDLER = Deno.readFileSync(`${EXAMPLES}request_handler/request_handler.wasm`);

async function connect(port: number): Promise<HostClient> {
  return await HostClient.connect({ hostname: "127.0.0.1", port, timeout: 5000 });
}

/** The query's entries as `key=value` strings. */
async function listing(client: HostClient): Promise<string[]> {
  const r = await client.query();
  return r.container!.entries().map(([k, v]) => `${k}=${v.value}`);
}

/** Polls the query until `name` shows `status=suspended`; returns its reason. */
async function suspension(client: HostClient, name: string, within = 6000): Promise<string> {
  const deadline = Date.now() + within;
  while (true) {
    const c = (await client.query(name)).container!;
    if (c.get("status")?.value === "suspended") return String(c.get("reason")?.value);
    if (Date.now() > deadline) throw new Error(`"${name}" not suspended: ${await listing(client)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function healthyAnswers(client: HostClient): Promise<void> {
  const r = await client.request("/url1", "GET");
  assert.equal(r.status, 69);
  assert.equal(r.container?.get("key1")?.value, "value1");
}

/** SIGTERM, and how long the process took to exit. */
async function term(server: ReturnType<typeof serve>): Promise<number> {
  const sent = Date.now();
  const status = await server.stop("SIGTERM");
  assert.equal(status.code, 0, server.err);
  return Date.now() - sent;
}

/**
 * The acceptance run for one looping app under serve's default 1000 ms deadline: installed
 * over the host link next to request_handler, the link answers a query within 2 s of the
 * install, request_handler keeps answering, the app ends up suspended, SIGTERM exits within
 * 1 s, and a restart on the same state directory lists the app suspended and serves.
 */
async function loopingApp(name: string, reason: string, poke?: (c: HostClient) => Promise<void>) {
  const dir = await Deno.makeTempDir();
  try {
    let server = serve(["--port", "0", "--state-dir", dir]);
    let port = Number((await server.waitFor(/listening on 127\.0\.0\.1:(\d+)/))[1]);
    let client = await connect(port);
    assert.equal((await client.install("request_handler", REQUEST_HANDLER)).status, 65);
    const t0 = Date.now();
    const installed = client.install(name, limitsApp(name));
    const query = await client.query();
    const took = Date.now() - t0;
    assert.equal(query.status, 69);
    assert.ok(took < 2000, `${name}: the query answered ${took} ms after the install`);
    assert.equal((await installed).status, 65);
    await healthyAnswers(client);
    await poke?.(client);
    assert.equal(await suspension(client, name), reason);
    await healthyAnswers(client);
    assert.match(server.out, new RegExp(`WASM app '${name}' suspended: ${reason}\\n`));
    client.close();
    const exit = await term(server);
    assert.ok(exit < 1000, `${name}: exited ${exit} ms after SIGTERM`);

    server = serve(["--port", "0", "--state-dir", dir]);
    port = Number((await server.waitFor(/listening on 127\.0\.0\.1:(\d+)/))[1]);
    client = await connect(port);
    assert.equal(await suspension(client, name, 0), reason);
    await healthyAnswers(client);
    assert.doesNotMatch(server.out, /Got exception/, "the app is not started at restore");
    client.close();
    await term(server);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

for (
  const [name, reason, poke] of [
    ["loop_init", "execution deadline exceeded in on_init"],
    ["loop_start", "execution deadline exceeded in the start function"],
    ["loop_timer", "execution deadline exceeded 3 times in a row in on_timer_callback"],
    [
      "loop_request",
      "execution deadline exceeded 3 times in a row in on_request",
      async (client: HostClient) => {
        const ok = await client.request("/ok", "GET");
        assert.deepEqual([ok.status, new TextDecoder().decode(ok.payload)], [69, "ok"]);
        for (let i = 0; i < 3; i++) {
          const spin = await client.request("/spin", "GET");
          assert.equal(spin.status, 160);
          assert.equal(
            spin.container?.get("error message")?.value,
            'App "loop_request" failed handling the request: it trapped',
          );
        }
        assert.equal((await client.request("/ok", "GET")).status, 132, "its /ok is gone");
      },
    ],
  ] as const
) {
  Deno.test({
    name: `e2e: serve stops ${name} by its deadline, serves the others, and keeps it suspended`,
    sanitizeResources: false,
    fn: () => loopingApp(name, reason, poke),
  });
}

Deno.test({
  name:
    "e2e: an app killed mid-callback comes back suspended after a restart; the host tool resumes it",
  sanitizeResources: false,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      // No deadline: /spin never returns, SIGTERM cannot be handled, only SIGKILL ends it.
      let server = serve(["--port", "0", "--state-dir", dir, "--deadline-ms", "0"]);
      let port = Number((await server.waitFor(/listening on 127\.0\.0\.1:(\d+)/))[1]);
      let client = await connect(port);
      await client.install("request_handler", REQUEST_HANDLER);
      await client.install("loop_request", limitsApp("loop_request"));
      const spin = client.request("/spin", "GET").catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, 300));
      server.child.kill("SIGKILL");
      await server.child.status;
      await spin;
      client.close();

      server = serve(["--port", "0", "--state-dir", dir, "--deadline-ms", "0"]);
      port = Number((await server.waitFor(/listening on 127\.0\.0\.1:(\d+)/))[1]);
      const reason = "was running on_request when the process stopped";
      assert.match(
        server.err,
        new RegExp(`State: app "loop_request" ${reason}; it stays suspended until resumed`),
      );
      client = await connect(port);
      assert.equal(await suspension(client, "loop_request", 0), reason);
      await healthyAnswers(client);
      assert.equal((await client.request("/ok", "GET")).status, 132);

      const resumed = await host(port, "--resume", "loop_request");
      assert.deepEqual([resumed.code, resumed.out], [68, "\nresponse status 68\n"], resumed.err);
      const ok = await client.request("/ok", "GET");
      assert.deepEqual([ok.status, new TextDecoder().decode(ok.payload)], [69, "ok"]);
      assert.equal(
        (await host(port, "-qloop_request")).out,
        '\nresponse status 69\n{\n\t"name":\t"loop_request",\n\t"heap":\t8192\n}',
      );
      const stored = JSON.parse(await Deno.readTextFile(`${dir}/apps.json`)).apps;
      assert.deepEqual(stored.map((a: { suspended?: string }) => a.suspended), [
        undefined,
        undefined,
      ]);
      client.close();
      await term(server);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

/** The process's resident set in bytes, from `ps` (reading /proc needs --allow-all). */
async function rss(pid: number): Promise<number> {
  const { stdout } = await new Deno.Command("ps", { args: ["-o", "rss=", "-p", String(pid)] })
    .output();
  return Number(new TextDecoder().decode(stdout).trim()) * 1024;
}

Deno.test({
  name: "e2e: memory_hog under serve's 64 MiB cap gets -1 from memory.grow and keeps running",
  ignore: Deno.build.os !== "linux",
  sanitizeResources: false,
  fn: async () => {
    const server = serve(["--port", "0"]);
    const port = Number((await server.waitFor(/listening on 127\.0\.0\.1:(\d+)/))[1]);
    const client = await connect(port);
    assert.equal((await client.install("memory_hog", limitsApp("memory_hog"))).status, 65);
    await client.install("request_handler", REQUEST_HANDLER);
    // 64 ticks of 10 ms ask for 1 GiB in all.
    await server.waitFor(/memory_hog: grow refused at (\d+) pages\n/);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const hog = await client.request("/hog", "GET");
    assert.equal(hog.status, 69);
    const [, pages, refused] = /^pages=(\d+) refused=(\d+)$/.exec(
      new TextDecoder().decode(hog.payload),
    )!.map(Number);
    assert.ok(pages! <= 1024, `${pages} pages under a 64 MiB cap`);
    assert.ok(refused! >= 1, `${refused} grows refused`);
    const resident = await rss(server.child.pid);
    assert.ok(resident < 200 * 1024 * 1024, `RSS ${resident} bytes`);
    assert.deepEqual(await listing(client), [
      "num=2",
      "applet1=request_handler",
      "heap1=8192",
      "applet2=memory_hog",
      "heap2=8192",
    ]);
    await healthyAnswers(client);
    client.close();
    await term(server);
  },
});
