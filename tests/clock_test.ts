import assert from "node:assert/strict";
import { ManualClock, realClock } from "../sdk/clock.ts";

Deno.test("clock: ManualClock fires due timers in time order, ties in set order", () => {
  const clock = new ManualClock();
  const fired: string[] = [];
  clock.setTimer(30, () => fired.push(`c@${clock.now()}`));
  clock.setTimer(10, () => fired.push(`a@${clock.now()}`));
  clock.setTimer(10, () => fired.push(`b@${clock.now()}`));
  assert.equal(clock.advance(25), 2);
  assert.deepEqual(fired, ["a@10", "b@10"]);
  assert.equal(clock.now(), 25);
  clock.advance(5);
  assert.deepEqual(fired, ["a@10", "b@10", "c@30"]);
});

Deno.test("clock: ManualClock fires timers that callbacks set within the same advance", () => {
  const clock = new ManualClock(100);
  const fired: number[] = [];
  const tick = () => {
    fired.push(clock.now());
    if (fired.length < 4) clock.setTimer(50, tick);
  };
  clock.setTimer(50, tick);
  clock.advance(1000);
  assert.deepEqual(fired, [150, 200, 250, 300]);
  assert.equal(clock.pending, 0);
});

Deno.test("clock: ManualClock advance(0) runs what is due now, including 0 ms timers set by it", () => {
  const clock = new ManualClock();
  const fired: string[] = [];
  clock.setTimer(0, () => {
    fired.push("first");
    clock.setTimer(0, () => fired.push("second"));
  });
  assert.equal(clock.advance(0), 2);
  assert.deepEqual(fired, ["first", "second"]);
});

Deno.test("clock: ManualClock clearTimer cancels, and unknown handles are ignored", () => {
  const clock = new ManualClock();
  let fired = false;
  const handle = clock.setTimer(5, () => fired = true);
  clock.clearTimer(handle);
  clock.clearTimer(12345);
  clock.advance(10);
  assert.equal(fired, false);
});

Deno.test("clock: ManualClock refuses to go backwards", () => {
  assert.throws(() => new ManualClock().advance(-1), RangeError);
  assert.throws(() => new ManualClock().advance(Number.NaN), RangeError);
});

Deno.test("clock: realClock reads monotonic milliseconds and clears timers", () => {
  const a = realClock.now();
  const b = realClock.now();
  assert.ok(b >= a);
  const handle = realClock.setTimer(10_000, () => assert.fail("cleared timer fired"));
  realClock.clearTimer(handle);
});
