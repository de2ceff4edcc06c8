/**
 * WAMR's sensor natives (`wasm_sensor_open ($i)i`, `wasm_sensor_config (iiii)i`,
 * `wasm_sensor_config_with_attr_container (i*~)i`, `wasm_sensor_close (i)i`): apps open
 * sensors by name and instance, configure a read interval, and get each reading as an
 * attr_container through `on_sensor_event(sensor, buf, len)` from their own queue. As in WAMR,
 * a sensor is read as soon as its first client opens it, then once per interval (the shortest
 * any client asked for).
 *
 * Needs the app framework (apps installed in an `AppManager`, or run with `apps`/`serve`,
 * which load this plugin by default as WAMR's runtime has it built in).
 *
 * Options (`--plugin sensor,driver=csv,file=data.csv,name=room`): `driver` is `test`
 * (default: WAMR's "sensor_test", "sensor_test1" and "sensor_test2"), `sine` or `csv`.
 *
 * @module
 */

import {
  type AppFramework,
  AttrContainer,
  decodeAttrContainer,
  defineConfigurableLibrary,
  encodeLikeWamr,
  type NativeLibrary,
  platform,
  type TimerHandle,
} from "../../sdk/mod.ts";
import { csvSensor, type SensorDriver, sineSensor, testSensor } from "./drivers.ts";

export { csvSensor, type SensorDriver, sineSensor, testSensor } from "./drivers.ts";
export { type SensorListener, type SensorSample, watchSensor } from "./watch.ts";

/** WAMR's failure value for `wasm_sensor_open` (0xFFFFFFFF as an i32). */
const INVALID = -1;

interface _Client {
  framework: AppFramework;
  interval: number;
  bitCfg: number;
  delay: number;
}

interface _Sensor {
  id: number;
  driver: SensorDriver;
  clients: _Client[];
  timer: TimerHandle | undefined;
  framework: AppFramework | undefined;
  /** When it was last read (clock ms); undefined before its first reading. */
  lastRead: number | undefined;
}

/** Per-app state: the sensors this app has open. */
interface _AppSensors {
  framework: AppFramework | undefined;
  open: Set<_Sensor>;
}

/**
 * Creates a sensor library over a set of drivers. Each library has its own sensors, so two
 * runtimes can use different hardware.
 *
 * @param drivers the sensors, identified by position (ids count from 0, as in WAMR)
 * @returns the native library
 *
 * @example A library with a replayed sensor
 * ```ts
 * import assert from "node:assert/strict";
 * import { createSensorLibrary, csvSensor } from "./mod.ts";
 * const lib = createSensorLibrary([csvSensor("room", "temp\n21.5\n22.0")]);
 * assert.equal(lib.symbols.wasm_sensor_open?.signature, "($i)i");
 * ```
 */
export function createSensorLibrary(drivers: readonly SensorDriver[]): NativeLibrary {
  return defineConfigurableLibrary({}, () => _definition(drivers));
}

