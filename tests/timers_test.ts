import assert from "node:assert/strict";
import { ManualClock } from "../sdk/clock.ts";
import { AppTimers, MAX_TIMERS_PER_APP, TIMER_ID_INVALID } from "../core/framework/timers.ts";

function setup(limit?: number) {
  const clock = new ManualClock();
  const fired: string[] = [];
  const timers = new AppTimers(clock, (id) => fired.push(`${id}@${clock.now()}`), limit);
  return { clock, fired, timers };
}

Deno.test("timers: ids count up from 1 per app", () => {
  const a = setup();
  const b = setup();
  assert.deepEqual([a.timers.create(10, false, false), a.timers.create(10, false, false)], [1, 2]);
  assert.equal(b.timers.create(10, false, false), 1);
});

Deno.test("timers: a one-shot timer fires once and becomes idle", () => {
  const { clock, fired, timers } = setup();
  const id = timers.create(100, false, true);
  clock.advance(1000);
  assert.deepEqual(fired, ["1@100"]);
  assert.equal(timers.get(id)?.active, false);
  assert.equal(timers.size, 1);
});

Deno.test("timers: a periodic timer is re-armed after each expiry", () => {
  const { clock, fired, timers } = setup();
  timers.create(1000, true, true);
  clock.advance(3500);
  assert.deepEqual(fired, ["1@1000", "1@2000", "1@3000"]);
  assert.equal(timers.get(1)?.expiry, 4000);
});

Deno.test("timers: auto_start false stays idle until restart", () => {
  const { clock, fired, timers } = setup();
  const id = timers.create(500, true, false);
  clock.advance(2000);
  assert.deepEqual(fired, []);
  assert.equal(timers.restart(id, 1000), true);
  clock.advance(2000);
  assert.deepEqual(fired, ["1@3000", "1@4000"]);
});

Deno.test("timers: cancel makes a timer idle and reports whether it was active", () => {
  const { clock, fired, timers } = setup();
  const id = timers.create(100, true, true);
  clock.advance(150);
  assert.equal(timers.cancel(id), true);
  assert.equal(timers.cancel(id), false);
  clock.advance(1000);
  assert.deepEqual(fired, ["1@100"]);
  assert.equal(timers.cancel(99), false);
});

Deno.test("timers: restart applies a new interval only when it is > 0", () => {
  const { clock, fired, timers } = setup();
  const id = timers.create(100, false, true);
  clock.advance(50);
  timers.restart(id, 0);
  clock.advance(120);
  assert.deepEqual(fired, ["1@150"]);
  timers.restart(id, -5);
  assert.equal(timers.get(id)?.interval, 100);
  timers.restart(id, 40);
  clock.advance(40);
  assert.deepEqual(fired, ["1@150", "1@210"]);
  assert.equal(timers.restart(42, 10), false);
});

Deno.test("timers: destroy frees the slot and stops the timer", () => {
  const { clock, fired, timers } = setup(1);
  const id = timers.create(100, true, true);
  assert.equal(timers.create(100, true, true), TIMER_ID_INVALID);
  assert.equal(timers.destroy(id), true);
  assert.equal(timers.destroy(id), false);
  clock.advance(500);
  assert.deepEqual(fired, []);
  assert.equal(timers.create(100, false, false), 2);
});

Deno.test("timers: the per-app limit returns 0xFFFFFFFF (default 20, at most 30)", () => {
  const { timers } = setup();
  const ids = Array.from({ length: 20 }, () => timers.create(10, false, false));
  assert.deepEqual(ids, Array.from({ length: 20 }, (_, i) => i + 1));
  assert.equal(timers.create(10, false, false), 0xffffffff);
  assert.equal(setup(100).timers.limit, MAX_TIMERS_PER_APP);
});

Deno.test("timers: destroyAll clears every timer from the clock", () => {
  const { clock, fired, timers } = setup();
  timers.create(10, true, true);
  timers.create(20, false, true);
  timers.destroyAll();
  assert.equal(clock.pending, 0);
  assert.equal(timers.size, 0);
  clock.advance(100);
  assert.deepEqual(fired, []);
});

Deno.test("timers: a periodic 0 ms timer fires once per millisecond, not forever", () => {
  const { clock, fired, timers } = setup();
  timers.create(0, true, true);
  clock.advance(3);
  assert.deepEqual(fired, ["1@1", "1@2", "1@3"]);
});
