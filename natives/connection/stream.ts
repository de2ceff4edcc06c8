/**
 * A channel over a byte stream (a TCP connection, a serial device): opened in the background
 * so `wasm_open_connection` returns at once, read in {@linkcode CHUNK_SIZE} pieces while the
 * app has room, written in order.
 *
 * @module
 */

import { type Channel, type ChannelEvents, CHUNK_SIZE, MAX_UNSENT } from "./channel.ts";

/** A stream as Deno's connections and files are. */
export interface ByteStream {
  read(buffer: Uint8Array): Promise<number | null>;
  write(bytes: Uint8Array): Promise<number>;
  close(): void;
}

/**
 * Opens a channel over a stream. Sends made before the stream is open wait for it; when it
 * cannot be opened, `events.ended` says why.
 *
 * @param open opens the stream
 * @param events where data and the end go
 * @returns the channel
 */
export function openStreamChannel(
  open: () => Promise<ByteStream>,
  events: ChannelEvents,
): Channel {
  let stream: ByteStream | undefined;
  let closed = false;
  let unsent = 0;
  // A permission error may be thrown rather than rejected: either way it ends the channel.
  const opened = Promise.resolve().then(open).then((s) => {
    if (closed) {
      _quietly(() => s.close());
      return undefined;
    }
    stream = s;
    return s;
  });
  // The read loop reports a failed open; writes only wait for it.
  let writing: Promise<unknown> = opened.catch(() => undefined);

  function end(reason: string | undefined): void {
    if (closed) return;
    closed = true;
    if (stream) _quietly(() => stream!.close());
    events.ended(reason);
  }

  (async function pump() {
    let s: ByteStream | undefined;
    try {
      s = await opened;
    } catch (e) {
      end(`opening failed: ${_reason(e)}`);
      return;
    }
    if (!s) return;
    const buffer = new Uint8Array(CHUNK_SIZE);
    try {
      while (!closed) {
        await events.room();
        if (closed) return;
        const n = await s.read(buffer);
        if (closed) return;
        if (n === null) break;
        events.data(buffer.slice(0, n));
      }
      end(undefined);
    } catch (e) {
      end(closed ? undefined : `reading failed: ${_reason(e)}`);
    }
  })();

  return {
    send(bytes: Uint8Array): number {
      if (closed || unsent + bytes.length > MAX_UNSENT) return -1;
      const copy = bytes.slice();
      unsent += copy.length;
      writing = writing.then(async function writeAll() {
        try {
          for (let at = 0; at < copy.length && stream && !closed;) {
            at += await stream.write(copy.subarray(at));
          }
        } catch (e) {
          end(closed ? undefined : `writing failed: ${_reason(e)}`);
        } finally {
          unsent -= copy.length;
        }
      });
      return copy.length;
    },
    close(): void {
      if (closed) return;
      closed = true;
      if (stream) _quietly(() => stream!.close());
    },
  };
}

function _reason(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function _quietly(action: () => void): void {
  try {
    action();
  } catch {
    // Already closed.
  }
}
