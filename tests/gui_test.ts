import assert from "node:assert/strict";
import wabtInit from "wabt";
import { Runtime } from "../core/instance/runtime.ts";
import type { AppInstance } from "../core/instance/instance.ts";
import {
  createDisplayLibrary,
  type DisplayLibrary,
  encodePng,
  type Framebuffer,
  getFramebuffer,
  loadInputScript,
  type PointerAction,
} from "../natives/display/mod.ts";

const GUI = new URL("../examples/gui/gui.wasm", import.meta.url);
const CLICKS = new URL("../examples/gui/clicks.json", import.meta.url);
const EXPECTED = new URL("../examples/gui/expected.sha256", import.meta.url);

// The layout and colors of examples/gui/gui.c.
const SECONDS = { x: 24, y: 24, scale: 4, chars: 8, color: 0xfff4d03f };
const CLICK_COUNT = { x: 24, y: 184, scale: 3, chars: 12, color: 0xffecf0f1 };
const BUTTON_FACE = { x: 100, y: 100 };
const FACE_UP = 0xff2e86c1;
const FACE_DOWN = 0xff1a5276;

// An independent copy of the app's 5x7 glyphs (bit 4 = left column), to read the screen.
const GLYPHS: Record<string, number[]> = {
  "0": [0x0e, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0e],
  "1": [0x04, 0x0c, 0x04, 0x04, 0x04, 0x04, 0x0e],
  "2": [0x0e, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1f],
  "3": [0x1f, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0e],
  "4": [0x02, 0x06, 0x0a, 0x12, 0x1f, 0x02, 0x02],
  "5": [0x1f, 0x10, 0x1e, 0x01, 0x01, 0x11, 0x0e],
  "6": [0x06, 0x08, 0x10, 0x1e, 0x11, 0x11, 0x0e],
  "7": [0x1f, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08],
  "8": [0x0e, 0x11, 0x11, 0x0e, 0x11, 0x11, 0x0e],
  "9": [0x0e, 0x11, 0x11, 0x0f, 0x01, 0x02, 0x0c],
  "C": [0x0e, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0e],
  "E": [0x1f, 0x10, 0x10, 0x1e, 0x10, 0x10, 0x1f],
  "I": [0x0e, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0e],
  "K": [0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11],
  "L": [0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1f],
  "S": [0x0f, 0x10, 0x10, 0x0e, 0x01, 0x01, 0x1e],
  " ": [0, 0, 0, 0, 0, 0, 0],
};

/** Reads a label off the screen: every scaled glyph pixel must be solid fg or solid bg. */
function readLabel(fb: Framebuffer, label: typeof SECONDS): string {
  let text = "";
  for (let c = 0; c < label.chars; c++) {
    const rows: number[] = [];
    for (let gy = 0; gy < 7; gy++) {
      let bits = 0;
      for (let gx = 0; gx < 6; gx++) {
        const x0 = label.x + (c * 6 + gx) * label.scale;
        const y0 = label.y + gy * label.scale;
        const first = fb.pixel(x0, y0) === label.color;
        for (let s = 0; s < label.scale * label.scale; s++) {
          const lit = fb.pixel(x0 + (s % label.scale), y0 + Math.floor(s / label.scale)) ===
            label.color;
          assert.equal(lit, first, `cell ${c} pixel (${gx}, ${gy}) is not solid`);
        }
        if (gx === 5) assert.equal(first, false, `cell ${c} spacing column is lit`);
        else if (first) bits |= 0x10 >> gx;
      }
      rows.push(bits);
    }
    const found = Object.entries(GLYPHS).find(([, g]) => g.every((r, i) => r === rows[i]));
    text += found ? found[0] : "?";
  }
  return text.trimEnd();
}

interface Run {
  app: AppInstance;
  display: DisplayLibrary;
  fb: Framebuffer;
  /** Ticks every 10 ms up to and including `until`. */
  runUntil(until: number): void;
}

async function startGui(input: readonly PointerAction[]): Promise<Run> {
  let now = 0;
  const display = createDisplayLibrary({ clock: () => now, input, terminal: false });
  const runtime = new Runtime({ plugins: [display], stdout: () => {}, warn: () => {} });
  const app = await runtime.instantiate(await runtime.load(GUI));
  app.call("gui_init");
  const fb = getFramebuffer(app, display)!;
  return {
    app,
    display,
    fb,
    runUntil(until: number): void {
      for (; now <= until; now += 10) app.call("gui_tick", now);
    },
  };
}

async function sha256(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
}

async function expectedHashes(): Promise<Map<string, string>> {
  const text = await Deno.readTextFile(EXPECTED);
  return new Map(
    text.trim().split("\n").map((line) => {
      const [hash, name] = line.split(/\s+/);
      return [name!, hash!];
    }),
  );
}

Deno.test("gui: the first frame shows zeroes and a raised button", async () => {
  const { app, fb } = await startGui([]);
  assert.equal(readLabel(fb, SECONDS), "SEC 0");
  assert.equal(readLabel(fb, CLICK_COUNT), "CLICKS 0");
  assert.equal(fb.pixel(BUTTON_FACE.x, BUTTON_FACE.y), FACE_UP);
  assert.ok(fb.pixels.every((p) => p !== 0x44444444), "the whole screen is painted");
  app.free();
});

