import assert from "node:assert/strict";
import { allowConnections, frameworkExtensions, loadPlugin } from "../core/cli/plugins.ts";
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

Deno.test("plugins: apps and serve get sensor and connection; --allow-connect joins the plugin's list", async () => {
  const connection = (await import("../natives/connection/mod.ts")).default;
  const plugins = await frameworkExtensions({ libc });
  assert.deepEqual(plugins.map((p) => p.name), ["sensor", "connection"]);
  plugins[1] = await loadPlugin("connection,allow=127.0.0.1:1;127.0.0.1:2,max=5", { connection });
  allowConnections(plugins, ["127.0.0.1:3,[::1]:4", "/dev/ttyS0"]);
  assert.deepEqual(plugins[1]!.options, {
    allow: "127.0.0.1:1;127.0.0.1:2,127.0.0.1:3,[::1]:4,/dev/ttyS0",
    max: 5,
  });
  const before = [...plugins];
  allowConnections(plugins, []);
  assert.deepEqual(plugins, before, "no flag, no change");
  assert.throws(
    () => allowConnections(plugins, ["127.0.0.1"]),
    /^Error: Invalid --allow-connect entry "127.0.0.1" is not HOST:PORT/,
  );
  assert.throws(
    () => allowConnections([libc], ["127.0.0.1:3"]),
    /--allow-connect needs the connection plugin/,
  );
});
