import assert from "node:assert/strict";
import { wat } from "./_wat.ts";
import { Runtime } from "../core/instance/runtime.ts";
import { AppManager } from "../core/framework/app_manager.ts";
import { ManualClock } from "../sdk/clock.ts";
import { AttrContainer, decodeAttrContainer, encodeAttrContainer } from "../sdk/mod.ts";
import sensor, {
  createSensorLibrary,
  csvSensor,
  sineSensor,
  testSensor,
} from "../natives/sensor/mod.ts";
import libc from "../natives/libc/mod.ts";
import type { BuiltinPlugins } from "../core/cli/plugins.ts";

// An app that opens a sensor in on_init (name at 16, config container at 64), records each
// event (sensor id, length) and copies the last payload to 1024 for the test to read.
const APP = (name: string, interval: number) =>
  wat(`(module
  (import "env" "wasm_sensor_open" (func $open (param i32 i32) (result i32)))
  (import "env" "wasm_sensor_config" (func $config (param i32 i32 i32 i32) (result i32)))
  (import "env" "wasm_sensor_close" (func $close (param i32) (result i32)))
  (import "env" "wasm_sensor_config_with_attr_container" (func $cfga (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "${name}\\00")
  (global $sensor (mut i32) (i32.const -1))
  (global $events (mut i32) (i32.const 0))
  (global $len (mut i32) (i32.const 0))
  (func (export "on_init")
    (global.set $sensor (call $open (i32.const 16) (i32.const 0)))
    (drop (call $config (global.get $sensor) (i32.const ${interval}) (i32.const 0) (i32.const 0))))
  (func (export "on_sensor_event") (param $id i32) (param $buf i32) (param $len i32)
    (global.set $events (i32.add (global.get $events) (i32.const 1)))
    (global.set $len (local.get $len))
    (memory.copy (i32.const 1024) (local.get $buf) (local.get $len)))
  (func (export "sensor") (result i32) global.get $sensor)
  (func (export "events") (result i32) global.get $events)
  (func (export "len") (result i32) global.get $len)
  (func (export "open_again") (result i32) (call $open (i32.const 16) (i32.const 0)))
  (func (export "open_missing") (result i32) (call $open (i32.const 17) (i32.const 0)))
  (func (export "close") (result i32) (call $close (global.get $sensor)))
  (func (export "config_attr") (param i32) (result i32)
    (call $cfga (global.get $sensor) (i32.const 64) (local.get 0))))`);

// Each configured library has its own sensors: a fresh one per test keeps tests apart.
function setup(lib = sensor.configure!({})) {
  const clock = new ManualClock();
  const lines: string[] = [];
  const runtime = new Runtime({
    plugins: [libc, lib],
    stdout: () => {},
    warn: (m) => lines.push(m),
  });
  const manager = new AppManager(runtime, { clock, stdout: () => {} });
  return { clock, manager, lines };
}

function lastReading(
  app: { instance: { memory: { bytes(a: number, n: number): Uint8Array } } },
  len: number,
) {
  return decodeAttrContainer(app.instance.memory.bytes(1024, len).slice());
}

Deno.test("sensor: open, configure, readings as attr_containers to on_sensor_event", () => {
  const { clock, manager } = setup();
  const app = manager.install("s", APP("sensor_test", 100));
  manager.runPending();
  const inst = app.instance;
  assert.equal(inst.call("sensor"), 0, "sensor ids count from 0 like WAMR's");
  clock.advance(0);
  manager.runPending();
  assert.equal(inst.call("events"), 1, "the first reading comes at once, not a period late");
  clock.advance(350);
  manager.runPending();
  assert.equal(inst.call("events"), 4, "then one each 100 ms: at 100, 200 and 300");
  const reading = lastReading(app, inst.call("len") as number);
  assert.equal(reading.tag, "read test sensor data");
  assert.equal(reading.getAsString("name"), "read test sensor");
  assert.equal(inst.call("open_again"), -1, "an app cannot open the same sensor twice");
  assert.equal(inst.call("open_missing"), -1, "unknown sensor name");
});

Deno.test("sensor: the read interval is the minimum over clients; close stops events", () => {
  const { clock, manager } = setup();
  const a = manager.install("a", APP("sensor_test1", 500));
  const b = manager.install("b", APP("sensor_test1", 200));
  manager.runPending();
  clock.advance(1000);
  manager.runPending();
  assert.equal(a.instance.call("events"), 6, "at 0, 200, 400, 600, 800 and 1000");
  assert.equal(b.instance.call("events"), 6);
  assert.equal(b.instance.call("close"), 1);
  assert.equal(b.instance.call("close"), 0, "closing twice fails");
  clock.advance(1000);
  manager.runPending();
  assert.equal(b.instance.call("events"), 6);
  assert.equal(a.instance.call("events"), 8, "back to a's own 500 ms: at 1500 and 2000");
});

Deno.test("sensor: uninstall closes the app's sensors", () => {
  const { clock, manager } = setup();
  const a = manager.install("a", APP("sensor_test", 100));
  const instance = a.instance;
  manager.runPending();
  manager.uninstall("a");
  assert.equal(clock.pending, 0, "no sensor timer left behind");
  const b = manager.install("b", APP("sensor_test", 100));
  manager.runPending();
  assert.equal(b.instance.call("sensor"), 0, "the sensor can be opened again");
  clock.advance(100);
  manager.runPending();
  assert.equal(b.instance.call("events"), 2, "at once and at 100");
  assert.equal(instance.freed, true);
});

