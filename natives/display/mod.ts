/**
 * The display natives of WAMR's littlevgl sample (`display_init`, `display_flush`,
 * `display_fill`, `display_map`, `display_vdb_write`, `display_input_read`, `time_get_ms`)
 * on a per-app ARGB8888 frame buffer, with every region the app names checked in full:
 * a source or target that does not lie wholly inside the app's memory traps with
 * `out of bounds memory access` before a pixel is drawn. C declarations: `sdk/c/include/display.h`.
 *
 * Outputs: the frame buffer through {@linkcode getFramebuffer}, PNG snapshots through
 * {@linkcode encodePng}, a live half-block view when stdout is a terminal, and frames on a
 * screen such as a page's canvas ({@linkcode ScreenSink}). Input: a scripted pointer
 * ({@linkcode PointerInput}) read on the library's clock, and live pointer states
 * (`DisplayState.pointer`).
 *
 * @example Draw from an app and snapshot the screen
 * ```ts
 * import assert from "node:assert/strict";
 * import { Runtime } from "../../mod.ts";
 * import { createDisplayLibrary, encodePng, getFramebuffer } from "./mod.ts";
 *
 * let now = 0;
 * const display = createDisplayLibrary({ clock: () => now, terminal: false });
 * const runtime = new Runtime({ plugins: [display] });
 * const gui = await runtime.load(new URL("../../examples/gui/gui.wasm", import.meta.url));
 * const app = await runtime.instantiate(gui);
 * display.state(app)!.input.push({ at: 100, x: 160, y: 125, pressed: true });
 * app.call("gui_init");
 * for (; now <= 1000; now += 10) app.call("gui_tick", now);
 * const fb = getFramebuffer(app, display)!;
 * assert.deepEqual([fb.width, fb.height], [320, 240]);
 * assert.equal(fb.pixel(100, 100), 0xff1a5276); // the button's face, held down
 * const png = await encodePng(fb);
 * assert.deepEqual([...png.subarray(1, 4)], [0x50, 0x4e, 0x47]); // "PNG"
 * app.free();
 * ```
 *
 * @module
 */

import {
  type AppHandle,
  type AppMemory,
  defineNativeLibrary,
  type NativeLibrary,
  platform,
  type PluginOptionValue,
} from "../../sdk/mod.ts";
import { checkScreenSize, Framebuffer } from "./framebuffer.ts";
import { parseInputScript, type PointerAction, PointerInput } from "./input.ts";
import { type ScreenSink, ScreenView } from "./screen.ts";
import { type TerminalSink, TerminalView } from "./terminal.ts";

export { checkScreenSize, Framebuffer, type Rect } from "./framebuffer.ts";
export { crc32, encodePng, type PixelSource, PNG_SIGNATURE, type PngOptions } from "./png.ts";
export {
  loadInputScript,
  parseInputScript,
  type PointerAction,
  PointerInput,
  type PointerReading,
} from "./input.ts";
export { renderHalfBlocks, type TerminalSink, TerminalView } from "./terminal.ts";
export { type ScreenSink, ScreenView, toRgba } from "./screen.ts";

/** Options of a display library; every field has a default. */
export interface DisplayOptions {
  /** Screen width in pixels. Default 320 (`MONITOR_HOR_RES`). */
  width?: number;
  /** Screen height in pixels. Default 240 (`MONITOR_VER_RES`). */
  height?: number;
  /** The byte every pixel starts with. Default 0x44 (the SDL simulator's). */
  fillByte?: number;
  /**
   * Milliseconds clock. `time_get_ms` returns it truncated to 32 bits, and input script times
   * count from its value when the app was created. Default `Date.now`; inject one for
   * repeatable runs.
   */
  clock?: () => number;
  /** Pointer actions every app starts with (see {@linkcode loadInputScript}). Default none. */
  input?: readonly PointerAction[];
  /**
   * Live terminal view: `"auto"` draws on stdout only when it is a terminal; `false` never;
   * a sink draws there. Default `"auto"`.
   */
  terminal?: "auto" | boolean | TerminalSink;
  /**
   * A screen every app's frames are presented on as RGBA (a page's `<canvas>`), once per
   * burst of drawing. Default none.
   */
  screen?: ScreenSink;
}

