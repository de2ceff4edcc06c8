/**
 * The host link's framing (WAMR's `host_link.h`): every message in both directions is
 * `0x12 0x34`, a big-endian u16 message type, a big-endian u32 payload size, then the
 * payload. {@linkcode FrameParser} reads such a byte stream incrementally, resynchronising
 * on garbage and refusing payloads above a limit without buffering them.
 *
 * @module
 */

/** The two leading bytes of every frame. */
export const FRAME_LEADING = [0x12, 0x34] as const;
/** Size of a frame header: leading bytes, type, payload size. */
export const FRAME_HEADER_SIZE = 8;
/** Default payload limit: 1 MiB, WAMR's seed runtime and host_tool limit. */
export const DEFAULT_MAX_PAYLOAD = 1024 * 1024;
/**
 * How many payload bytes of an oversize frame are kept: a request's fixed part, enough to
 * read its mid and answer it.
 */
export const OVERSIZE_HEAD_SIZE = 18;

/**
 * Host-link message types.
 *
 * @example Frame types the runtime handles
 * ```ts
 * import assert from "node:assert/strict";
 * import { HostMessageType } from "./host_link.ts";
 * assert.equal(HostMessageType.REQUEST, 2);
 * assert.equal(HostMessageType.INSTALL, 4);
 * ```
 */
export const HostMessageType = {
  COAP_TCP_RAW: 0,
  COAP_UDP_RAW: 1,
  /** Host -> runtime requests; runtime -> host events. */
  REQUEST: 2,
  /** Runtime -> host responses. */
  RESPONSE: 3,
  /** Host -> runtime app install (WAMR's `INSTALL_WASM_APP`); the payload is a request packet. */
  INSTALL: 4,
  CBOR_GENERIC: 30,
  /**
   * Authentication, both ways (micro-runtime's, see `sdk/host_auth.ts`): sent only when the
   * runtime has a token. Past WAMR's `LINK_MSG_TYPE_MAX` (50), so WAMR's runtime logs and
   * drops it and WAMR's host_tool skips it.
   */
  AUTH: 256,
} as const;

/**
 * Encodes one frame: header and payload in a single buffer, so one write sends it whole.
 *
 * @param type the message type (u16), see {@linkcode HostMessageType}
 * @param payload the payload bytes
 * @returns the frame bytes
 * @throws {RangeError} when the type or the payload size does not fit its field
 *
 * @example Frame an empty request
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeFrame } from "./host_link.ts";
 * const frame = encodeFrame(2, new Uint8Array(0));
 * assert.deepEqual([...frame], [0x12, 0x34, 0, 2, 0, 0, 0, 0]); // leading bytes, type, length
 * ```
 */
export function encodeFrame(type: number, payload: Uint8Array): Uint8Array {
  if (!Number.isInteger(type) || type < 0 || type > 0xffff) {
    throw new RangeError(`Frame type ${String(type)} is out of range (0..65535)`);
  }
  if (payload.length > 0xffffffff) {
    throw new RangeError(`Frame payload of ${payload.length} bytes exceeds the u32 size field`);
  }
  const out = new Uint8Array(FRAME_HEADER_SIZE + payload.length);
  out[0] = FRAME_LEADING[0];
  out[1] = FRAME_LEADING[1];
  const view = new DataView(out.buffer);
  view.setUint16(2, type);
  view.setUint32(4, payload.length);
  out.set(payload, FRAME_HEADER_SIZE);
  return out;
}

/** A complete frame. */
export interface Frame {
  /** Discriminant: a complete frame. */
  kind: "frame";
  /** Message type. */
  type: number;
  /** The payload (its own buffer; empty for a zero-length frame). */
  payload: Uint8Array;
}

/**
 * A frame whose announced payload exceeds the limit. Reported once its first bytes have
 * arrived; the rest of its payload is skipped as it streams in, never buffered.
 */
export interface OversizeFrame {
  /** Discriminant: an oversize frame. */
  kind: "oversize";
  /** Message type. */
  type: number;
  /** The announced payload size. */
  length: number;
  /** The first {@linkcode OVERSIZE_HEAD_SIZE} payload bytes (fewer if the payload is shorter). */
  head: Uint8Array;
}

