/**
 * Runs the GUI example the way the littlevgl sample's 10 ms timer does: `gui_tick` every 10 ms
 * of app time, pointer actions from a script, the screen live in the terminal (when stdout is
 * one) and optionally saved as a PNG at the end.
 *
 * ```sh
 * deno run --allow-read --allow-write examples/gui/run.ts \
 *   [--input examples/gui/clicks.json] [--until 2500] [--png gui.png] [--fast]
 * ```
 *
 * App time advances 10 ms per tick; without `--fast` each tick also waits 10 ms of real time,
 * so the view animates. The frames depend only on the script, never on the machine's speed.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { Runtime } from "../../mod.ts";
import {
  createDisplayLibrary,
  encodePng,
  getFramebuffer,
  loadInputScript,
} from "../../natives/display/mod.ts";

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      input: { type: "string", default: new URL("./clicks.json", import.meta.url).pathname },
      until: { type: "string", default: "2500" },
      png: { type: "string" },
      fast: { type: "boolean", default: false },
    },
  });
  let now = 0;
  const display = createDisplayLibrary({
    clock: () => now,
    input: await loadInputScript(values.input),
  });
  const runtime = new Runtime({ plugins: [display] });
  const app = await runtime.instantiate(await runtime.load(new URL("./gui.wasm", import.meta.url)));
  app.call("gui_init");
  for (const until = Number(values.until); now <= until; now += 10) {
    app.call("gui_tick", now);
    if (!values.fast) await new Promise((resolve) => setTimeout(resolve, 10));
  }
  if (values.png !== undefined) {
    await Deno.writeFile(values.png, await encodePng(getFramebuffer(app, display)!));
  }
  app.free();
}