function _definition(drivers: readonly SensorDriver[]) {
  const sensors: _Sensor[] = drivers.map((driver, id) => ({
    id,
    driver,
    clients: [],
    timer: undefined,
    framework: undefined,
    lastRead: undefined,
  }));
  const byId = (id: number) => sensors[id >>> 0];

  function reschedule(sensor: _Sensor): void {
    const clock = sensor.framework?.clock;
    if (sensor.timer !== undefined && clock) clock.clearTimer(sensor.timer);
    sensor.timer = undefined;
    // The first client's framework supplies the clock and the log for this round.
    sensor.framework = sensor.clients[0]?.framework;
    if (!sensor.framework) {
      // Unused now: its next first client (perhaps on another clock) reads it at once.
      sensor.lastRead = undefined;
      return;
    }
    const interval = Math.max(1, Math.min(...sensor.clients.map((c) => c.interval)));
    const tick = () => {
      const now = sensor.framework!.clock.now();
      sensor.lastRead = now;
      let reading: AttrContainer;
      try {
        reading = sensor.driver.read(now);
      } catch (e) {
        sensor.framework!.log(
          `sensor "${sensor.driver.name}" read failed: ${(e as Error).message}`,
        );
        sensor.timer = sensor.framework!.clock.setTimer(interval, tick);
        return;
      }
      const payload = encodeLikeWamr(reading);
      for (const client of sensor.clients) {
        client.framework.post({
          callback: "on_sensor_event",
          args: [sensor.id],
          payload,
          label: `sensor event from "${sensor.driver.name}"`,
        });
      }
      sensor.timer = sensor.framework!.clock.setTimer(interval, tick);
    };
    // As in WAMR, a sensor is read once its interval has passed since its last reading: at
    // once for its first client, and a new interval counts from the last reading.
    const due = sensor.lastRead === undefined ? 0 : sensor.lastRead + interval;
    sensor.timer = sensor.framework.clock.setTimer(
      Math.max(0, due - sensor.framework.clock.now()),
      tick,
    );
  }

  function close(state: _AppSensors, sensor: _Sensor): boolean {
    if (!state.open.delete(sensor)) return false;
    sensor.clients = sensor.clients.filter((c) => c.framework !== state.framework);
    reschedule(sensor);
    return true;
  }

  function configure(sensor: _Sensor, config: AttrContainer): boolean {
    try {
      return sensor.driver.config?.(config) ?? false;
    } catch {
      return false;
    }
  }

  return {
    name: "sensor",
    setup: (app: { framework?: AppFramework | undefined }): _AppSensors => ({
      framework: app.framework,
      open: new Set<_Sensor>(),
    }),
    dispose: (state: _AppSensors): void => {
      for (const sensor of [...state.open]) close(state, sensor);
    },
    symbols: (native: import("../../sdk/mod.ts").NativeFactory<_AppSensors>) => ({
      wasm_sensor_open: native("($i)i", (ctx, name, instance) => {
        const framework = ctx.state.framework;
        if (!framework) {
          ctx.app.warn("wasm_sensor_open: sensors need the app framework (run with apps/serve)");
          return INVALID;
        }
        const sensor = sensors.find((s) =>
          s.driver.name === name && s.driver.instance === instance
        );
        if (!sensor || ctx.state.open.has(sensor)) return INVALID;
        ctx.state.open.add(sensor);
        sensor.clients.push({
          framework,
          interval: sensor.driver.defaultInterval,
          bitCfg: 0,
          delay: 0,
        });
        reschedule(sensor);
        return sensor.id;
      }),
      wasm_sensor_config: native("(iiii)i", (ctx, id, interval, bitCfg, delay) => {
        const sensor = byId(id);
        if (!sensor || !ctx.state.open.has(sensor)) return 0;
        const client = sensor.clients.find((c) => c.framework === ctx.state.framework)!;
        if (interval > 0) client.interval = interval;
        client.bitCfg = bitCfg;
        client.delay = delay;
        if (sensor.driver.config) {
          configure(
            sensor,
            new AttrContainer("config sensor")
              .setInt("interval", interval)
              .setInt("bit_cfg", bitCfg)
              .setInt("delay", delay),
          );
        }
        reschedule(sensor);
        return 1;
      }),
      wasm_sensor_config_with_attr_container: native("(i*~)i", (ctx, id, buf) => {
        const sensor = byId(id);
        if (!sensor || !ctx.state.open.has(sensor) || !sensor.driver.config) return 0;
        let config: AttrContainer;
        try {
          config = decodeAttrContainer(buf);
        } catch (e) {
          ctx.app.warn(`wasm_sensor_config_with_attr_container: ${(e as Error).message}`);
          return 0;
        }
        return configure(sensor, config) ? 1 : 0;
      }),
      wasm_sensor_close: native("(i)i", (ctx, id) => {
        const sensor = byId(id);
        return sensor && close(ctx.state, sensor) ? 1 : 0;
      }),
    }),
  };
}

const _defaults = { driver: "test", name: "", file: "", instance: 0, interval: 1000 };

/**
 * The built-in sensor plugin (`--plugin sensor`). Options: `driver` = `test` (default),
 * `sine` or `csv`; `name`, `instance`, `interval`; `file` for `csv` (read at load time).
 */
const sensor: NativeLibrary = defineConfigurableLibrary(_defaults, (o) => {
  let drivers: SensorDriver[];
  if (o.driver === "test") {
    drivers = o.name ? [testSensor(o.name, o.instance)] : [
      testSensor("sensor_test", 0),
      testSensor("sensor_test1", 0),
      testSensor("sensor_test2", 0),
    ];
  } else if (o.driver === "sine") {
    drivers = [sineSensor({ name: o.name || "sine", instance: o.instance, interval: o.interval })];
  } else if (o.driver === "csv") {
    if (!o.file) throw new TypeError('Plugin "sensor": driver "csv" needs file=PATH');
    const text = platform().readTextFileSync(o.file);
    drivers = [csvSensor(o.name || "csv", text, { instance: o.instance, interval: o.interval })];
  } else {
    throw new TypeError(`Plugin "sensor": unknown driver "${o.driver}" (test, sine, csv)`);
  }
  return _definition(drivers);
});

export default sensor;
