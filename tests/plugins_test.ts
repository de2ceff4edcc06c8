import assert from "node:assert/strict";
import { loadPlugin } from "../core/cli/plugins.ts";
import { defineConfigurableLibrary } from "../sdk/native.ts";
import libc from "../natives/libc/mod.ts";

const screen = defineConfigurableLibrary(
  { width: 320, height: 240, title: "lcd", on: true },
  (o) => ({
    name: "screen",
    symbols: (native) => ({
      screen_width: native("()i", () => o.width),
      screen_on: native("()i", () => o.on ? 1 : 0),
    }),
  }),
);

Deno.test("plugins: loadPlugin configures a built-in from 'name,key=value,...'", async () => {
  const viaCli = await loadPlugin("screen,width=640,title=big", { screen });
  assert.deepEqual(viaCli.options, { width: 640, height: 240, title: "big", on: true });
  await assert.rejects(
    () => loadPlugin("screen,depth=3", { screen }),
    /^Error: Cannot load plugin "screen": Plugin "screen": unknown option "depth" \(options: width, height, title, on\)$/,
  );
  await assert.rejects(
    () => loadPlugin("screen,width=wide", { screen }),
    /option "width" must be a number, got "wide"/,
  );
  await assert.rejects(
    () => loadPlugin("screen,width", { screen }),
    /option "width" is not key=value/,
  );
  await assert.rejects(
    () => loadPlugin("libc,x=1", { libc }),
    /Cannot load plugin "libc": it takes no options/,
  );
});
