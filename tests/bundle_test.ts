import assert from "node:assert/strict";
import { buildBundle, type BundleResult } from "../examples/web/build.ts";

const ROOT = decodeURIComponent(new URL("..", import.meta.url).pathname);

// One build for the whole file, into a directory of its own (pages and other tests use
// examples/web/dist/).
const outDir = await Deno.makeTempDir({ prefix: "bundle_test_" });
let built: Promise<BundleResult> | undefined;
const bundle = (): Promise<BundleResult> => built ??= buildBundle({ outDir });

// The Node.js side of the smoke test: runs one case against the module given as argv[2] (the
// bundle; or, for "apps", also core/web/mod.ts under Deno, which runs Node.js's APIs too).
const SMOKE = `
import { readFile } from "node:fs/promises";
const [moduleUrl, platformName, kind, ...rest] = process.argv.slice(2);
const m = await import(moduleUrl);
if (m.platform().name !== platformName) throw new Error("platform is " + m.platform().name);
let status;
if (kind === "run") {
  const [file, ...args] = rest;
  status = await m.runApp(await readFile(file), { name: file, args });
} else if (kind === "call") {
  const [fn, file, ...args] = rest;
  status = await m.runApp(await readFile(file), { name: file, function: fn, args });
} else if (kind === "wasi") {
  const [file, ...args] = rest;
  const fs = new m.MemoryFs();
  fs.writeFile("/in/a.txt", "hi\\n");
  fs.mkdirp("/out");
  const wasi = m.createWasiLibrary({
    fs,
    env: { GREETING: "hello" },
    preopens: [{ host: "/in", guest: "/in" }, { host: "/out", guest: "/out" }],
  });
  status = await m.runApp(await readFile(file), { name: file, args, wasi, heapSize: 0 });
  process.stdout.write("out/a.txt: " + JSON.stringify(fs.readTextFile("/out/a.txt")) + "\\n");
} else if (kind === "apps") {
  // Framework apps on a manual clock, sensor readings and the GUI's screen, printed.
  let pending = "";
  const print = (bytes) => {
    pending += new TextDecoder().decode(bytes);
    const lines = pending.split("\\n");
    pending = lines.pop();
    for (const line of lines) console.log("  | " + line);
  };
  const clock = new m.ManualClock();
  // sensor.wasm opens sensor_test1 and sensor_test2: a sine wave and WAMR's test sensor.
  const watch = (s) => console.log("sample", s.name, s.time, JSON.stringify(s.values));
  const sensors = m.createSensorLibrary([
    m.watchSensor(m.sineSensor({ name: "sensor_test1" }), watch),
    m.watchSensor(m.testSensor("sensor_test2"), watch),
  ]);
  const runtime = new m.Runtime({ plugins: [m.libc, m.base, sensors], stdout: print });
  const manager = new m.AppManager(runtime, { clock });
  for (const name of ["timer", "request_handler", "event_publisher", "sensor"]) {
    manager.install(name, await readFile("examples/" + name + "/" + name + ".wasm"));
  }
  manager.runPending();
  manager.subscribe("alert/overheat", (e) => console.log("event", clock.now(), e.url));
  for (const ms of [999, 1, 2000]) clock.advance(ms);
  const reply = manager.request({ url: "/url1", action: m.Action.GET });
  clock.advance(0);
  const response = await reply;
  console.log("GET /url1", response.status, JSON.stringify(m.attrContainerToJSON(m.decodeAttrContainer(response.payload))));
  for (const app of [...manager.apps]) manager.uninstall(app.name);
  let now = 0;
  let frame;
  const display = m.createDisplayLibrary({
    clock: () => now,
    terminal: false,
    screen: { present: (rgba) => frame = rgba.slice() },
  });
  const gui = await new m.Runtime({ plugins: [display] }).instantiate(
    await new m.Runtime({ plugins: [display] }).load(await readFile("examples/gui/gui.wasm")),
  );
  gui.call("gui_init");
  for (; now <= 1500; now += 10) {
    if (now === 300) display.state(gui).pointer(160, 125, true);
    if (now === 500) display.state(gui).pointer(160, 125, false);
    gui.call("gui_tick", now);
  }
  await Promise.resolve();
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", frame));
  console.log("screen", [...digest].map((b) => b.toString(16).padStart(2, "0")).join(""));
  gui.free();
  status = 0;
} else if (kind === "connect") {
  await m.HostClient.connect({ port: 1 }).then(
    () => process.stdout.write("connected\\n"),
    (e) => process.stdout.write(e.message + "\\n"),
  );
  status = 0;
}
process.exitCode = status;
`;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function run(command: string, args: string[]): Promise<Run> {
  const { code, stdout, stderr } = await new Deno.Command(command, {
    args,
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder();
  return { code, stdout: text.decode(stdout), stderr: text.decode(stderr) };
}

async function smokeScript(): Promise<string> {
  const script = `${outDir}/smoke.mjs`;
  await Deno.writeTextFile(script, SMOKE);
  return script;
}

async function node(...args: string[]): Promise<Run> {
  const script = await smokeScript();
  const { path } = await bundle();
  return await run("node", [script, `file://${path}`, "node", ...args]);
}

function cli(...args: string[]): Promise<Run> {
  return run(Deno.execPath(), ["run", "--allow-read", "--allow-write", "mod.ts", ...args]);
}

Deno.test("bundle: one ES module and its source map, naming no Deno API", async () => {
  const { path, bytes, mapPath } = await bundle();
  assert.deepEqual(
    [...Deno.readDirSync(outDir)].map((e) => e.name).filter((n) => !n.endsWith(".mjs")).sort(),
    ["micro-runtime.js", "micro-runtime.js.map"],
  );
  const js = await Deno.readTextFile(path);
  assert.equal(new TextEncoder().encode(js).length, bytes);
  assert.doesNotMatch(js, /\bDeno\./);
  assert.doesNotMatch(js, /\brequire\(|from\s*"node:|import\("node:/, "no Node.js module either");
  assert.match(js, /\n\/\/# sourceMappingURL=micro-runtime\.js\.map\n$/);
  const map = JSON.parse(await Deno.readTextFile(mapPath));
  assert.equal(map.version, 3);
  const sources: string[] = map.sources;
  for (const file of ["core/web/mod.ts", "core/instance/runtime.ts", "sdk/platform_web.ts"]) {
    assert.ok(sources.some((s) => s.endsWith(file)), `the map lists ${file}`);
  }
  assert.ok(!sources.some((s) => s.endsWith("platform_deno.ts")), "Deno's platform is swapped");
  assert.equal(map.sourcesContent.length, sources.length);
});

Deno.test("bundle: hello under Node.js prints what `deno run mod.ts` prints", async () => {
  const file = "examples/hello/hello.wasm";
  const [fromNode, fromCli] = await Promise.all([node("run", file, "foo"), cli(file, "foo")]);
  assert.equal(fromCli.code, 0, fromCli.stderr);
  assert.equal(fromNode.code, 0, fromNode.stderr);
  assert.match(fromCli.stdout, /^Hello world!\n/);
  assert.equal(fromNode.stdout, fromCli.stdout);
});

Deno.test("bundle: printf under Node.js prints what `deno run mod.ts` prints", async () => {
  const file = "examples/printf/printf.wasm";
  const [fromNode, fromCli] = await Promise.all([node("run", file), cli(file)]);
  assert.equal(fromCli.code, 0, fromCli.stderr);
  assert.ok(fromCli.stdout.split("\n").length > 10, "printf prints many lines");
  assert.equal(fromNode.stdout, fromCli.stdout);
  assert.equal(fromNode.code, fromCli.code);
});

Deno.test("bundle: traps under Node.js print WAMR's Exception line, as the CLI does", async () => {
  const file = "examples/traps/traps.wasm";
  for (const fn of ["unreachable_trap", "oob_load", "divz", "stack_overflow", "call_missing"]) {
    const [fromNode, fromCli] = await Promise.all([node("call", fn, file), cli("-f", fn, file)]);
    assert.match(fromCli.stdout, /^Exception: .+\n$/, fn);
    assert.equal(fromNode.stdout, fromCli.stdout, fn);
    assert.equal(fromNode.code, 1, fn);
    assert.equal(fromCli.code, 1, fn);
  }
});

Deno.test("bundle: a WASI app under Node.js runs over the in-memory file system", async () => {
  const file = "examples/wasi/c/wasi_app.wasm";
  const args = ["/in/a.txt", "/out/a.txt", "3"];
  const host = await Deno.makeTempDir({ prefix: "bundle_test_wasi_" });
  try {
    await Deno.mkdir(`${host}/in`);
    await Deno.mkdir(`${host}/out`);
    await Deno.writeTextFile(`${host}/in/a.txt`, "hi\n");
    const [fromNode, fromCli] = await Promise.all([
      node("wasi", file, ...args),
      cli(
        `--dir=${host}/in::/in`,
        `--dir=${host}/out::/out`,
        "--env=GREETING=hello",
        file,
        ...args,
      ),
    ]);
    assert.equal(fromCli.code, 3, fromCli.stderr);
    assert.equal(fromNode.code, 3, fromNode.stderr);
    assert.match(fromCli.stdout, /copy \/in\/a\.txt -> \/out\/a\.txt: 3 bytes\n/);
    assert.equal(fromNode.stdout, fromCli.stdout + `out/a.txt: "hi\\n"\n`);
    assert.equal(await Deno.readTextFile(`${host}/out/a.txt`), "hi\n");
  } finally {
    await Deno.remove(host, { recursive: true });
  }
});

Deno.test("bundle: HostClient over TCP says to use a WebSocket, under Node.js", async () => {
  const { code, stdout, stderr } = await node("connect");
  assert.equal(code, 0, stderr);
  assert.equal(
    stdout,
    "The browser build opens no TCP connections: reach a runtime over a WebSocket " +
      "(serve --ws PORT, webSocketTransport)\n",
  );
});

Deno.test("bundle: framework apps, sensors and the GUI's screen under Node.js act as under Deno", async () => {
  const source = new URL("../core/web/mod.ts", import.meta.url).href;
  const [fromNode, fromDeno] = await Promise.all([
    node("apps"),
    smokeScript().then((script) =>
      run(Deno.execPath(), ["run", "-A", script, source, "deno", "apps"])
    ),
  ]);
  assert.equal(fromDeno.code, 0, fromDeno.stderr);
  assert.equal(fromNode.code, 0, fromNode.stderr);
  const lines = fromDeno.stdout.split("\n");
  for (
    const expected of [
      /^ {2}\| Timer update 2$/,
      /^sample sensor_test1 1000 \{"value":22\.93892\d*,"time":1000\}$/,
      /^event 3000 alert\/overheat$/,
      /^ {2}\| ### app get sensor event from sensor1$/,
      /^GET \/url1 69 /,
      /^screen [0-9a-f]{64}$/,
    ]
  ) {
    assert.ok(lines.some((line) => expected.test(line)), `${expected} in:\n${fromDeno.stdout}`);
  }
  assert.equal(fromNode.stdout, fromDeno.stdout);
});

Deno.test("bundle: a second build in the same process replaces the file whole", async () => {
  const first = await bundle();
  const [a, b] = await Promise.all([buildBundle({ outDir }), buildBundle({ outDir })]);
  assert.equal(a.bytes, first.bytes);
  assert.equal(b.bytes, first.bytes);
  assert.equal((await Deno.stat(first.path)).size, first.bytes);
  assert.deepEqual(
    [...Deno.readDirSync(outDir)].map((e) => e.name).filter((n) => n.startsWith(".")),
    [],
    "no temporary file left",
  );
});

globalThis.addEventListener("unload", () => Deno.removeSync(outDir, { recursive: true }));