/** One app's display: its screen, its pointer and its clock. */
export interface DisplayState {
  /** The app's screen. */
  readonly framebuffer: Framebuffer;
  /** The app's scripted pointer; push actions at any time. */
  readonly input: PointerInput;
  /** The live terminal view, when there is one. */
  readonly view: TerminalView | undefined;
  /** The screen view, when the library has a screen. */
  readonly screen: ScreenView | undefined;
  /** Milliseconds since the app was created, on the library's clock. */
  now(): number;
  /**
   * Queues a live pointer state (a page's mouse or touch) at the app's current time; the app
   * reads it at its next `display_input_read`.
   *
   * @param x column, in screen pixels
   * @param y row, in screen pixels
   * @param pressed whether the button is down or the screen touched
   */
  pointer(x: number, y: number, pressed: boolean): void;
}

/** A display library: the natives plus access to each app's display. */
export interface DisplayLibrary extends NativeLibrary<DisplayState> {
  /** Screen width in pixels. */
  readonly width: number;
  /** Screen height in pixels. */
  readonly height: number;
  /** The options as plain values (`terminal` as `"auto"`, `"true"` or `"false"`). */
  readonly options: Readonly<Record<string, PluginOptionValue>>;
  /**
   * A copy of the library with some options changed; text values (from the command line,
   * `--plugin display,width=480,input=clicks.json`) are converted. Keys: `width`, `height`,
   * `fillByte`, `terminal` (`auto`, `true`, `false`) and `input` (a JSON script file, read now).
   *
   * @param changes option names and values
   * @returns the new library
   * @throws {TypeError} for an unknown option or a bad value
   */
  configure(changes: Record<string, PluginOptionValue>): DisplayLibrary;
  /**
   * An app's display state.
   *
   * @param app an app instance linked against this library
   * @returns its state, or undefined when the app imports none of the display natives
   */
  state(app: AppHandle): DisplayState | undefined;
}

const _stdoutSink: TerminalSink = {
  writeSync: function writeStdout(data) {
    platform().stdout.write(data);
    return data.length;
  },
  size: function stdoutSize() {
    const size = platform().stdout.size();
    // Some pseudo-terminals report 0x0.
    if (size && size.columns > 0 && size.rows > 1) return size;
    return { columns: 80, rows: 24 };
  },
};

function _sinkFor(option: DisplayOptions["terminal"]): TerminalSink | undefined {
  if (option === false) return undefined;
  if (option === true) return _stdoutSink;
  if (option === undefined || option === "auto") {
    return platform().stdout.isTerminal() ? _stdoutSink : undefined;
  }
  return option;
}

/**
 * Creates a display library with its own options (size, clock, input, terminal view).
 * Each app that imports a display native gets its own frame buffer and pointer.
 *
 * @param options screen size, fill byte, clock, initial input, terminal view
 * @returns the library, to pass to `Runtime({ plugins })` or `runtime.register`
 *
 * @example A small screen with an injected clock
 * ```ts
 * import assert from "node:assert/strict";
 * import { createDisplayLibrary } from "./mod.ts";
 * const display = createDisplayLibrary({ width: 64, height: 48, clock: () => 0, terminal: false });
 * assert.deepEqual([display.width, display.height], [64, 48]);
 * assert.equal(display.symbols.display_flush?.signature, "(iiii*)");
 * ```
 */