Deno.test("sensor: config_with_attr_container passes the app's container to the driver", () => {
  const seen: AttrContainer[] = [];
  const driver = { ...testSensor("cfg"), config: (c: AttrContainer) => (seen.push(c), true) };
  const { manager } = setup(createSensorLibrary([driver]));
  const app = manager.install("a", APP("cfg", 100));
  manager.runPending();
  assert.equal(seen[0]?.tag, "config sensor");
  assert.equal(seen[0]?.getAsInt("interval"), 100);
  const bytes = encodeAttrContainer(new AttrContainer("mine").setInt("gain", 7));
  app.instance.memory.write(64, bytes);
  assert.equal(app.instance.call("config_attr", bytes.length), 1);
  assert.equal(seen[1]?.getAsInt("gain"), 7);
  assert.equal(app.instance.call("config_attr", 3), 0, "a truncated container is refused");
});

Deno.test("sensor: sine and CSV drivers, and CLI options", () => {
  const sine = sineSensor({ period: 1000, amplitude: 2, offset: 10 });
  assert.equal(sine.read(250).getAsDouble("value"), 12);
  const csv = csvSensor("room", "temp,label\n21.5,a\n22,b\n");
  assert.equal(csv.read(0).getAsDouble("temp"), 21.5);
  const second = csv.read(0);
  assert.equal(second.getAsString("label"), "b");
  assert.equal(csv.read(0).getAsDouble("temp"), 21.5, "wraps around");
  assert.throws(() => csvSensor("x", "a,b\n1\n"), /line 2 has 1 cells, expected 2/);
  assert.throws(() => sensor.configure!({ driver: "laser" }), /unknown driver "laser"/);
  assert.throws(() => sensor.configure!({ driver: "csv" }), /needs file=PATH/);
});

Deno.test("sensor: the C sensor example prints each reading like WAMR's sample", async () => {
  const { default: base } = await import("../natives/base/mod.ts");
  const clock = new ManualClock();
  let out = "";
  const dec = new TextDecoder();
  const sink = (b: Uint8Array) => out += dec.decode(b);
  const runtime = new Runtime({
    plugins: [libc, base, sensor.configure!({})],
    stdout: sink,
    warn: () => {},
  });
  const manager = new AppManager(runtime, { clock, stdout: sink });
  const bytes = await Deno.readFile(new URL("../examples/sensor/sensor.wasm", import.meta.url));
  manager.install("sensor", bytes);
  manager.runPending();
  clock.advance(1000);
  manager.runPending();
  manager.uninstall("sensor");
  const dumpOf = "Attribute container dump:\nTag: read test sensor data\nAttribute list:\n" +
    "  key: name, type: string, value: read test sensor\n\n";
  assert.ok(out.includes("### app on_init done\n"), out);
  assert.ok(out.includes(`### app get sensor event from sensor1\n${dumpOf}`), out);
  assert.ok(out.includes(`### app get sensor event from sensor2\n${dumpOf}`), out);
  assert.ok(out.includes("### app on_destroy done\n"), out);
});

/** Resolves once `read()` matches `pattern`; queues drain on real macrotasks meanwhile. */
async function eventually(read: () => string, pattern: RegExp): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!pattern.test(read())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${pattern} in:\n${read()}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const SENSOR_WASM = new URL("../examples/sensor/sensor.wasm", import.meta.url);

Deno.test("sensor: serve loads the plugin by default; the C sample's first reading comes at once", async () => {
  const { HostService } = await import("../core/cli/serve_command.ts");
  const clock = new ManualClock();
  let out = "";
  const service = await HostService.start({
    listen: false,
    apps: [{ name: "sensor", bytes: await Deno.readFile(SENSOR_WASM) }],
    clock,
    stdout: (b) => out += new TextDecoder().decode(b),
  });
  try {
    await eventually(() => out, /### app on_init done\n/);
    assert.doesNotMatch(out, /open sensor\d failed/);
    clock.advance(0); // no time passes: the 1000 ms period has not begun
    await eventually(() => out, /from sensor1\n(.|\n)*from sensor2\n/);
    assert.equal(out.match(/### app get sensor event/g)?.length, 2);
    clock.advance(999);
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(out.match(/### app get sensor event/g)?.length, 2, "the next one is due at 1000");
    clock.advance(1);
    await eventually(() => out, /(### app get sensor event(.|\n)*){4}/);
  } finally {
    await service.shutdown();
  }
});

Deno.test("sensor: apps loads the plugin by default; --plugin sensor,… replaces it", async () => {
  const { runAppsCommand } = await import("../core/cli/apps_command.ts");
  const { default: base } = await import("../natives/base/mod.ts");
  const { fileURLToPath } = await import("node:url");
  const run = async (args: string[], builtins: BuiltinPlugins = { libc, base }) => {
    const clock = new ManualClock();
    let out = "";
    const status = await runAppsCommand([fileURLToPath(SENSOR_WASM), ...args], {
      builtins,
      clock,
      stdout: (b) => out += new TextDecoder().decode(b),
      stderr: (t) => out += t,
      // The first reading is due at 0; the run stops at 500, once the queues had a turn.
      onStart: () => {
        clock.advance(0);
        setTimeout(() => clock.advance(500), 50);
      },
    });
    return { status, out };
  };
  const defaults = await run(["--duration", "500"]);
  assert.equal(defaults.status, 0, defaults.out);
  assert.match(defaults.out, /### app on_init done\n/);
  assert.match(defaults.out, /### app get sensor event from sensor1\n/, "read at once, at 0 ms");
  const replaced = await run(
    ["--duration", "500", "--plugin", "sensor,driver=sine"],
    { libc, base, sensor },
  );
  assert.match(replaced.out, /open sensor1 failed!\n/, "only the sine sensor is left");
});
