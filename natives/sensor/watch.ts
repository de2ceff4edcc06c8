/**
 * Sensor readings as they are taken, for a live chart or a log: {@linkcode watchSensor}
 * wraps a driver and reports each reading's numeric values to a listener, while the app
 * still gets the reading itself through `on_sensor_event`.
 *
 * @module
 */

import type { AttrContainer } from "../../sdk/mod.ts";
import type { SensorDriver } from "./drivers.ts";

/** One reading, as a chart wants it. */
export interface SensorSample {
  /** The sensor's name. */
  readonly name: string;
  /** The sensor's instance. */
  readonly instance: number;
  /** When it was read: the framework clock's milliseconds. */
  readonly time: number;
  /** Every numeric attribute of the reading (int, float, double, byte, short, bool as 0/1). */
  readonly values: Readonly<Record<string, number>>;
  /** The reading itself. */
  readonly reading: AttrContainer;
}

/** Receives each reading; what it throws is ignored, so a chart cannot stop a sensor. */
export type SensorListener = (sample: SensorSample) => void;

/**
 * A driver that reports each reading of `driver` to `listener` before passing it on.
 *
 * @param driver the sensor to watch
 * @param listener gets every reading
 * @returns the watched driver, for `createSensorLibrary`
 *
 * @example Collect a sine sensor's values
 * ```ts
 * import assert from "node:assert/strict";
 * import { sineSensor } from "./drivers.ts";
 * import { watchSensor } from "./watch.ts";
 * const seen: number[] = [];
 * const driver = watchSensor(sineSensor(), (s) => seen.push(s.time));
 * driver.read(0);
 * driver.read(100);
 * assert.deepEqual(seen, [0, 100]);
 * ```
 */
export function watchSensor(driver: SensorDriver, listener: SensorListener): SensorDriver {
  const watched: SensorDriver = {
    name: driver.name,
    instance: driver.instance,
    defaultInterval: driver.defaultInterval,
    read: function readWatched(now: number): AttrContainer {
      const reading = driver.read(now);
      const values: Record<string, number> = {};
      for (const [key, attr] of reading.entries()) {
        if (typeof attr.value === "number") values[key] = attr.value;
        else if (typeof attr.value === "bigint") values[key] = Number(attr.value);
        else if (typeof attr.value === "boolean") values[key] = attr.value ? 1 : 0;
      }
      try {
        listener({ name: driver.name, instance: driver.instance, time: now, values, reading });
      } catch {
        // the listener's failure is its own
      }
      return reading;
    },
  };
  if (driver.config) watched.config = (config) => driver.config!(config);
  return watched;
}
