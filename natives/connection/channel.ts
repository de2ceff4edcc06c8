/**
 * What a connection driver gives the library: a channel that sends, optionally takes a
 * destination, and closes; and what it reports back: data, the end of the channel, and a wait
 * for room in the app's queue before it reads more.
 *
 * @module
 */

/**
 * Bytes read from a stream per data event: WAMR's connection manager reads 256 bytes at a
 * time, so apps written for it expect events of at most this size.
 */
export const CHUNK_SIZE = 256;

/** Bytes a channel may hold unsent; a send beyond it fails as a full buffer does in WAMR. */
export const MAX_UNSENT = 64 * 1024;

/** What a driver reports to the library. */
export interface ChannelEvents {
  /**
   * Bytes arrived.
   *
   * @param bytes a fresh copy the library may keep
   */
  data(bytes: Uint8Array): void;
  /**
   * The channel ended on its own: the peer closed it, or connecting or reading failed. Not
   * called after {@linkcode Channel.close}.
   *
   * @param reason why, for the log; undefined when the peer simply closed it
   */
  ended(reason: string | undefined): void;
  /**
   * Waits until the app can take more events, so a fast peer is read no faster than the
   * app runs (the stream stays in the kernel's buffers meanwhile).
   *
   * @returns resolves when there is room
   */
  room(): Promise<void>;
}

/** One open connection, as a driver runs it. */
export interface Channel {
  /**
   * Queues bytes to send; never blocks.
   *
   * @param bytes the app's bytes (copied)
   * @returns the number of bytes accepted, or -1 when the channel is closed or its unsent
   *   bytes would pass {@linkcode MAX_UNSENT}
   */
  send(bytes: Uint8Array): number;
  /**
   * Sets where sends go (UDP).
   *
   * @param host the peer's address
   * @param port the peer's port
   */
  destine?(host: string, port: number): void;
  /** Closes it; no event follows. */
  close(): void;
}
