/**
 * Sensor drivers: where readings come from. A vendor implements `SensorDriver` for real
 * hardware; these ship for tests, demos and replays.
 *
 * @module
 */

import { AttrContainer } from "../../sdk/mod.ts";

/** A sensor the sensor plugin can open. */
export interface SensorDriver {
  /** Name apps open it by (`sensor_open("sensor_test", 0, ...)`). */
  readonly name: string;
  /** Instance number (several sensors may share a name). */
  readonly instance: number;
  /** Read interval in ms until a client configures one. */
  readonly defaultInterval: number;
  /**
   * Takes one reading.
   *
   * @param now the framework clock's time in ms
   * @returns the reading as an attr_container
   */
  read(now: number): AttrContainer;
  /**
   * Receives configuration (WAMR sends a container tagged "config sensor" with int keys
   * interval, bit_cfg and delay, or the app's own container).
   *
   * @returns whether the driver accepted it
   */
  config?(config: AttrContainer): boolean;
}

/**
 * WAMR's sample test sensor: every reading is a container tagged "read test sensor data"
 * holding `name` = "read test sensor".
 *
 * @param name sensor name (WAMR's simple sample: "sensor_test"; the AF sample registers
 *   "sensor_test1" and "sensor_test2")
 * @param instance instance number
 * @returns the driver
 */
export function testSensor(name = "sensor_test", instance = 0): SensorDriver {
  const configs: AttrContainer[] = [];
  return {
    name,
    instance,
    defaultInterval: 1000,
    read(): AttrContainer {
      return new AttrContainer("read test sensor data").setString("name", "read test sensor");
    },
    config(config: AttrContainer): boolean {
      configs.push(config);
      return true;
    },
  };
}

/**
 * A periodic synthetic signal: `value` = offset + amplitude·sin(2π·t/period), as a double,
 * plus `time` (ms, int).
 *
 * @param options name, instance, period (ms), amplitude, offset, default interval
 * @returns the driver
 */
export function sineSensor(
  options: {
    name?: string;
    instance?: number;
    period?: number;
    amplitude?: number;
    offset?: number;
    interval?: number;
  } = {},
): SensorDriver {
  const { period = 10_000, amplitude = 5, offset = 20 } = options;
  return {
    name: options.name ?? "sine",
    instance: options.instance ?? 0,
    defaultInterval: options.interval ?? 1000,
    read(now: number): AttrContainer {
      const value = offset + amplitude * Math.sin((2 * Math.PI * now) / period);
      return new AttrContainer("sine").setDouble("value", value).setInt("time", Math.trunc(now));
    },
  };
}

/**
 * Replays a CSV file: the header names the keys, each reading is the next row (numbers as
 * doubles, other cells as strings), wrapping around at the end.
 *
 * @param name sensor name
 * @param csv the CSV text (comma-separated, first line is the header)
 * @param options instance and default interval
 * @returns the driver
 * @throws {TypeError} when the CSV has no header or no rows, or a row has the wrong width
 */
export function csvSensor(
  name: string,
  csv: string,
  options: { instance?: number; interval?: number } = {},
): SensorDriver {
  const lines = csv.split(/\r?\n/).filter((l) => l.trim() !== "");
  const header = lines[0]?.split(",").map((h) => h.trim());
  if (!header || header.some((h) => h === "")) {
    throw new TypeError(`CSV sensor "${name}": the first line must name every column`);
  }
  const rows = lines.slice(1).map((line, i) => {
    const cells = line.split(",").map((c) => c.trim());
    if (cells.length !== header.length) {
      throw new TypeError(
        `CSV sensor "${name}": line ${i + 2} has ${cells.length} cells, expected ${header.length}`,
      );
    }
    return cells;
  });
  if (rows.length === 0) throw new TypeError(`CSV sensor "${name}": no rows`);
  let next = 0;
  return {
    name,
    instance: options.instance ?? 0,
    defaultInterval: options.interval ?? 1000,
    read(): AttrContainer {
      const row = rows[next]!;
      next = (next + 1) % rows.length;
      const reading = new AttrContainer(name);
      header.forEach((key, i) => {
        const cell = row[i]!;
        const n = Number(cell);
        if (cell !== "" && Number.isFinite(n)) reading.setDouble(key, n);
        else reading.setString(key, cell);
      });
      return reading;
    },
  };
}
