/**
 * Collapses repeated log lines: a line is printed the first few times within a window (10 by
 * default, so a handful of installs or overruns in a row still read as they happened), the
 * same line beyond that is only counted, and the count is printed once as
 * `<ellipsis> repeated N times: <line>` when the window ends. An app that keeps making the runtime say the same thing (a full queue
 * refusing its own requests, thousands of times a second) costs a line and a count a second
 * instead of a log that grows by hundreds of megabytes a minute.
 *
 * @module
 */

import type { Clock, TimerHandle } from "../../sdk/clock.ts";

/** How long in ms a printed line keeps its repeats quiet (and counts them) unless told. */
export const DEFAULT_REPEAT_WINDOW_MS = 1000;
/** Times a line is printed within its window, unless told, before its repeats are counted. */
export const DEFAULT_REPEAT_BURST = 10;
/** Distinct recent lines remembered unless told; the oldest is let go first. */
export const DEFAULT_REPEAT_LINES = 64;

/** Options for a {@linkcode LogCollapser}. */
export interface LogCollapserOptions<L> {
  /** Time, and the timer that ends a window. */
  clock: Clock;
  /**
   * Prints a line with the level it came with: a new line (`repeats` 0), or the summary of a
   * line's repeats (`<ellipsis> repeated N times: <line>`, `repeats` N).
   */
  print: (level: L, line: string, repeats: number) => void;
  /** Window in ms (default 1000). */
  windowMs?: number;
  /** Times a line is printed within its window before repeats are counted (default 10). */
  burst?: number;
  /** Distinct lines remembered (default 64). */
  maxLines?: number;
}

interface _Seen<L> {
  level: L;
  /** When the window of this line began. */
  at: number;
  /** Times it was printed in this window. */
  printed: number;
  /** Repeats counted and not yet printed. */
  repeats: number;
}

/**
 * Prints lines, collapsing repeats within a window into one summary line.
 *
 * @example Past its burst, a line is counted, then the count printed
 * ```ts
 * import assert from "node:assert/strict";
 * import { LogCollapser } from "./log_collapse.ts";
 * import { ManualClock } from "../../sdk/clock.ts";
 * const clock = new ManualClock();
 * const printed: string[] = [];
 * const log = new LogCollapser({ clock, burst: 1, print: (_level, line) => printed.push(line) });
 * for (let i = 0; i < 3; i++) log.line("info", "queue is full");
 * log.line("info", "something else");
 * clock.advance(1000);
 * assert.deepEqual(printed, [
 *   "queue is full",
 *   "something else",
 *   "\u2026 repeated 2 times: queue is full", // an ellipsis (source kept ASCII)
 * ]);
 * log.close();
 * ```
 */
export class LogCollapser<L = string> {
  readonly #clock: Clock;
  readonly #print: (level: L, line: string, repeats: number) => void;
  readonly #windowMs: number;
  readonly #maxLines: number;
  readonly #burst: number;
  /** Recent lines, oldest first. */
  readonly #seen = new Map<string, _Seen<L>>();
  #timer: TimerHandle;
  #pending = false;

  /**
   * Creates a collapser with no lines seen.
   *
   * @param options the clock, where lines go, the window and how many lines it remembers
   */
  constructor(options: LogCollapserOptions<L>) {
    this.#clock = options.clock;
    this.#print = options.print;
    this.#windowMs = options.windowMs ?? DEFAULT_REPEAT_WINDOW_MS;
    this.#maxLines = Math.max(1, options.maxLines ?? DEFAULT_REPEAT_LINES);
    this.#burst = Math.max(1, options.burst ?? DEFAULT_REPEAT_BURST);
  }

  /**
   * Prints a line, or counts it when the same line was printed `burst` times within the
   * window.
   *
   * @param level the line's level, passed on to `print`
   * @param line the line
   * @returns true when it was printed, false when it was counted as a repeat
   */
  line(level: L, line: string): boolean {
    const now = this.#clock.now();
    let seen = this.#seen.get(line);
    if (seen && now - seen.at < this.#windowMs) {
      if (seen.printed >= this.#burst) {
        seen.repeats++;
        this.#arm();
        return false;
      }
      seen.printed++;
    } else {
      if (seen) {
        this.#summarize(line, seen);
        this.#seen.delete(line);
      } else if (this.#seen.size >= this.#maxLines) {
        const [oldest, entry] = this.#seen.entries().next().value!;
        this.#summarize(oldest, entry);
        this.#seen.delete(oldest);
      }
      seen = { level, at: now, printed: 1, repeats: 0 };
      this.#seen.set(line, seen);
    }
    this.#print(level, line, 0);
    return true;
  }

  /**
   * Prints the count of every line repeated since its last count; their windows start again,
   * still collapsing (a line that keeps coming back gets one count per window).
   */
  flush(): void {
    const now = this.#clock.now();
    for (const [line, seen] of this.#seen) {
      if (seen.repeats === 0) continue;
      this.#summarize(line, seen);
      seen.at = now;
    }
  }

  /** Prints the counts still pending and stops the window's timer. */
  close(): void {
    if (this.#pending) this.#clock.clearTimer(this.#timer);
    this.#pending = false;
    this.flush();
    this.#seen.clear();
  }

  #summarize(line: string, seen: _Seen<L>): void {
    if (seen.repeats === 0) return;
    const n = seen.repeats;
    seen.repeats = 0;
    this.#print(seen.level, `\u2026 repeated ${n} ${n === 1 ? "time" : "times"}: ${line}`, n);
  }

  /** Counts get printed when the window ends, even if nothing else is logged by then. */
  #arm(): void {
    if (this.#pending) return;
    this.#pending = true;
    this.#timer = this.#clock.setTimer(this.#windowMs, () => {
      this.#pending = false;
      this.flush();
    });
  }
}