Deno.test("gui: scripted clicks count only presses released inside the button", async () => {
  const run = await startGui(await loadInputScript(CLICKS));
  const { fb } = run;
  run.runUntil(550);
  assert.equal(fb.pixel(BUTTON_FACE.x, BUTTON_FACE.y), FACE_DOWN, "pressed at 500");
  run.runUntil(700);
  assert.equal(readLabel(fb, CLICK_COUNT), "CLICKS 1");
  assert.equal(fb.pixel(BUTTON_FACE.x, BUTTON_FACE.y), FACE_UP);
  run.runUntil(999);
  assert.equal(readLabel(fb, SECONDS), "SEC 0");
  run.runUntil(1200); // pressed inside, released outside: no click
  assert.equal(readLabel(fb, SECONDS), "SEC 1");
  assert.equal(readLabel(fb, CLICK_COUNT), "CLICKS 1");
  run.runUntil(1500); // a click on the button's top-left corner
  assert.equal(readLabel(fb, CLICK_COUNT), "CLICKS 2");
  run.runUntil(1810); // press and release both between two ticks: read in one drain
  assert.equal(readLabel(fb, CLICK_COUNT), "CLICKS 3");
  run.runUntil(2500); // held down at the end
  assert.equal(readLabel(fb, SECONDS), "SEC 2");
  assert.equal(readLabel(fb, CLICK_COUNT), "CLICKS 3");
  assert.equal(fb.pixel(BUTTON_FACE.x, BUTTON_FACE.y), FACE_DOWN);
  run.app.free();
});

Deno.test("gui: the PNG after 3 clicks over 2.5 s matches the committed hash", async () => {
  const expected = await expectedHashes();
  const hashes: string[] = [];
  for (let i = 0; i < 2; i++) {
    const run = await startGui(await loadInputScript(CLICKS));
    run.runUntil(2500);
    const png = await encodePng(run.fb);
    const pixels = run.fb.bytes;
    hashes.push(await sha256(png));
    assert.equal(await sha256(pixels), expected.get("gui-2500ms.argb"), "pixels");
    assert.equal(hashes[i], expected.get("gui-2500ms.png"), "PNG");
    run.app.free();
  }
  assert.equal(hashes[0], hashes[1]);
});

Deno.test("gui: every frame is the same on every run", async () => {
  const script = await loadInputScript(CLICKS);
  const frames = async () => {
    const run = await startGui(script);
    const out: string[] = [];
    for (let t = 0; t <= 2500; t += 250) {
      run.runUntil(t);
      out.push(await sha256(run.fb.bytes));
    }
    run.app.free();
    return out;
  };
  const first = await frames();
  assert.deepEqual(await frames(), first);
  assert.ok(new Set(first).size >= 4, "the frames change over time");
});

Deno.test("gui: the app calls display natives through its table (call_indirect)", async () => {
  const wabt = await wabtInit();
  const module = wabt.readWasm(await Deno.readFile(GUI), { readDebugNames: false });
  let text: string;
  try {
    module.generateNames();
    module.applyNames();
    text = module.toText({});
  } finally {
    module.destroy();
  }
  const elem = text.split("\n").find((line) => line.trimStart().startsWith("(elem"));
  assert.ok(elem, "the app has an element segment");
  for (const name of ["display_fill", "display_map", "display_vdb_write", "display_input_read"]) {
    assert.match(elem, new RegExp(`\\$env\\.${name}\\b`), `${name} is in the table`);
  }
  assert.match(text, /call_indirect/);
});

Deno.test("gui: the CLI runs the app with the display plugin by path, options after commas", async () => {
  const dir = await Deno.makeTempDir();
  const cli = (plugin: string) =>
    new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-read", "mod.ts", "--trace", "--plugin", plugin, "-f", "gui_tick"]
        .concat(["examples/gui/gui.wasm", "700"]),
      cwd: new URL("..", import.meta.url),
      env: { NO_COLOR: "1" },
    }).output();
  try {
    // The CLI's clock is real time, so the script's actions are due at once.
    const script = `${dir}/now.json`;
    await Deno.writeTextFile(
      script,
      JSON.stringify([
        { at: 0, x: 160, y: 120, pressed: true },
        { at: 0, x: 160, y: 120, pressed: false },
      ]),
    );
    const ok = await cli(`./natives/display/mod.ts,terminal=false,input=${script}`);
    const trace = new TextDecoder().decode(ok.stderr) + new TextDecoder().decode(ok.stdout);
    assert.equal(ok.code, 0, trace);
    assert.match(trace, /display\.display_init\(\)/);
    assert.match(trace, /display\.display_input_read\(0x[0-9a-f]+\) -> 1/, "two actions due");
    assert.match(trace, /display\.display_input_read\(0x[0-9a-f]+\) -> 0/);
    const bad = await cli("./natives/display/mod.ts,depth=16");
    assert.notEqual(bad.code, 0);
    assert.match(new TextDecoder().decode(bad.stderr), /unknown option "depth"/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
