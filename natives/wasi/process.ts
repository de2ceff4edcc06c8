/**
 * Command line, environment, clocks, randomness and process control of
 * `wasi_snapshot_preview1`, plus the socket functions, which answer `notsup`.
 *
 * @module
 */

import type { AppMemory } from "../../sdk/memory.ts";
import type { NativeFactory, NativeSymbols } from "../../sdk/native.ts";
import type { WasiClock } from "./clock.ts";
import { Clockid, Errno } from "./constants.ts";
import { WasiExit } from "./exit.ts";
import type { WasiState } from "./state.ts";

/** `getRandomValues` fills at most this many bytes per call. */
const RANDOM_CHUNK = 65536;

/**
 * The current time of a WASI clock.
 *
 * @param clock the clocks
 * @param id a `clockid`
 * @returns nanoseconds, or undefined for an unknown clock
 */
export function clockNow(clock: WasiClock, id: number): bigint | undefined {
  switch (id) {
    case Clockid.realtime:
      return clock.realtime();
    case Clockid.monotonic:
      return clock.monotonic();
    case Clockid.process_cputime_id:
    case Clockid.thread_cputime_id:
      return clock.cputime();
    default:
      return undefined;
  }
}

/** Writes `argv`-style pointers and NUL-terminated strings; both regions checked first. */
function _writeStrings(
  memory: AppMemory,
  strings: readonly Uint8Array[],
  pointers: number,
  buffer: number,
): void {
  pointers >>>= 0;
  buffer >>>= 0;
  const total = strings.reduce((n, s) => n + s.length, 0);
  memory.check(pointers, strings.length * 4);
  const u8 = memory.check(buffer, total);
  let at = buffer;
  strings.forEach((s, i) => {
    memory.setI32(pointers + 4 * i, at);
    u8.set(s, at);
    at += s.length;
  });
}

function _writeSizes(
  memory: AppMemory,
  strings: readonly Uint8Array[],
  count: number,
  size: number,
) {
  memory.check(count >>> 0, 4);
  memory.check(size >>> 0, 4);
  memory.setI32(count >>> 0, strings.length);
  memory.setI32(size >>> 0, strings.reduce((n, s) => n + s.length, 0));
}

/**
 * Args, environ, clocks, random, proc and sock natives.
 *
 * @param native the library's `native` factory
 * @returns the symbols by name
 */
export function processSymbols(native: NativeFactory<WasiState>): NativeSymbols<WasiState> {
  return {
    args_get: native("(ii)i", function argsGet(ctx, argv, buf) {
      _writeStrings(ctx.memory, ctx.state.args, argv, buf);
      return Errno.success;
    }, { traceAs: "(**)i" }),

    args_sizes_get: native("(ii)i", function argsSizesGet(ctx, count, size) {
      _writeSizes(ctx.memory, ctx.state.args, count, size);
      return Errno.success;
    }, { traceAs: "(**)i" }),

    environ_get: native("(ii)i", function environGet(ctx, environ, buf) {
      _writeStrings(ctx.memory, ctx.state.env, environ, buf);
      return Errno.success;
    }, { traceAs: "(**)i" }),

    environ_sizes_get: native("(ii)i", function environSizesGet(ctx, count, size) {
      _writeSizes(ctx.memory, ctx.state.env, count, size);
      return Errno.success;
    }, { traceAs: "(**)i" }),

    clock_res_get: native("(ii)i", function clockResGet(ctx, id, out) {
      const clock = ctx.state.settings.clock;
      if (clockNow(clock, id) === undefined) return Errno.inval;
      ctx.memory.check(out >>> 0, 8);
      ctx.memory.setI64(out >>> 0, clock.resolution);
      return Errno.success;
    }, { traceAs: "(i*)i" }),

    clock_time_get: native("(iIi)i", function clockTimeGet(ctx, id, _precision, out) {
      ctx.memory.check(out >>> 0, 8);
      const now = clockNow(ctx.state.settings.clock, id);
      if (now === undefined) return Errno.inval;
      ctx.memory.setI64(out >>> 0, now);
      return Errno.success;
    }, { traceAs: "(iI*)i" }),

    random_get: native("(*~)i", function randomGet(_ctx, buf) {
      // getRandomValues refuses views of shared memory in some engines: fill a copy then.
      const shared = !(buf.buffer instanceof ArrayBuffer);
      for (let at = 0; at < buf.length; at += RANDOM_CHUNK) {
        const part = buf.subarray(at, Math.min(buf.length, at + RANDOM_CHUNK));
        if (shared) part.set(crypto.getRandomValues(new Uint8Array(part.length)));
        else crypto.getRandomValues(part);
      }
      return Errno.success;
    }),

    proc_exit: native("(i)", function procExit(ctx, code) {
      ctx.app.stdout.flush();
      throw new WasiExit(code);
    }),

    proc_raise: native("(i)i", function procRaise() {
      return Errno.nosys;
    }),

    sched_yield: native("()i", function schedYield() {
      return Errno.success;
    }),

    // No sockets: an open descriptor is never one, and nothing can create one.
    sock_accept: native("(iii)i", (ctx, fd) => _noSocket(ctx.state, fd), {
      traceAs: "(ii*)i",
    }),
    sock_recv: native("(iiiiii)i", (ctx, fd) => _noSocket(ctx.state, fd), {
      traceAs: "(i*ii**)i",
    }),
    sock_send: native("(iiiii)i", (ctx, fd) => _noSocket(ctx.state, fd), {
      traceAs: "(i*ii*)i",
    }),
    sock_shutdown: native("(ii)i", (ctx, fd) => _noSocket(ctx.state, fd)),
  };
}

function _noSocket(state: WasiState, fd: number): number {
  return state.fds.get(fd) === undefined ? Errno.badf : Errno.notsup;
}
