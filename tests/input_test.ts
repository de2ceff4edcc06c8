import assert from "node:assert/strict";
import { parseInputScript, PointerInput } from "../natives/display/input.ts";

Deno.test("input: PointerInput delivers in time order and a late push next", () => {
  const input = new PointerInput([
    { at: 30, x: 3, y: 3, pressed: false },
    { at: 10, x: 1, y: 1, pressed: true },
  ]);
  assert.deepEqual(input.read(100), { x: 1, y: 1, pressed: true, more: true });
  input.push({ at: 5, x: 9, y: 9, pressed: true });
  assert.equal(input.pending, 2);
  assert.deepEqual(input.read(100), { x: 9, y: 9, pressed: true, more: true });
  assert.deepEqual(input.read(100), { x: 3, y: 3, pressed: false, more: false });
  assert.deepEqual(input.read(200), { x: 3, y: 3, pressed: false, more: false });
  assert.throws(() => input.push({ at: 1, x: 1, y: 1 } as never), /boolean "pressed"/);
});

Deno.test("input: parseInputScript checks the shape of every entry", () => {
  assert.deepEqual(parseInputScript(`[{"at":1,"x":2,"y":3,"pressed":false,"note":"x"}]`), [
    { at: 1, x: 2, y: 3, pressed: false },
  ]);
  assert.throws(() => parseInputScript(`{}`, "a.json"), /"a.json" is not a JSON array/);
  assert.throws(
    () => parseInputScript(`[{"at":1,"x":2,"y":3,"pressed":true},{"at":"2"}]`),
    /entry 1 needs a number "at"/,
  );
  assert.throws(() => parseInputScript(`[`), SyntaxError);
});
