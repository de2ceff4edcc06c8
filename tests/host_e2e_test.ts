// End to end: a real `deno run mod.ts serve` process driven by `deno run mod.ts host`.
import assert from "node:assert/strict";
import { HostClient } from "../sdk/host_client.ts";
import { encodeFrame } from "../sdk/host_link.ts";
import { encodeRequest } from "../sdk/packet.ts";
import { wat } from "./_wat.ts";
import { selfSignedCertificate } from "./_tls.ts";

const MOD = new URL("../mod.ts", import.meta.url).pathname;
const EXAMPLES = new URL("../examples/", import.meta.url).pathname;

const QUIET = wat(`(module
  (import "env" "puts" (func $puts (param i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "bye from on_destroy\\00")
  (func (export "on_init"))
  (func (export "on_destroy") (drop (call $puts (i32.const 16)))))`);

/**
 * A running `serve` whose stdout and stderr are collected; `waitFor` awaits a pattern in
 * stdout (`waitForErr` in stderr). `ulimit` caps its open files with the shell's `ulimit -n`.
 */
function serve(args: string[], options: { ulimit?: number; env?: Record<string, string> } = {}) {
  const deno = ["run", "--allow-all", MOD, "serve", ...args];
  const child = new Deno.Command(options.ulimit ? "bash" : Deno.execPath(), {
    args: options.ulimit
      ? ["-c", `ulimit -n ${options.ulimit} && exec "$0" "$@"`, Deno.execPath(), ...deno]
      : deno,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    ...(options.env ? { env: options.env } : {}),
  }).spawn();
  let out = "";
  let err = "";
  const changed: (() => void)[] = [];
  const pump = async (
    stream: ReadableStream<Uint8Array<ArrayBuffer>>,
    add: (t: string) => void,
  ) => {
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
    waitFor(pattern: RegExp): Promise<RegExpMatchArray> {
      return this.waitIn(() => out, pattern);
    },
    /** Resolves with the match once stderr shows `pattern`; fails after 10 s. */
    waitForErr(pattern: RegExp): Promise<RegExpMatchArray> {
      return this.waitIn(() => err, pattern);
    },
    async waitIn(text: () => string, pattern: RegExp): Promise<RegExpMatchArray> {
      const deadline = Date.now() + 10_000;
      while (true) {
        const m = text().match(pattern);
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
  return await hostWith({}, port, ...args);
}

async function hostWith(env: Record<string, string>, port: number, ...args: string[]) {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", MOD, "host", "-P", String(port), ...args],
    stdout: "piped",
    stderr: "piped",
    env,
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

// ---- issue 13: a link that stays up, bounded, and authenticated ----------------------------

const listening = /listening on 127\.0\.0\.1:(\d+)/;

Deno.test({
  name: "e2e: serve under ulimit -n 64 keeps serving after accept runs out of descriptors, " +
    "logging one line per burst",
  ignore: Deno.build.os !== "linux",
  sanitizeResources: false,
  fn: async () => {
    const server = serve(["--port", "0"], { ulimit: 64 });
    const port = Number((await server.waitFor(listening))[1]);
    for (let burst = 1; burst <= 2; burst++) {
      // The kernel completes connections the server cannot accept, so opening them always
      // works; past the descriptor limit, accept fails on the server's side.
      const held: Deno.Conn[] = [];
      const failures = new RegExp(`(Host link accept failed[^\\n]*\\n[^]*){${burst}}`);
      for (let i = 0; i < 100 && !failures.test(server.err); i++) {
        held.push(await Deno.connect({ hostname: "127.0.0.1", port }));
        if (i >= 30) await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await server.waitForErr(failures);
      assert.match(server.err, /Host link accept failed: Too many open files/);
      for (const conn of held) conn.close();
      // Served again once descriptors are free: a new link gets its answer.
      const client = await connect(port);
      assert.equal((await client.query()).status, 69);
      client.close();
      await server.waitForErr(
        new RegExp(`(Host link accepting again after \\d+ failed accepts\\n[^]*){${burst}}`),
      );
    }
    assert.equal(server.err.match(/Host link accept failed/g)?.length, 2, server.err);
    await term(server);
  },
});

Deno.test({
  name: "e2e: serve --max-connections: the host tool past the limit gets 163 with the reason",
  sanitizeResources: false,
  fn: async () => {
    const server = serve(["--port", "0", "--max-connections", "1"]);
    const port = Number((await server.waitFor(listening))[1]);
    const holder = await connect(port);
    assert.equal((await holder.query()).status, 69);
    const refused = await host(port, "-q");
    assert.deepEqual([refused.code, refused.out], [
      163,
      '\nresponse status 163\n{\n\t"error message":\t"Too many host links open (the limit is 1); ' +
      'try again later"\n}',
    ]);
    assert.match(server.err, /Host link refused 127\.0\.0\.1:\d+: 1 links open, the limit is 1/);
    holder.close();
    // The slot frees as soon as the server sees the close.
    let again = await host(port, "-q");
    for (let i = 0; i < 20 && again.code === 163; i++) again = await host(port, "-q");
    assert.equal(again.code, 69);
    await term(server);
  },
});

Deno.test({
  name: "e2e: serve --idle-timeout closes a link that sends nothing",
  sanitizeResources: false,
  fn: async () => {
    const server = serve(["--port", "0", "--idle-timeout", "2"]);
    const port = Number((await server.waitFor(listening))[1]);
    const idle = await connect(port);
    const busy = await connect(port);
    const opened = Date.now();
    const kept = (async () => {
      // A query every 300 ms is activity: this link stays.
      while (Date.now() - opened < 4000) {
        assert.equal((await busy.query()).status, 69);
        await new Promise((resolve) => setTimeout(resolve, 300));
      }
    })();
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      idle.closed,
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error("the idle link was not closed in 15 s")), 15_000);
      }),
    ]);
    clearTimeout(timer);
    assert.ok(Date.now() - opened >= 1900, "not before the timeout");
    await kept;
    assert.equal((await busy.query()).status, 69);
    busy.close();
    await term(server);
  },
});

