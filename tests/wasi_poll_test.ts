// poll_oneoff from real wasm with an injected clock: relative and absolute clock
// subscriptions, descriptors answered at once, errors per subscription.
import assert from "node:assert/strict";
import { Clockid, Errno, Eventtype, type WasiClock } from "../natives/wasi/mod.ts";
import { TrapError } from "../sdk/errors.ts";
import { openPath, tempDir, type WasiHarness, wasiHarness } from "./_wasi.ts";

type Sub =
  | { userdata: bigint; clock: number; timeout: bigint; abstime?: boolean }
  | { userdata: bigint; fd: number; type: 1 | 2 };

function manualClock(): WasiClock & { now: bigint; slept: bigint[] } {
  const clock = {
    now: 5_000_000_000n,
    slept: [] as bigint[],
    realtime: () => clock.now,
    monotonic: () => clock.now,
    cputime: () => clock.now,
    resolution: 1n,
    sleep(ns: bigint) {
      clock.slept.push(ns);
      clock.now += ns;
    },
  };
  return clock;
}

function poll(h: WasiHarness, subs: Sub[]) {
  const input = h.alloc(48 * subs.length);
  const m = h.app.memory;
  subs.forEach((s, i) => {
    const at = input + 48 * i;
    m.setI64(at, s.userdata);
    if ("clock" in s) {
      m.setU8(at + 8, Eventtype.clock);
      m.setI32(at + 16, s.clock);
      m.setI64(at + 24, s.timeout);
      m.dv.setUint16(at + 40, s.abstime ? 1 : 0, true);
    } else {
      m.setU8(at + 8, s.type);
      m.setI32(at + 16, s.fd);
    }
  });
  const output = h.alloc(32 * Math.max(1, subs.length));
  const count = h.alloc(4);
  const errno = h.call("poll_oneoff", input, output, subs.length, count);
  const events = [];
  for (let i = 0; i < h.u32(count); i++) {
    const at = output + 32 * i;
    events.push({
      userdata: h.u64(at),
      error: h.bytes(at + 8, 1)[0],
      type: h.bytes(at + 10, 1)[0],
      nbytes: h.u64(at + 16),
    });
  }
  return { errno, events };
}

Deno.test("wasi poll_oneoff: a relative clock sleeps its timeout and reports its userdata", async () => {
  const clock = manualClock();
  const h = await wasiHarness({ clock });
  const r = poll(h, [{ userdata: 7n, clock: Clockid.monotonic, timeout: 20_000_000n }]);
  assert.equal(r.errno, Errno.success);
  assert.deepEqual(clock.slept, [20_000_000n]);
  assert.deepEqual(r.events, [{ userdata: 7n, error: 0, type: Eventtype.clock, nbytes: 0n }]);
  h.free();
});

Deno.test("wasi poll_oneoff: the earliest clock wins; absolute times in the past do not wait", async () => {
  const clock = manualClock();
  const h = await wasiHarness({ clock });
  const r = poll(h, [
    { userdata: 1n, clock: Clockid.monotonic, timeout: 50_000_000n },
    { userdata: 2n, clock: Clockid.realtime, timeout: clock.now + 10_000_000n, abstime: true },
  ]);
  assert.deepEqual(clock.slept, [10_000_000n]);
  assert.deepEqual(r.events.map((e) => e.userdata), [2n]);
  const past = poll(h, [{ userdata: 3n, clock: Clockid.monotonic, timeout: 1n, abstime: true }]);
  assert.deepEqual(clock.slept, [10_000_000n], "no second sleep");
  assert.deepEqual(past.events.map((e) => e.userdata), [3n]);
  h.free();
});

Deno.test("wasi poll_oneoff: descriptors are ready at once, the clock is not waited for", async () => {
  using t = tempDir();
  Deno.writeTextFileSync(`${t.dir}/f`, "0123456789");
  const clock = manualClock();
  const h = await wasiHarness({ clock, preopens: [{ guest: "/", host: t.dir }] });
  const f = openPath(h, "f");
  const seekOut = h.alloc(8);
  h.call("fd_seek", f.fd, 4n, 0, seekOut);
  const r = poll(h, [
    { userdata: 1n, clock: Clockid.monotonic, timeout: 200_000_000n },
    { userdata: 2n, fd: 0, type: Eventtype.fd_read },
    { userdata: 3n, fd: 1, type: Eventtype.fd_write },
    { userdata: 4n, fd: f.fd, type: Eventtype.fd_read },
    { userdata: 5n, fd: 77, type: Eventtype.fd_write },
  ]);
  assert.equal(r.errno, Errno.success);
  assert.deepEqual(clock.slept, []);
  assert.deepEqual(r.events, [
    { userdata: 2n, error: 0, type: Eventtype.fd_read, nbytes: 0n },
    { userdata: 3n, error: 0, type: Eventtype.fd_write, nbytes: 0n },
    { userdata: 4n, error: 0, type: Eventtype.fd_read, nbytes: 6n },
    { userdata: 5n, error: Errno.badf, type: Eventtype.fd_write, nbytes: 0n },
  ]);
  h.free();
});

Deno.test("wasi poll_oneoff: bad clocks, bad types, no subscriptions, bad pointers", async () => {
  const clock = manualClock();
  const h = await wasiHarness({ clock });
  const r = poll(h, [{ userdata: 9n, clock: 17, timeout: 1n }]);
  assert.deepEqual(r.events, [{ userdata: 9n, error: Errno.inval, type: 0, nbytes: 0n }]);
  assert.equal(poll(h, []).errno, Errno.inval);
  assert.throws(() => h.call("poll_oneoff", 4 * 65536 - 40, 1024, 1, 2048), TrapError);
  assert.throws(() => h.call("poll_oneoff", 1024, 4 * 65536 - 16, 1, 2048), TrapError);
  assert.deepEqual(clock.slept, []);
  h.free();
});

Deno.test("wasi poll_oneoff: the real clock sleeps about as long as asked", async () => {
  const h = await wasiHarness();
  const start = performance.now();
  const r = poll(h, [{ userdata: 1n, clock: Clockid.monotonic, timeout: 15_000_000n }]);
  const took = performance.now() - start;
  assert.equal(r.events.length, 1);
  assert.ok(took >= 14.5 && took < 1000, `slept ${took} ms`);
  h.free();
});