export function createDisplayLibrary(options: DisplayOptions = {}): DisplayLibrary {
  const width = options.width ?? 320;
  const height = options.height ?? 240;
  const fillByte = options.fillByte ?? 0x44;
  const clock = options.clock ?? Date.now;
  const script = [...(options.input ?? [])];
  checkScreenSize(width, height); // fail now, not at the first app

  const base = defineNativeLibrary<DisplayState>({
    name: "display",
    setup: function setupDisplay(): DisplayState {
      const framebuffer = new Framebuffer(width, height, fillByte);
      const sink = _sinkFor(options.terminal);
      const start = clock();
      const input = new PointerInput(script);
      const now = () => clock() - start;
      return {
        framebuffer,
        input,
        view: sink ? new TerminalView(framebuffer, sink) : undefined,
        screen: options.screen ? new ScreenView(framebuffer, options.screen) : undefined,
        now,
        pointer: function pointer(x: number, y: number, pressed: boolean): void {
          input.push({ at: now(), x: Math.round(x), y: Math.round(y), pressed });
        },
      };
    },
    dispose: function disposeDisplay(state: DisplayState): void {
      state.view?.close();
      state.screen?.close();
    },
    symbols: (native) => ({
      display_init: native("()", function displayInit() {}),

      // Rows y1..y2 of (x2 − x1 + 1) pixels. WAMR validates 1–4 bytes and does not clip;
      // here the whole w × h source must be app memory, and off-screen parts are skipped.
      display_flush: native("(iiii*)", function displayFlush(ctx, x1, y1, x2, y2, colors) {
        _blit(ctx.state, ctx.memory, x1, y1, x2, y2, colors.addr);
      }),

      display_fill: native("(iiii*)", function displayFill(ctx, x1, y1, x2, y2, color) {
        ctx.state.framebuffer.fill(x1, y1, x2, y2, color.u32());
        ctx.state.view?.invalidate();
        ctx.state.screen?.invalidate();
      }),

      display_map: native("(iiii*)", function displayMap(ctx, x1, y1, x2, y2, colors) {
        _blit(ctx.state, ctx.memory, x1, y1, x2, y2, colors.addr);
      }),

      // Stores one color into the app's own draw buffer (LVGL's VDB), not the screen. WAMR
      // does not validate the target; here both the color and the target are checked.
      display_vdb_write: native(
        "(*iii*i)",
        function displayVdbWrite(ctx, buf, bufW, x, y, color, _opa) {
          const value = color.bytes(4);
          ctx.memory.bytes(buf.addr + 4 * x + 4 * y * bufW, 4).set(value);
        },
      ),

      // lv_indev_data_t on wasm32: i16 x @0, i16 y @2, u32 user_data @4 (left as the app set
      // it), u8 state @8, size 12. Returns 1 while more scripted actions are due.
      display_input_read: native("(*)i", function displayInputRead(ctx, data) {
        const view = data.bytes(12);
        const reading = ctx.state.input.read(ctx.state.now());
        const dv = new DataView(view.buffer, view.byteOffset, 12);
        dv.setInt16(0, reading.x, true);
        dv.setInt16(2, reading.y, true);
        dv.setUint8(8, reading.pressed ? 1 : 0);
        return reading.more ? 1 : 0;
      }),

      time_get_ms: native("()i", function timeGetMs() {
        return clock() | 0;
      }),
    }),
  });

  const library: DisplayLibrary = Object.assign(base, {
    width,
    height,
    options: Object.freeze({
      width,
      height,
      fillByte,
      terminal: typeof options.terminal === "object" ? "sink" : String(options.terminal ?? "auto"),
    }),
    configure: function configureDisplay(
      changes: Record<string, PluginOptionValue>,
    ): DisplayLibrary {
      return createDisplayLibrary({ ...options, ..._convert(changes) });
    },
    state: function displayState(app: AppHandle): DisplayState | undefined {
      return app.stateOf(library);
    },
  });
  return library;
}

function _convert(changes: Record<string, PluginOptionValue>): DisplayOptions {
  const out: DisplayOptions = {};
  for (const [key, value] of Object.entries(changes)) {
    if (key === "width" || key === "height" || key === "fillByte") {
      const n = typeof value === "number" ? value : Number(value);
      if (typeof value === "boolean" || value === "" || !Number.isInteger(n)) {
        throw new TypeError(`Plugin "display": option "${key}" must be an integer, got "${value}"`);
      }
      out[key] = n;
    } else if (key === "terminal") {
      const text = String(value);
      if (text !== "auto" && text !== "true" && text !== "false") {
        throw new TypeError(
          `Plugin "display": option "terminal" must be auto, true or false, got "${text}"`,
        );
      }
      out.terminal = text === "auto" ? "auto" : text === "true";
    } else if (key === "input") {
      const path = String(value);
      out.input = parseInputScript(platform().readTextFileSync(path), path);
    } else {
      throw new TypeError(
        `Plugin "display": unknown option "${key}" (options: width, height, fillByte, terminal, input)`,
      );
    }
  }
  return out;
}

function _blit(
  state: DisplayState,
  memory: AppMemory,
  x1: number,
  y1: number,
  x2: number,
  y2: number,
  addr: number,
): void {
  const w = x2 - x1 + 1;
  const h = y2 - y1 + 1;
  if (w <= 0 || h <= 0) return;
  // Checked before anything is drawn: a short source traps with the screen untouched.
  const source = memory.bytes(addr, w * h * 4);
  state.framebuffer.blit(x1, y1, x2, y2, source);
  state.view?.invalidate();
  state.screen?.invalidate();
}

/** The display library with default options (320×240, `Date.now`, terminal view on a TTY). */
const display: DisplayLibrary = createDisplayLibrary();
export default display;

/**
 * An app's frame buffer.
 *
 * @param app an app instance
 * @param library the display library the app was linked with (default: the default export)
 * @returns the frame buffer, or undefined when the app imports no display native
 */
export function getFramebuffer(
  app: AppHandle,
  library: DisplayLibrary = display,
): Framebuffer | undefined {
  return library.state(app)?.framebuffer;
}