Deno.test({
  name: "e2e: serve --token-file with TLS; host --ca --token-file is served, " +
    "a missing or wrong token gets one clear line",
  sanitizeResources: false,
  fn: async () => {
    const tls = await selfSignedCertificate();
    const token = `${tls.dir}/token`;
    const wrong = `${tls.dir}/wrong`;
    await Deno.writeTextFile(token, "4f1c0a9e2b7d\n");
    await Deno.writeTextFile(wrong, "guess\n");
    try {
      const server = serve([
        "--port",
        "0",
        "--token-file",
        token,
        "--tls-cert",
        tls.certFile,
        "--tls-key",
        tls.keyFile,
      ]);
      const port = Number((await server.waitFor(listening))[1]);
      const empty = '\nresponse status 69\n{\n\t"num":\t0\n}';
      const ok = await host(port, "--ca", tls.certFile, "--token-file", token, "-q");
      assert.deepEqual([ok.code, ok.out, ok.err], [69, empty, ""]);
      // The token from the environment, TLS trusting the same certificate.
      const env = await hostWith(
        { MICRO_RUNTIME_TOKEN: "4f1c0a9e2b7d" },
        port,
        "--tls",
        "--ca",
        tls.certFile,
        "-q",
      );
      assert.deepEqual([env.code, env.out], [69, empty]);
      const missing = await host(port, "--ca", tls.certFile, "-q");
      assert.deepEqual([missing.code, missing.out], [255, ""]);
      assert.equal(
        missing.err,
        "host: The runtime asks for a token: give it with --token-file FILE or " +
          "MICRO_RUNTIME_TOKEN (HostClient: the token option)\n",
      );
      const bad = await host(port, "--ca", tls.certFile, "--token-file", wrong, "-q");
      assert.deepEqual([bad.code, bad.out, bad.err], [
        255,
        "",
        "host: Authentication failed: the token does not match this runtime's\n",
      ]);
      const untrusted = await host(port, "--tls", "--token-file", token, "-q");
      assert.equal(untrusted.code, 255);
      assert.match(untrusted.err, /^host: Cannot connect to 127\.0\.0\.1:\d+: .*UnknownIssuer/);
      assert.doesNotMatch(server.err, /warning/, "loopback: no warning");
      assert.equal(server.err.match(/Authentication failed/g)?.length, 1, server.err);
      await term(server);
    } finally {
      await Deno.remove(tls.dir, { recursive: true });
    }
  },
});

// ---- issue 13: closed pipes, a frozen server's log, the exposure warning ----------------

/** Spawns `serve`, reading its pipes only when asked (so a test can close them); `until()` reads a stream until `pattern` shows (10 s at most). */
function spawnServe(args: string[]) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", MOD, "serve", "--port", "0", ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const readers = { stdout: child.stdout.getReader(), stderr: child.stderr.getReader() };
  const seen = { stdout: "", stderr: "" };
  const decoder = new TextDecoder();
  return {
    child,
    seen,
    /** Reads `stream` until it shows `pattern`; returns the match. */
    async until(stream: "stdout" | "stderr", pattern: RegExp): Promise<RegExpMatchArray> {
      const deadline = Date.now() + 10_000;
      while (!pattern.test(seen[stream])) {
        let timer: ReturnType<typeof setTimeout> | undefined;
        const late = new Promise<"late">((resolve) => {
          timer = setTimeout(() => resolve("late"), Math.max(0, deadline - Date.now()));
        });
        const chunk = await Promise.race([readers[stream].read(), late]);
        clearTimeout(timer);
        if (chunk === "late" || chunk.done) {
          throw new Error(`No ${pattern} in ${stream}: ${seen.stdout}${seen.stderr}`);
        }
        seen[stream] += decoder.decode(chunk.value, { stream: true });
      }
      return seen[stream].match(pattern)!;
    },
    /** Closes our end of a pipe: the server's next write to it fails. */
    async close(stream: "stdout" | "stderr"): Promise<void> {
      await readers[stream].cancel();
    },
    async stop(signal: Deno.Signal = "SIGTERM"): Promise<Deno.CommandStatus> {
      child.kill(signal);
      const status = await child.status;
      for (const reader of Object.values(readers)) await reader.cancel().catch(() => {});
      return status;
    },
  };
}

