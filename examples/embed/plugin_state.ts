/**
 * A plugin with per-app state: a native library whose `setup` gives every app instance its own
 * simulated room, whose natives read and change that room through `ctx.state`, and whose
 * `dispose` runs when the instance is freed. Two instances of the same thermostat app run side
 * by side without seeing each other's room.
 *
 * ```sh
 * deno run --allow-read examples/embed/plugin_state.ts
 * ```
 *
 * @module
 */

import { defineNativeLibrary, encodeUtf8, libc, Runtime } from "../../mod.ts";

/** One app's room, in tenths of a degree Celsius. */
interface Room {
  temperature: number;
  target: number;
  readings: number;
}

const starts = [150, 200];
let created = 0;

// The C side declares these in examples/thermostat/thermostat.h.
const thermostat = defineNativeLibrary<Room>({
  name: "thermostat",
  // Called once per app instance, before its code runs; `app` is the instance being created.
  setup: function openRoom(app) {
    const temperature = starts[created++ % starts.length]!;
    console.log(`setup for ${app.name}: room at ${temperature / 10} C`);
    return { temperature, target: temperature, readings: 0 };
  },
  // Called when the instance is freed, with the state setup returned.
  dispose: function closeRoom(room, app) {
    console.log(
      `dispose for ${app.name}: room at ${room.temperature / 10} C after ${room.readings} readings`,
    );
  },
  symbols: (native) => ({
    // The signature string types each implementation: "()i" is (ctx) => number.
    thermo_get: native("()i", function thermoGet({ state }) {
      const gap = state.target - state.temperature;
      state.temperature += Math.sign(gap) * Math.min(5, Math.abs(gap));
      state.readings++;
      return state.temperature;
    }),
    thermo_set_target: native("(i)", function thermoSetTarget({ state }, tenths) {
      state.target = tenths;
    }),
    // "$" arrives as a string, "*~" as a checked view of the app's buffer and its length.
    thermo_label: native("($*~)i", function thermoLabel({ state }, name, buf, size) {
      const label = encodeUtf8(`${name}: ${state.temperature / 10} C`);
      if (size > 0) {
        const n = Math.min(label.length, size - 1);
        buf.set(label.subarray(0, n));
        buf[n] = 0;
      }
      return label.length;
    }),
  }),
});

const runtime = new Runtime({ plugins: [libc, thermostat] });
const module = await runtime.load(new URL("../thermostat/thermostat_app.wasm", import.meta.url));

const decoder = new TextDecoder();
const outputs = new Map<string, string>();
async function start(name: string) {
  outputs.set(name, "");
  return await runtime.instantiate(module, {
    name,
    stdout: function keepOutput(bytes) {
      outputs.set(name, outputs.get(name)! + decoder.decode(bytes));
    },
  });
}

const kitchen = await start("kitchen");
const cellar = await start("cellar");

// The host sees each app's state too.
kitchen.callMain(["kitchen"]);
console.log(`kitchen's room: ${JSON.stringify(kitchen.stateOf(thermostat))}`);
cellar.callMain(["cellar"]);
console.log(`cellar's room: ${JSON.stringify(cellar.stateOf(thermostat))}`);

kitchen.free();
cellar.free();
for (const [name, text] of outputs) {
  console.log(`${name} printed:\n${text.trimEnd().replace(/^/gm, "  ")}`);
}
