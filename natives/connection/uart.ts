/**
 * The UART driver: `wasm_open_connection("UART", {device, baudrate})` opens the device the
 * way `serve --serial` does, as a file read and written with Deno. Deno cannot set a line's
 * speed, so `baudrate` is not applied: set the device up first (`stty -F /dev/ttyUSB0 115200
 * raw`).
 *
 * @module
 */

import type { Channel, ChannelEvents } from "./channel.ts";
import { openStreamChannel } from "./stream.ts";

/**
 * Opens a serial device (or any file or FIFO) for reading and writing, in the background.
 *
 * @param device the device path
 * @param events where data and the end go; the end of the file ends the channel
 * @returns the channel
 */
export function openUart(device: string, events: ChannelEvents): Channel {
  return openStreamChannel(() => Deno.open(device, { read: true, write: true }), events);
}