/** Prints a line when installed, then traps on every request: output and errors to write. */
const CHATTY = wat(`(module
  (import "env" "puts" (func $puts (param i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "chatty is up\\00")
  (func (export "on_init") (drop (call $puts (i32.const 16))))
  (func (export "on_request") (param i32 i32) unreachable))`);

Deno.test({
  name: "e2e: a closed stdout, then a closed stderr, never stop serving",
  sanitizeResources: false,
  fn: async () => {
    const server = spawnServe([]);
    const port = Number((await server.until("stdout", /listening on 127\.0\.0\.1:(\d+)/))[1]);
    await server.close("stdout");
    const client = await HostClient.connect({ port, timeout: 10_000 });
    // The install's log lines and the app's line go to the closed stdout.
    assert.equal((await client.install("chatty", CHATTY)).status, 65);
    await server.until("stderr", /serve: stdout is closed \(.*\); app output is dropped/);
    assert.match(server.seen.stderr, /Broken pipe/);
    assert.equal((await client.query()).container?.get("applet1")?.value, "chatty");
    await server.close("stderr");
    // A trap and a malformed frame each log a line to the closed stderr.
    assert.equal((await client.request("/app/chatty/x", "GET")).status, 160);
    client.sendRaw(encodeFrame(2, new Uint8Array([1, 1, 0])));
    assert.equal((await client.query()).status, 69);
    client.close();
    const status = await server.stop();
    assert.equal(status.code, 0, "a clean shutdown, not a BrokenPipe crash");
  },
});

/** Prints a line for its first request; its second request never returns. */
const FREEZER = wat(`(module
  (import "env" "puts" (func $puts (param i32) (result i32)))
  (memory (export "memory") 1)
  (global $n (mut i32) (i32.const 0))
  (data (i32.const 16) "handled the first request\\00")
  (func (export "on_init"))
  (func (export "on_request") (param i32 i32)
    (if (i32.eqz (global.get $n))
      (then (global.set $n (i32.const 1)) (drop (call $puts (i32.const 16))) (return)))
    (loop $spin (br $spin))))`);

Deno.test({
  name: "e2e: a server frozen in a callback has logged everything before it",
  sanitizeResources: false,
  fn: async () => {
    // No deadline: nothing stops the second callback, as with a native that blocks.
    const server = spawnServe(["--deadline-ms", "0"]);
    const port = Number((await server.until("stdout", /listening on 127\.0\.0\.1:(\d+)/))[1]);
    const client = await HostClient.connect({ port, timeout: 10_000 });
    assert.equal((await client.install("freezer", FREEZER)).status, 65);
    // Both requests in one write, so both callbacks run in the same turn of the event loop.
    const request = (mid: number) =>
      encodeFrame(
        2,
        encodeRequest({
          action: 1,
          fmt: 99,
          mid,
          sender: 0,
          url: "/app/freezer/x",
          payload: undefined,
        }),
      );
    client.sendRaw(new Uint8Array([...request(1), ...request(2)]));
    await server.until("stdout", /handled the first request\n/);
    assert.match(server.seen.stdout, /Install WASM app success!\n/);
    client.close();
    await server.stop("SIGKILL");
  },
});

Deno.test({
  name: "e2e: serve listening beyond loopback without TLS or a token prints a warning",
  sanitizeResources: false,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    await Deno.writeTextFile(`${dir}/token`, "s3cret\n");
    try {
      for (
        const [args, warning] of [
          [[], /with no token and no TLS: anyone who can reach this port can install, run/],
          [["--token-file", `${dir}/token`], /without TLS: hosts must prove the token, but/],
        ] as const
      ) {
        const server = spawnServe(["--host", "0.0.0.0", ...args]);
        const port = Number((await server.until("stdout", /listening on 0\.0\.0\.0:(\d+)/))[1]);
        const line = (await server.until("stderr", /^serve: warning: .*\n/m))[0];
        assert.match(line, new RegExp(`^serve: warning: listening on 0\\.0\\.0\\.0:${port} `));
        assert.match(line, warning);
        // Reached only through loopback here.
        const client = await HostClient.connect({
          hostname: "127.0.0.1",
          port,
          ...(args.length ? { token: "s3cret" } : {}),
        });
        assert.equal((await client.query()).status, 69);
        client.close();
        assert.equal((await server.stop()).code, 0);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