/** What {@linkcode FrameParser.push} reports. */
export type FrameEvent = Frame | OversizeFrame;

/** Options for {@linkcode FrameParser}. */
export interface FrameParserOptions {
  /** Largest payload accepted, in bytes. Default {@linkcode DEFAULT_MAX_PAYLOAD} (1 MiB). */
  maxPayload?: number;
}

const enum _State {
  Lead1,
  Lead2,
  Header,
  Payload,
  OversizeHead,
  Skip,
}

/**
 * A streaming frame parser. Feed it bytes as they arrive, in chunks of any size; it returns
 * the frames each chunk completes. Bytes before `0x12 0x34` are skipped (counted in
 * {@linkcode FrameParser.skippedBytes}), like WAMR's byte-by-byte receiver. A frame announcing
 * more than `maxPayload` bytes is reported as `oversize` and its payload is discarded, so the
 * stream stays in sync and memory stays bounded by the limit.
 *
 * @example Parse two frames split across chunks, with garbage before them
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeFrame, FrameParser } from "./host_link.ts";
 * const bytes = new Uint8Array([
 *   0xff, 0x12,
 *   ...encodeFrame(2, new Uint8Array([1, 2, 3])),
 *   ...encodeFrame(3, new Uint8Array(0)),
 * ]);
 * const parser = new FrameParser();
 * const events = [...parser.push(bytes.subarray(0, 7)), ...parser.push(bytes.subarray(7))];
 * assert.deepEqual(events, [
 *   { kind: "frame", type: 2, payload: new Uint8Array([1, 2, 3]) },
 *   { kind: "frame", type: 3, payload: new Uint8Array(0) },
 * ]);
 * assert.equal(parser.skippedBytes, 2); // 0xff, and the 0x12 not followed by 0x34
 * ```
 */
export class FrameParser {
  /** The payload limit in bytes. */
  readonly maxPayload: number;
  /** Bytes skipped while looking for `0x12 0x34`. */
  skippedBytes = 0;
  #state = _State.Lead1;
  #header = new Uint8Array(6);
  #headerFill = 0;
  #type = 0;
  #length = 0;
  #payload = new Uint8Array(0);
  #fill = 0;

  /**
   * Creates a parser waiting for the first frame.
   *
   * @param options the payload limit
   */
  constructor(options: FrameParserOptions = {}) {
    const max = options.maxPayload ?? DEFAULT_MAX_PAYLOAD;
    if (!Number.isInteger(max) || max < 0) {
      throw new RangeError(`Payload limit ${String(max)} is not a byte count`);
    }
    this.maxPayload = max;
  }

  /** Whether the parser is in the middle of a frame (a header or payload is incomplete). */
  get midFrame(): boolean {
    return this.#state !== _State.Lead1;
  }

