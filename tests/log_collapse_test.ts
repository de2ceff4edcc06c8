import assert from "node:assert/strict";
import { DEFAULT_REPEAT_BURST, LogCollapser } from "../core/framework/log_collapse.ts";
import { ManualClock } from "../sdk/clock.ts";

function setup(options: { burst?: number; maxLines?: number } = {}) {
  const clock = new ManualClock();
  const printed: string[] = [];
  const log = new LogCollapser<string>({
    clock,
    print: (level, line, repeats) => printed.push(`${level}:${repeats}:${line}`),
    ...options,
  });
  return { clock, printed, log };
}

Deno.test("log collapse: a line prints its burst, then is counted until the window ends", () => {
  const { clock, printed, log } = setup();
  const results = Array.from({ length: 25 }, () => log.line("error", "full"));
  assert.equal(results.filter((r) => r).length, DEFAULT_REPEAT_BURST);
  assert.deepEqual(printed, Array(10).fill("error:0:full"));
  clock.advance(999);
  assert.equal(printed.length, 10, "not before the window ends");
  clock.advance(1);
  assert.equal(printed.at(-1), "error:15:… repeated 15 times: full");
  // A new window that keeps collapsing: one count per window.
  for (let i = 0; i < 5; i++) log.line("error", "full");
  clock.advance(1000);
  assert.deepEqual(printed.slice(11), ["error:5:… repeated 5 times: full"]);
  log.close();
});

Deno.test("log collapse: alternating lines are counted each on its own", () => {
  const { clock, printed, log } = setup({ burst: 1 });
  for (let i = 0; i < 4; i++) {
    log.line("error", "a");
    log.line("info", "b");
  }
  clock.advance(1000);
  assert.deepEqual(printed, [
    "error:0:a",
    "info:0:b",
    "error:3:… repeated 3 times: a",
    "info:3:… repeated 3 times: b",
  ]);
  log.close();
});

Deno.test("log collapse: a line seen again after its window prints again", () => {
  const { clock, printed, log } = setup({ burst: 1 });
  log.line("info", "x");
  clock.advance(5000);
  assert.equal(log.line("info", "x"), true, "a new window");
  assert.equal(log.line("info", "x"), false);
  clock.advance(1000);
  assert.deepEqual(printed, ["info:0:x", "info:0:x", "info:1:… repeated 1 time: x"]);
  log.close();
});

Deno.test("log collapse: past its memory the oldest line is let go with its count", () => {
  const { printed, log } = setup({ burst: 1, maxLines: 2 });
  log.line("info", "a");
  log.line("info", "a");
  log.line("info", "b");
  log.line("info", "c"); // lets "a" go
  assert.equal(log.line("info", "a"), true, "printed again: forgotten");
  assert.deepEqual(printed, [
    "info:0:a",
    "info:0:b",
    "info:1:… repeated 1 time: a",
    "info:0:c",
    "info:0:a",
  ]);
  log.close();
});

Deno.test("log collapse: close prints what is counted and stops the window's timer", () => {
  const { clock, printed, log } = setup({ burst: 1 });
  log.line("info", "a");
  log.line("info", "a");
  assert.equal(clock.pending, 1);
  log.close();
  assert.equal(clock.pending, 0);
  assert.deepEqual(printed, ["info:0:a", "info:1:… repeated 1 time: a"]);
});
