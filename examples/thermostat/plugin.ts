/**
 * A third-party vendor plugin: a thermostat whose simulated room drifts toward the target
 * 0.5 °C per reading. Each app gets its own room. C declarations: `thermostat.h`.
 *
 * Run: `deno run --allow-read mod.ts --plugin ./examples/thermostat/plugin.ts examples/thermostat/thermostat_app.wasm`
 *
 * @module
 */

import { defineNativeLibrary, encodeUtf8 } from "../../sdk/mod.ts";

/** One app's room, in tenths of a degree Celsius. */
export interface Room {
  /** Current temperature. */
  temperature: number;
  /** Where the heating or cooling is heading. */
  target: number;
}

const STEP = 5; // 0.5 °C per reading

function _format(tenths: number): string {
  const sign = tenths < 0 ? "-" : "";
  const abs = Math.abs(tenths);
  return `${sign}${Math.trunc(abs / 10)}.${abs % 10}`;
}

export default defineNativeLibrary<Room>({
  name: "thermostat",
  setup: () => ({ temperature: 180, target: 180 }),
  symbols: (native) => ({
    thermo_get: native("()i", ({ state }) => {
      const gap = state.target - state.temperature;
      state.temperature += Math.sign(gap) * Math.min(STEP, Math.abs(gap));
      return state.temperature;
    }),
    thermo_set_target: native("(i)", ({ state }, tenths) => {
      state.target = tenths;
    }),
    // snprintf semantics: write what fits, NUL-terminate, return the full length.
    thermo_label: native("($*~)i", ({ state }, name, buf, size) => {
      const label = encodeUtf8(`${name}: ${_format(state.temperature)} C`);
      if (size > 0) {
        const n = Math.min(label.length, size - 1);
        buf.set(label.subarray(0, n));
        buf[n] = 0;
      }
      return label.length;
    }),
  }),
});