  /**
   * Consumes a chunk of the stream.
   *
   * @param bytes the next bytes; they are copied, the caller may reuse the buffer
   * @returns the frames (and oversize reports) completed by this chunk, in order
   */
  push(bytes: Uint8Array): FrameEvent[] {
    const events: FrameEvent[] = [];
    let i = 0;
    const n = bytes.length;
    while (i < n) {
      switch (this.#state) {
        case _State.Lead1: {
          const at = bytes.indexOf(FRAME_LEADING[0], i);
          if (at < 0) {
            this.skippedBytes += n - i;
            i = n;
          } else {
            this.skippedBytes += at - i;
            i = at + 1;
            this.#state = _State.Lead2;
          }
          break;
        }
        case _State.Lead2: {
          const b = bytes[i++]!;
          if (b === FRAME_LEADING[1]) {
            this.#state = _State.Header;
            this.#headerFill = 0;
          } else if (b !== FRAME_LEADING[0]) {
            this.skippedBytes += 2;
            this.#state = _State.Lead1;
          } else {
            // 0x12 0x12: the first is garbage, the second may start a frame.
            this.skippedBytes += 1;
          }
          break;
        }
        case _State.Header: {
          const take = Math.min(6 - this.#headerFill, n - i);
          this.#header.set(bytes.subarray(i, i + take), this.#headerFill);
          this.#headerFill += take;
          i += take;
          if (this.#headerFill === 6) this.#startPayload(events);
          break;
        }
        case _State.Payload: {
          const take = Math.min(this.#length - this.#fill, n - i);
          this.#payload.set(bytes.subarray(i, i + take), this.#fill);
          this.#fill += take;
          i += take;
          if (this.#fill === this.#length) {
            events.push({ kind: "frame", type: this.#type, payload: this.#payload });
            this.#reset();
          }
          break;
        }
        case _State.OversizeHead: {
          const take = Math.min(this.#payload.length - this.#fill, n - i);
          this.#payload.set(bytes.subarray(i, i + take), this.#fill);
          this.#fill += take;
          i += take;
          if (this.#fill === this.#payload.length) {
            events.push({
              kind: "oversize",
              type: this.#type,
              length: this.#length,
              head: this.#payload,
            });
            this.#state = _State.Skip;
          }
          break;
        }
        case _State.Skip: {
          const take = Math.min(this.#length - this.#fill, n - i);
          this.#fill += take;
          i += take;
          if (this.#fill === this.#length) this.#reset();
          break;
        }
      }
    }
    return events;
  }

  #startPayload(events: FrameEvent[]): void {
    const view = new DataView(this.#header.buffer);
    this.#type = view.getUint16(0);
    this.#length = view.getUint32(2);
    this.#fill = 0;
    if (this.#length > this.maxPayload) {
      this.#payload = new Uint8Array(Math.min(OVERSIZE_HEAD_SIZE, this.#length));
      this.#state = _State.OversizeHead;
    } else if (this.#length === 0) {
      events.push({ kind: "frame", type: this.#type, payload: new Uint8Array(0) });
      this.#reset();
    } else {
      this.#payload = new Uint8Array(this.#length);
      this.#state = _State.Payload;
    }
  }

  #reset(): void {
    this.#state = _State.Lead1;
    this.#payload = new Uint8Array(0);
    this.#fill = 0;
  }
}

/** A byte stream pair a host link runs over: a child's stdio, a `TransformStream` pair. */
export interface StreamTransport {
  /** Bytes from the peer. */
  readable: ReadableStream<Uint8Array>;
  /** Bytes to the peer. */
  writable: WritableStream<Uint8Array>;
  /** Closes both directions; called once when the link ends. */
  close?(): void;
}

/**
 * A reader/writer a host link runs over directly, such as a `Deno.Conn` or `Deno.FsFile`
 * (a serial device): cheaper than streams on the hot path.
 */
export interface ConnTransport {
  /** Reads into `p`; resolves with the count, or null at the end. */
  read(p: Uint8Array): Promise<number | null>;
  /** Writes some of `p`; resolves with the count written. */
  write(p: Uint8Array): Promise<number>;
  /** Closes the connection. */
  close(): void;
  /** Ends the sending direction only (TCP's FIN), when the transport can. */
  closeWrite?(): Promise<void>;
}

/** What a host link runs over. */
export type HostTransport = StreamTransport | ConnTransport;

/**
 * Read buffer sizes: small at first, so a server's idle links hold little (4 KiB each), and
 * doubled whenever a read fills the buffer, so an app install streams in large reads.
 */
const _READ_SIZE_FIRST = 4 * 1024;
const _READ_SIZE_MAX = 64 * 1024;

/**
 * One link's I/O over either kind of transport: reads chunks, and writes frames in order,
 * coalescing the frames queued while a write is in flight into one write.
 *
 * @example Over a stream pair
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeFrame, LinkIo } from "./host_link.ts";
 * const pipe = new TransformStream<Uint8Array, Uint8Array>();
 * const io = new LinkIo({ readable: pipe.readable, writable: pipe.writable });
 * io.send(encodeFrame(2, new Uint8Array(0)));
 * const chunk = await io.read(); // what was sent comes back through the pipe
 * assert.deepEqual(chunk, encodeFrame(2, new Uint8Array(0)));
 * io.close();
 * ```
 */
export class LinkIo {
  readonly #transport: HostTransport;
  readonly #reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array> | undefined;
  #buf: Uint8Array | undefined;
  #pending: Uint8Array[] = [];
  #queued = 0;
  #flushing = false;
  #closed = false;
  #ending = false;
  #onError: (error: unknown) => void = () => {};

  /**
   * Takes over a transport: locks its streams, or reads it directly.
   *
   * @param transport the connection or stream pair
   */
  constructor(transport: HostTransport) {
    this.#transport = transport;
    // A Deno.Conn or FsFile has both; its own read/write skip the streams' per-chunk work.
    if ("read" in transport && typeof transport.read === "function") {
      this.#buf = new Uint8Array(_READ_SIZE_FIRST);
    } else {
      const streams = transport as StreamTransport;
      this.#reader = streams.readable.getReader();
      this.#writer = streams.writable.getWriter();
    }
  }

  /** Bytes handed to {@linkcode LinkIo.send} and not yet written. */
  get queuedBytes(): number {
    return this.#queued;
  }

  /**
   * Sets what happens when a write fails (the link is then closed).
   *
   * @param handler receives the error
   */
  set onWriteError(handler: (error: unknown) => void) {
    this.#onError = handler;
  }

  /**
   * Reads the next chunk. The bytes are valid until the next call.
   *
   * @returns the chunk, or null at the end of the stream
   */
  async read(): Promise<Uint8Array | null> {
    if (this.#reader) {
      const { value, done } = await this.#reader.read();
      return done ? null : value;
    }
    const buf = this.#buf!;
    const n = await (this.#transport as ConnTransport).read(buf);
    if (n === null) return null;
    // A new buffer, not this one: the bytes returned stay valid until the next call.
    if (n === buf.length && n < _READ_SIZE_MAX) this.#buf = new Uint8Array(n * 2);
    return buf.subarray(0, n);
  }

  /**
   * Queues bytes for writing, after everything queued before.
   *
   * @param bytes the bytes (not copied: do not change them afterwards)
   */
  send(bytes: Uint8Array): void {
    if (this.#closed || this.#ending) return;
    this.#pending.push(bytes);
    this.#queued += bytes.length;
    if (!this.#flushing) void this.#flush();
  }

  async #flush(): Promise<void> {
    this.#flushing = true;
    try {
      while (this.#pending.length > 0 && !this.#closed) {
        const batch = this.#pending;
        this.#pending = [];
        let bytes: Uint8Array;
        if (batch.length === 1) bytes = batch[0]!;
        else {
          bytes = new Uint8Array(batch.reduce((n, b) => n + b.length, 0));
          let at = 0;
          for (const b of batch) {
            bytes.set(b, at);
            at += b.length;
          }
        }
        if (this.#writer) await this.#writer.write(bytes);
        else {
          const conn = this.#transport as ConnTransport;
          let off = 0;
          while (off < bytes.length) off += await conn.write(bytes.subarray(off));
        }
        this.#queued -= bytes.length;
      }
    } catch (error) {
      if (!this.#closed) this.#onError(error);
    } finally {
      this.#flushing = false;
    }
    if (this.#ending && !this.#closed) this.#endWrite();
  }

  /**
   * Sends what is queued, then ends the sending direction (TCP's FIN; the writable closes)
   * while reading goes on. A peer's unread bytes at close make TCP reset the connection,
   * which can throw away the last frame sent; ending first and closing once the peer has
   * closed (or later) lets that frame arrive. Later {@linkcode LinkIo.send} calls are ignored.
   */
  end(): void {
    if (this.#closed || this.#ending) return;
    this.#ending = true;
    if (!this.#flushing) this.#endWrite();
  }

  #endWrite(): void {
    if (this.#writer) {
      this.#writer.close().catch(() => {});
      return;
    }
    const conn = this.#transport as ConnTransport;
    conn.closeWrite?.().catch(() => {});
  }

  /** Closes the link: the transport's `close`, or cancelling and closing the streams. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#pending = [];
    if (this.#transport.close) {
      try {
        this.#transport.close();
      } catch {
        // Closed by the peer already.
      }
    } else {
      // Streams without a close (stdio): end the read and let the last writes finish.
      this.#reader?.cancel().catch(() => {});
      this.#writer?.close().catch(() => {});
    }
  }
}
