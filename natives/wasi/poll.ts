/**
 * `poll_oneoff`: clock subscriptions sleep until the earliest one is due; descriptor
 * subscriptions are answered at once. Deno's synchronous stdio cannot tell whether input is
 * waiting, so stdin, like every file, is reported ready (as Node's uvwasi does); a read may
 * then block.
 *
 * @module
 */

import type { NativeFactory, NativeSymbols } from "../../sdk/native.ts";
import { Errno, Eventtype, Rights, Subclockflags } from "./constants.ts";
import { clockNow } from "./process.ts";
import { errnoOf, type WasiState } from "./state.ts";

const SUBSCRIPTION_SIZE = 48;
const EVENT_SIZE = 32;

interface _Event {
  userdata: bigint;
  error: number;
  type: number;
  nbytes: bigint;
}

/**
 * The `poll_oneoff` native.
 *
 * @param native the library's `native` factory
 * @returns the symbol by name
 */
export function pollSymbols(native: NativeFactory<WasiState>): NativeSymbols<WasiState> {
  return {
    poll_oneoff: native("(iiii)i", function pollOneoff(ctx, input, output, count, nevents) {
      const m = ctx.memory;
      const state = ctx.state;
      const clock = state.settings.clock;
      const n = count >>> 0;
      const inAt = input >>> 0;
      const outAt = output >>> 0;
      m.check(inAt, n * SUBSCRIPTION_SIZE);
      m.check(outAt, n * EVENT_SIZE);
      m.check(nevents >>> 0, 4);
      if (n === 0) return Errno.inval;
      const ready: _Event[] = [];
      const clocks: { event: _Event; wait: bigint }[] = [];
      for (let i = 0; i < n; i++) {
        const at = inAt + i * SUBSCRIPTION_SIZE;
        const userdata = m.i64(at);
        const type = m.u8At(at + 8);
        const event: _Event = { userdata, error: Errno.success, type, nbytes: 0n };
        if (type === Eventtype.clock) {
          const id = m.u32(at + 16);
          const timeout = BigInt.asUintN(64, m.i64(at + 24));
          const flags = m.dv.getUint16(at + 40, true);
          const now = clockNow(clock, id);
          if (now === undefined) {
            ready.push({ ...event, error: Errno.inval });
            continue;
          }
          const wait = flags & Subclockflags.subscription_clock_abstime ? timeout - now : timeout;
          clocks.push({ event, wait });
        } else if (type === Eventtype.fd_read || type === Eventtype.fd_write) {
          ready.push(_fdEvent(state, m.u32(at + 16), event));
        } else {
          ready.push({ ...event, error: Errno.inval });
        }
      }
      // Descriptors are always ready, so only a poll of clocks alone waits.
      let due = clocks.length > 0 ? clocks[0]!.wait : 0n;
      for (const c of clocks) if (c.wait < due) due = c.wait;
      if (ready.length === 0 && due > 0n) clock.sleep(due);
      if (ready.length === 0) {
        for (const c of clocks) if (c.wait <= due) ready.push(c.event);
      } else {
        for (const c of clocks) if (c.wait <= 0n) ready.push(c.event);
      }
      ready.forEach((event, i) => {
        const at = outAt + i * EVENT_SIZE;
        m.u8.fill(0, at, at + EVENT_SIZE);
        m.setI64(at, event.userdata);
        m.dv.setUint16(at + 8, event.error, true);
        m.setU8(at + 10, event.type);
        m.setI64(at + 16, event.nbytes);
      });
      m.setI32(nevents >>> 0, ready.length);
      return Errno.success;
    }, { traceAs: "(**i*)i" }),
  };
}

function _fdEvent(state: WasiState, fd: number, event: _Event): _Event {
  try {
    const entry = state.need(fd, Rights.poll_fd_readwrite);
    const file = entry.file;
    // For a file being read: the bytes left before its end, as POSIX hosts report.
    if (file && event.type === Eventtype.fd_read) {
      const left = file.stat().size - BigInt(file.seek(0, 1));
      return { ...event, nbytes: left > 0n ? left : 0n };
    }
    return event;
  } catch (e) {
    return { ...event, error: errnoOf(e) };
  }
}
