/**
 * Buffered app output: natives write text here instead of one write per character.
 * Flushed on newline when the sink is a terminal, when the buffer fills, at exit, and
 * before any trap message so output and the exception line keep their order.
 *
 * @module
 */

import { encodeUtf8 } from "./memory.ts";
import { platform } from "./platform.ts";

/** Where flushed bytes go. */
export type OutputSink = (bytes: Uint8Array) => void;

const CAPACITY = 8192;

/** A byte buffer in front of an output sink. */
export class AppOutput {
  readonly #sink: OutputSink;
  readonly #lineBuffered: boolean;
  /** Allocated at the first write: most instances never print, and 8 KiB each cost GC time. */
  #buf: Uint8Array | undefined;
  #len = 0;

  /**
   * Creates an empty buffer in front of a sink.
   *
   * @param sink receives flushed bytes
   * @param lineBuffered flush at every newline (set when the sink is a terminal)
   */
  constructor(sink: OutputSink, lineBuffered = false) {
    this.#sink = sink;
    this.#lineBuffered = lineBuffered;
  }

  /**
   * Appends bytes (copied).
   *
   * @param bytes what to write
   */
  write(bytes: Uint8Array): void {
    if (bytes.length > CAPACITY - this.#len) {
      this.flush();
      if (bytes.length >= CAPACITY) {
        this.#sink(bytes.slice());
        return;
      }
    }
    (this.#buf ??= new Uint8Array(CAPACITY)).set(bytes, this.#len);
    this.#len += bytes.length;
    if (this.#lineBuffered && bytes.includes(10)) this.flush();
  }

  /**
   * Appends a string as UTF-8.
   *
   * @param text what to write
   */
  writeString(text: string): void {
    this.write(encodeUtf8(text));
  }

  /** Sends everything buffered to the sink. */
  flush(): void {
    if (this.#len === 0) return;
    const out = this.#buf!.slice(0, this.#len);
    this.#len = 0;
    this.#sink(out);
  }
}

/**
 * A sink writing synchronously to a Deno resource such as `Deno.stdout`.
 *
 * @param stream an object with `writeSync`
 * @returns the sink
 */
export function writerSink(stream: { writeSync(p: Uint8Array): number }): OutputSink {
  return function writeAll(bytes: Uint8Array): void {
    let off = 0;
    while (off < bytes.length) off += stream.writeSync(bytes.subarray(off));
  };
}

/**
 * Writes text to standard error, whole and at once: where commands' usage errors and runtime
 * warnings go unless the embedder passes its own writer.
 *
 * @param text what to write, newline included
 */
export function writeStderr(text: string): void {
  platform().stderr.write(encodeUtf8(text));
}

/** A sink that gathers writes and passes them on together; see {@linkcode coalescingSink}. */
export interface CoalescingSink {
  /** Takes bytes (copied); they reach the inner sink once the running code is done. */
  (bytes: Uint8Array): void;
  /** Passes on everything gathered now (call before exiting). */
  flush(): void;
}

/**
 * Gathers writes and passes them to `sink` once the code running now is done (in a
 * microtask), or as soon as 64 KiB pile up, or at {@linkcode CoalescingSink.flush}. A server
 * whose apps print a line per request then makes one write per batch of callbacks instead of
 * one per line; order is kept. A microtask, not a timer: a server that flushes before each
 * callback (so a callback that never returns leaves a complete log) would otherwise set and
 * clear a timer per line, which cost a fifth of its round trips.
 *
 * @param sink the inner sink
 * @returns the gathering sink, with `flush`
 *
 * @example Two writes reach the sink as one
 * ```ts
 * import assert from "node:assert/strict";
 * import { coalescingSink } from "./output.ts";
 * const seen: number[] = [];
 * const out = coalescingSink((b) => seen.push(b.length));
 * out(new Uint8Array(3));
 * out(new Uint8Array(4));
 * assert.deepEqual(seen, []); // gathered while this code runs
 * await Promise.resolve();
 * assert.deepEqual(seen, [7]); // then passed on as one write
 * out(new Uint8Array(2));
 * out.flush(); // or at once
 * assert.deepEqual(seen, [7, 2]);
 * ```
 */
export function coalescingSink(sink: OutputSink): CoalescingSink {
  const limit = 64 * 1024;
  let chunks: Uint8Array[] = [];
  let size = 0;
  let queued = false;
  const flush = (): void => {
    if (size === 0) return;
    let out: Uint8Array;
    if (chunks.length === 1) out = chunks[0]!;
    else {
      out = new Uint8Array(size);
      let at = 0;
      for (const chunk of chunks) {
        out.set(chunk, at);
        at += chunk.length;
      }
    }
    chunks = [];
    size = 0;
    sink(out);
  };
  const later = (): void => {
    queued = false;
    flush();
  };
  const write = (bytes: Uint8Array): void => {
    chunks.push(bytes.slice());
    size += bytes.length;
    if (size >= limit) flush();
    else if (!queued) {
      queued = true;
      queueMicrotask(later);
    }
  };
  return Object.assign(write, { flush });
}
