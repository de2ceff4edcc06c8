/**
 * A first-in first-out queue that keeps its storage: an app's queue goes from empty to one
 * message and back for every message it gets, and an array would let go of its storage and
 * take a new one each time (an allocation per message); this ring buffer only grows.
 *
 * @module
 */

/**
 * A FIFO over a ring buffer that grows by doubling and never shrinks.
 *
 * @example Messages come out in the order they went in; `unshift` jumps the queue
 * ```ts
 * import assert from "node:assert/strict";
 * import { MessageQueue } from "./message_queue.ts";
 * const queue = new MessageQueue<string>();
 * queue.push("b");
 * queue.push("c");
 * queue.unshift("a");
 * assert.equal(queue.length, 3);
 * assert.deepEqual([queue.shift(), queue.shift(), queue.shift(), queue.shift()], [
 *   "a", "b", "c", undefined,
 * ]);
 * ```
 */
export class MessageQueue<T> {
  #items: (T | undefined)[] = new Array(4).fill(undefined);
  #head = 0;
  #length = 0;

  /** Items waiting. */
  get length(): number {
    return this.#length;
  }

  /**
   * Adds an item at the back.
   *
   * @param item the item
   */
  push(item: T): void {
    if (this.#length === this.#items.length) this.#grow();
    this.#items[(this.#head + this.#length) & (this.#items.length - 1)] = item;
    this.#length++;
  }

  /**
   * Adds an item at the front: it comes out next.
   *
   * @param item the item
   */
  unshift(item: T): void {
    if (this.#length === this.#items.length) this.#grow();
    this.#head = (this.#head - 1) & (this.#items.length - 1);
    this.#items[this.#head] = item;
    this.#length++;
  }

  /**
   * Takes the item at the front.
   *
   * @returns the item, or undefined when the queue is empty
   */
  shift(): T | undefined {
    if (this.#length === 0) return undefined;
    const item = this.#items[this.#head];
    // Let go of it: a queue must not keep delivered messages alive.
    this.#items[this.#head] = undefined;
    this.#head = (this.#head + 1) & (this.#items.length - 1);
    this.#length--;
    return item;
  }

  /**
   * Takes every item, oldest first, leaving the queue empty.
   *
   * @returns the items
   */
  takeAll(): T[] {
    const all: T[] = [];
    while (this.#length > 0) all.push(this.shift() as T);
    return all;
  }

  #grow(): void {
    const items = this.#items;
    const grown: (T | undefined)[] = new Array(items.length * 2).fill(undefined);
    for (let i = 0; i < this.#length; i++) grown[i] = items[(this.#head + i) & (items.length - 1)];
    this.#items = grown;
    this.#head = 0;
  }
}
