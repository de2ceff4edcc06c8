// args, environ, clocks, random, proc_exit/proc_raise, sched_yield and sockets from real wasm.
import assert from "node:assert/strict";
import { Clockid, Errno, type WasiClock, WasiExit } from "../natives/wasi/mod.ts";
import { TrapError } from "../sdk/errors.ts";
import { type WasiHarness, wasiHarness, writeFd } from "./_wasi.ts";

const decoder = new TextDecoder();

function strings(h: WasiHarness, sizes: string, get: string): string[] {
  const count = h.alloc(4);
  const size = h.alloc(4);
  assert.equal(h.call(sizes, count, size), Errno.success);
  const argv = h.alloc(4 * h.u32(count));
  const buf = h.alloc(h.u32(size));
  assert.equal(h.call(get, argv, buf), Errno.success);
  const out: string[] = [];
  for (let i = 0; i < h.u32(count); i++) {
    const at = h.u32(argv + 4 * i);
    let end = at;
    while (h.bytes(end, 1)[0] !== 0) end++;
    out.push(decoder.decode(h.bytes(at, end - at)));
  }
  assert.equal(h.u32(argv + 4 * (h.u32(count) - 1)) - buf <= h.u32(size), true);
  return out;
}

Deno.test("wasi args and environ: sizes, pointers, UTF-8, NUL terminators", async () => {
  const h = await wasiHarness({ args: ["prog", "två ord", ""], env: { A: "1", LANG: "C.UTF-8" } });
  const count = h.alloc(4);
  const size = h.alloc(4);
  h.call("args_sizes_get", count, size);
  assert.equal(h.u32(count), 3);
  assert.equal(h.u32(size), 5 + 9 + 1, "UTF-8 bytes (å is two) plus one NUL each");
  assert.deepEqual(strings(h, "args_sizes_get", "args_get"), ["prog", "två ord", ""]);
  assert.deepEqual(strings(h, "environ_sizes_get", "environ_get"), ["A=1", "LANG=C.UTF-8"]);
  h.free();
});

Deno.test("wasi args and environ: defaults are the app's name and the instance's env", async () => {
  const h = await wasiHarness();
  assert.deepEqual(strings(h, "args_sizes_get", "args_get"), ["shim"]);
  const count = h.alloc(4);
  h.call("environ_sizes_get", count, h.alloc(4));
  assert.equal(h.u32(count), 0, "the host's environment is not passed on");
  h.free();
});

Deno.test("wasi args_get: a buffer past the end of memory traps, nothing written", async () => {
  const h = await wasiHarness({ args: ["a", "b"] });
  const argv = h.alloc(8);
  assert.throws(() => h.call("args_get", argv, 4 * 65536 - 2), TrapError);
  assert.deepEqual(h.bytes(argv, 8), new Uint8Array(8));
  assert.throws(() => h.call("environ_sizes_get", 4 * 65536, 0), TrapError);
  h.free();
});

function manualClock(): WasiClock & { now: bigint; slept: bigint[] } {
  const clock = {
    now: 1_000_000_000n,
    slept: [] as bigint[],
    realtime: () => 1_700_000_000_000_000_000n + clock.now,
    monotonic: () => clock.now,
    cputime: () => clock.now / 2n,
    resolution: 1000n,
    sleep(ns: bigint) {
      clock.slept.push(ns);
      clock.now += ns;
    },
  };
  return clock;
}

Deno.test("wasi clock_time_get and clock_res_get: every clock, unknown ids", async () => {
  const clock = manualClock();
  const h = await wasiHarness({ clock });
  const out = h.alloc(8);
  const time = (id: number) => (h.call("clock_time_get", id, 1n, out), h.u64(out));
  assert.equal(time(Clockid.realtime), 1_700_000_001_000_000_000n);
  assert.equal(time(Clockid.monotonic), 1_000_000_000n);
  assert.equal(time(Clockid.process_cputime_id), 500_000_000n);
  assert.equal(time(Clockid.thread_cputime_id), 500_000_000n);
  assert.equal(h.call("clock_time_get", 4, 0n, out), Errno.inval);
  assert.equal(h.call("clock_res_get", Clockid.monotonic, out), Errno.success);
  assert.equal(h.u64(out), 1000n);
  assert.equal(h.call("clock_res_get", 9, out), Errno.inval);
  h.free();
});

Deno.test("wasi clock_time_get: the real clocks tell the time and move forward", async () => {
  const h = await wasiHarness();
  const out = h.alloc(8);
  h.call("clock_time_get", Clockid.realtime, 0n, out);
  const wall = Number(h.u64(out) / 1_000_000n);
  assert.ok(Math.abs(wall - Date.now()) < 1000);
  h.call("clock_time_get", Clockid.monotonic, 0n, out);
  const a = h.u64(out);
  h.call("clock_time_get", Clockid.monotonic, 0n, out);
  assert.ok(h.u64(out) >= a);
  h.free();
});

Deno.test("wasi random_get: fills large buffers in chunks, exactly the region asked", async () => {
  const h = await wasiHarness();
  const size = 150_000;
  const buf = h.alloc(size + 16);
  assert.equal(h.call("random_get", buf, size), Errno.success);
  const bytes = h.bytes(buf, size);
  const counts = new Array(256).fill(0);
  for (const b of bytes) counts[b]++;
  assert.ok(Math.min(...counts) > 400, "every byte value appears, in all chunks");
  assert.ok(bytes.subarray(size - 1000).some((b) => b !== 0), "the last chunk is filled");
  assert.deepEqual(h.bytes(buf + size, 16), new Uint8Array(16));
  assert.equal(h.call("random_get", buf, 0), Errno.success);
  assert.throws(() => h.call("random_get", 4 * 65536 - 4, 8), TrapError);
  h.free();
});

Deno.test("wasi proc_exit: unwinds with WasiExit carrying the status, output flushed", async () => {
  const h = await wasiHarness();
  writeFd(h, 1, "before exit");
  assert.throws(() => h.call("proc_exit", 42), (e: unknown) => {
    assert.ok(e instanceof WasiExit && e instanceof TrapError);
    assert.equal(e.code, 42);
    assert.equal(e.message, "wasi proc exit");
    return true;
  });
  assert.deepEqual(h.output, ["before exit"]);
  assert.throws(
    () => h.call("proc_exit", -1),
    (e: unknown) => (e as WasiExit).code === 2 ** 32 - 1,
  );
  h.free();
});

Deno.test("wasi proc_raise, sched_yield, sock_*: nosys, success, notsup", async () => {
  const h = await wasiHarness();
  assert.equal(h.call("proc_raise", 6), Errno.nosys);
  assert.equal(h.call("sched_yield"), Errno.success);
  assert.equal(h.call("sock_accept", 1, 0, h.alloc(4)), Errno.notsup);
  assert.equal(h.call("sock_recv", 0, 0, 0, 0, 0, 0), Errno.notsup);
  assert.equal(h.call("sock_send", 1, 0, 0, 0, 0), Errno.notsup);
  assert.equal(h.call("sock_shutdown", 2, 0), Errno.notsup);
  assert.equal(h.call("sock_shutdown", 9, 0), Errno.badf);
  h.free();
});
