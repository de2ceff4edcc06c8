import assert from "node:assert/strict";
import { MessageQueue } from "../core/framework/message_queue.ts";

Deno.test("message queue: first in, first out across growth and wrap-around", () => {
  const queue = new MessageQueue<number>();
  const expected: number[] = [];
  let next = 0;
  // Interleaved pushes and shifts move the head around the ring while it grows.
  for (let round = 0; round < 50; round++) {
    for (let i = 0; i < (round % 7) + 1; i++) {
      queue.push(next);
      expected.push(next++);
    }
    for (let i = 0; i < round % 5; i++) assert.equal(queue.shift(), expected.shift());
    assert.equal(queue.length, expected.length);
  }
  assert.deepEqual(queue.takeAll(), expected);
  assert.equal(queue.length, 0);
  assert.equal(queue.shift(), undefined);
});

Deno.test("message queue: unshift puts an item first, also when the ring is full", () => {
  const queue = new MessageQueue<string>();
  for (const item of ["b", "c", "d", "e"]) queue.push(item);
  queue.unshift("a");
  queue.shift();
  queue.unshift("a");
  assert.deepEqual(queue.takeAll(), ["a", "b", "c", "d", "e"]);
});

Deno.test("message queue: takeAll empties it and it can be used again", () => {
  const queue = new MessageQueue<number>();
  queue.push(1);
  queue.push(2);
  assert.deepEqual(queue.takeAll(), [1, 2]);
  assert.deepEqual(queue.takeAll(), []);
  queue.push(3);
  assert.equal(queue.length, 1);
  assert.equal(queue.shift(), 3);
});
