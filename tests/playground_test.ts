// The playground page (examples/web/serve.ts, playground/, shared/) in Debian's Chromium:
// the page served by `deno task web`'s server, driven by clicks, compared with the CLI's own
// output and PNG, and installing onto a real `serve --ws` process checked with `host -q`.
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { inflateSync } from "node:zlib";
import type { Page } from "playwright-core";
import { type Chromium, launchChromium } from "./_chromium.ts";
import { serve } from "./_serve.ts";
import { startWebServer, type WebServer } from "../examples/web/serve.ts";

const ROOT = new URL("../", import.meta.url).pathname;

/** What the functions evaluated in the page use of it (tests type-check without the DOM lib). */
interface PageNode {
  textContent: string | null;
  innerText: string;
  dataset: Record<string, string | undefined>;
  width: number;
  height: number;
  getContext(
    kind: "2d",
  ): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } };
}
declare const document: {
  body: PageNode;
  querySelector(selector: string): PageNode | null;
  querySelectorAll(selector: string): Iterable<PageNode>;
};

/** Runs the CLI (`deno run mod.ts …`) from the repo root; returns stdout. */
async function cli(...args: string[]): Promise<string> {
  const { stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-write", ...args],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(stdout);
  if (text === "" && !args.includes("--png")) {
    throw new Error(
      `The CLI printed nothing for ${args.join(" ")}: ${new TextDecoder().decode(stderr)}`,
    );
  }
  return text;
}

async function host(port: number, ...args: string[]) {
  const { code, stdout } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", "mod.ts", "host", "-P", String(port), ...args],
    cwd: ROOT,
    stdout: "piped",
    stderr: "null",
  }).output();
  return { code, out: new TextDecoder().decode(stdout) };
}

/** The RGBA bytes of a PNG as `encodePng` writes it (8-bit RGBA, filter 0 on every row). */
function pngRgba(png: Uint8Array): { width: number; height: number; rgba: Uint8Array } {
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  let at = 8;
  let width = 0, height = 0;
  const idat: Uint8Array[] = [];
  while (at < png.length) {
    const length = view.getUint32(at);
    const type = new TextDecoder().decode(png.subarray(at + 4, at + 8));
    const data = png.subarray(at + 8, at + 8 + length);
    if (type === "IHDR") {
      width = view.getUint32(at + 8);
      height = view.getUint32(at + 12);
      assert.deepEqual([...data.subarray(8, 13)], [8, 6, 0, 0, 0], "8-bit RGBA, no interlace");
    } else if (type === "IDAT") idat.push(data);
    at += 12 + length;
  }
  const raw = inflateSync(new Uint8Array(idat.flatMap((d) => [...d])));
  const stride = width * 4 + 1;
  const rgba = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    assert.equal(raw[y * stride], 0, `row ${y} uses filter 0`);
    rgba.set(raw.subarray(y * stride + 1, (y + 1) * stride), y * width * 4);
  }
  return { width, height, rgba };
}

async function sha256(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** The page's console text. */
function consoleText(page: Page): Promise<string> {
  return page.locator("[data-role=console]").innerText();
}

/** The console's text without the page's own notes (`— …` lines). */
function appLines(text: string): string {
  return text.split("\n").filter((line) => !line.startsWith("— ")).join("\n");
}

async function open(page: Page, url: string): Promise<void> {
  await page.goto(url);
  await page.waitForFunction(() => document.body.dataset.ready === "true");
}

async function pickExample(page: Page, path: string): Promise<void> {
  await page.selectOption("[data-role=examples]", path);
  await page.waitForFunction(
    (p) =>
      (globalThis as unknown as { playground: { app?: { path: string } } }).playground.app?.path ===
        p,
    path,
  );
}

/** Clicks Run and waits until the run has ended; returns the console text it added. */
async function runAndWait(page: Page): Promise<string> {
  const before = (await consoleText(page)).length;
  const count = await page.evaluate(() =>
    (globalThis as unknown as { playground: { runs: unknown[] } }).playground.runs.length
  );
  await page.click("[data-role=run]");
  await page.waitForFunction(
    (n) => {
      const runs = (globalThis as unknown as { playground: { runs: { endedAt?: number }[] } })
        .playground.runs;
      return runs.length > n && runs[n]!.endedAt !== undefined;
    },
    count,
  );
  return (await consoleText(page)).slice(before);
}

let web: WebServer;
let browser: Chromium;
let dir: string;

Deno.test({
  name: "playground: in Chromium, served by deno task web's server",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async (t) => {
    dir = await Deno.makeTempDir({ prefix: "playground_" });
    web = await startWebServer({ port: 0 });
    browser = await launchChromium({ dir, timeout: 15_000 });
    const page = await browser.newPage();
    try {
      await t.step("hello prints what the CLI prints, argv[0] included", async () => {
        await open(page, `${web.url}?app=examples/hello/hello.wasm&run=1`);
        await page.waitForFunction(() => document.body.innerText.includes("exit status"));
        const expected = await cli("mod.ts", "examples/hello/hello.wasm");
        assert.equal(expected.split("\n")[0], "Hello world!");
        assert.equal(appLines(await consoleText(page)), expected);
        await browser.screenshot(page, "hello");
      });

      await t.step("printf prints the same lines as the CLI", async () => {
        await page.click("[data-role=clear]");
        await pickExample(page, "examples/printf/printf.wasm");
        const added = await runAndWait(page);
        const expected = await cli("mod.ts", "examples/printf/printf.wasm");
        assert.ok(expected.length > 100, "printf prints a lot");
        assert.equal(appLines(added), expected);
        await browser.screenshot(page, "printf");
      });

      await t.step("traps print WAMR's Exception lines as the CLI does", async () => {
        await pickExample(page, "examples/traps/traps.wasm");
        for (
          const [f, args] of [
            ["unreachable_trap", ""],
            ["oob_load", ""],
            ["divz", "0"],
            ["divz", "5"],
            ["int_overflow", ""],
            ["bad_convert", ""],
            ["indirect_mismatch", ""],
            ["stack_overflow", ""],
            ["call_missing", ""],
          ]
        ) {
          await page.click("[data-role=clear]");
          await page.fill("[data-role=function]", f!);
          await page.fill("[data-role=args]", args!);
          const added = await runAndWait(page);
          const expected = await cli(
            "mod.ts",
            "-f",
            f!,
            "examples/traps/traps.wasm",
            ...(args ? [args] : []),
          );
          const line = appLines(added).split("\n").filter((l) => l !== "").at(-1);
          assert.equal(line, expected.trim(), `-f ${f} ${args}`);
          if (f !== "divz" || args === "0") assert.match(line!, /^Exception: /);
        }
        await browser.screenshot(page, "traps");
      });

      await t.step(
        "a WASI app runs over the page's in-memory files as over real ones",
        async () => {
          await page.click("[data-role=clear]");
          await pickExample(page, "examples/wasi/c/wasi_app.wasm");
          assert.equal(
            await page.inputValue("[data-role=args]"),
            "data/in.txt data/out.txt 3 hello",
          );
          const added = await runAndWait(page);
          const host = `${dir}/wasi`;
          await Deno.mkdir(host);
          await Deno.writeTextFile(
            `${host}/in.txt`,
            "Hello from the page's in-memory file system\n",
          );
          const expected = await cli(
            "mod.ts",
            `--dir=${host}::data`,
            "examples/wasi/c/wasi_app.wasm",
            ..."data/in.txt data/out.txt 3 hello".split(" "),
          );
          assert.match(expected, /^exit 3$/m);
          assert.equal(appLines(added), expected);
          assert.match(added, /— exit status 3 /);
          const copied = (await Deno.stat(`${host}/out.txt`)).size;
          assert.match(
            added,
            new RegExp(
              `— data/ in memory: in\\.txt \\(\\d+ bytes\\), out\\.txt \\(${copied} bytes\\)`,
            ),
          );
          await browser.screenshot(page, "wasi");
        },
      );

      await t.step(
        "GUI: the replayed clicks give the same RGBA pixels as the CLI's PNG",
        async () => {
          await pickExample(page, "examples/gui/gui.wasm");
          assert.equal(await page.locator("[data-role=screen-panel]").isVisible(), true);
          await page.click("[data-role=replay]");
          await page.waitForFunction(() =>
            document.querySelector("[data-role=screen-panel]")?.dataset.replayed ===
              "2500"
          );
          const canvas = await page.evaluate(() => {
            const screen = (globalThis as unknown as {
              playground: { screen: { canvas: PageNode; rgba(): Uint8ClampedArray } };
            }).playground.screen;
            return {
              width: screen.canvas.width,
              height: screen.canvas.height,
              rgba: [...screen.rgba()],
            };
          });
          const png = `${dir}/gui-cli.png`;
          await cli("examples/gui/run.ts", "--fast", "--png", png);
          const fromCli = pngRgba(await Deno.readFile(png));
          assert.deepEqual([canvas.width, canvas.height], [fromCli.width, fromCli.height]);
          assert.deepEqual([canvas.width, canvas.height], [320, 240], "the app's resolution");
          const browserHash = await sha256(new Uint8Array(canvas.rgba));
          assert.equal(browserHash, await sha256(fromCli.rgba));
          // Not a blank screen: many distinct colours were drawn.
          const colours = new Set<number>();
          for (let i = 0; i < canvas.rgba.length; i += 4) {
            colours.add((canvas.rgba[i]! << 16) | (canvas.rgba[i + 1]! << 8) | canvas.rgba[i + 2]!);
          }
          assert.ok(colours.size >= 4, `${colours.size} colours`);
          await browser.screenshot(page, "gui-replay", "[data-role=screen-panel]");
        },
      );

      await t.step("GUI: the button works by clicking the canvas", async () => {
        await page.click("[data-role=run]");
        const canvas = page.locator("[data-role=screen]");
        const box = (await canvas.boundingBox())!;
        const scale = box.width / 320;
        const pixel = (x: number, y: number) =>
          page.evaluate(([x, y]) => {
            const c = document.querySelector("[data-role=screen]")!;
            return [...c.getContext("2d")!.getImageData(x!, y!, 1, 1).data];
          }, [x, y]);
        await page.waitForTimeout(100);
        const face = await pixel(100, 100);
        const counter = async () =>
          await page.evaluate(() => {
            const c = document.querySelector("[data-role=screen]")!;
            return [...c.getContext("2d")!.getImageData(0, 180, 320, 60).data].join();
          });
        const countBefore = await counter();
        await page.mouse.move(box.x + 100 * scale, box.y + 100 * scale);
        await page.mouse.down();
        await page.waitForFunction(() => {
          const c = document.querySelector("[data-role=screen]")!;
          const d = c.getContext("2d")!.getImageData(100, 100, 1, 1).data;
          return d[0] === 0x1a && d[1] === 0x52 && d[2] === 0x76; // the face, held down
        });
        await browser.screenshot(page, "gui-pressed", "[data-role=screen-panel]");
        await page.mouse.up();
        await page.waitForFunction(
          (face) => {
            const c = document.querySelector("[data-role=screen]")!;
            const d = c.getContext("2d")!.getImageData(100, 100, 1, 1).data;
            return d[0] === face[0] && d[1] === face[1] && d[2] === face[2];
          },
          face,
        );
        // The click counter's label was redrawn.
        await page.waitForFunction(
          (before) => {
            const c = document.querySelector("[data-role=screen]")!;
            return [...c.getContext("2d")!.getImageData(0, 180, 320, 60).data].join() !== before;
          },
          countBefore,
        );
        await browser.screenshot(page, "gui-live");
        await page.click("[data-role=stop]");
      });

      await t.step("framework pairs run together with a live log", async () => {
        await page.click("[data-role=clear]");
        await page.click("[data-group='request handler + sender']");
        await page.waitForFunction(() =>
          document.querySelector("[data-role=console]")!.textContent!.includes(
            "### user resource 1 handler called",
          )
        );
        await page.waitForFunction(() =>
          [...document.querySelectorAll("[data-role=event-log] li")].some((li) =>
            /Send request to applet: request_handler/.test(li.textContent!)
          )
        );
        await browser.screenshot(page, "framework-request");

        await page.click("[data-group='publisher + subscriber']");
        await page.waitForFunction(() =>
          document.querySelector("[data-role=console]")!.textContent!.includes(
            "### user over heat event handler called",
          )
        );
        await page.waitForFunction(() =>
          [...document.querySelectorAll("[data-role=event-log] li")].some((li) =>
            /App event_subscriber got request, url alert\/overheat/.test(li.textContent!)
          )
        );
        await browser.screenshot(page, "framework-events");

        await page.click("[data-group='sensor']");
        await page.waitForFunction(
          () => {
            const counts = (globalThis as unknown as {
              playground: { plot: { counts: Record<string, number> } };
            })
              .playground.plot.counts;
            return (counts["sensor_test1 value"] ?? 0) >= 2 &&
              (counts["sensor_test2 value"] ?? 0) >= 2;
          },
          null,
          { timeout: 15_000 },
        );
        assert.equal(await page.locator("[data-role=plot-panel]").isVisible(), true);
        await browser.screenshot(page, "sensor-plot");
        await page.click("[data-role=stop]");
      });

      await t.step(
        "bad input: not wasm, a looping app, then the page still runs hello",
        async () => {
          await page.click("[data-role=clear]");
          await page.setInputFiles("[data-role=file]", {
            name: "notes.txt",
            mimeType: "text/plain",
            buffer: Buffer.from("hello, not wasm"),
          });
          await page.waitForFunction(() =>
            document.querySelector("[data-role=console]")!.textContent!.includes(
              "is not a WebAssembly",
            )
          );
          assert.match(
            await consoleText(page),
            /"notes\.txt" is not a WebAssembly module: it does not start with \\0asm \(its first bytes: 68 65 6c 6c\)/,
          );
          // A module with the right magic and a broken body: the CLI's load failure line.
          await page.setInputFiles("[data-role=file]", {
            name: "broken.wasm",
            mimeType: "application/wasm",
            buffer: Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 99]),
          });
          await page.waitForFunction(() =>
            document.querySelector("[data-role=console]")!.textContent!.includes(
              "WASM module load failed",
            )
          );

          await pickExample(page, "examples/fib/fib.wasm");
          await page.fill("[data-role=args]", "50");
          await page.fill("[data-role=deadline]", "300");
          const looped = await runAndWait(page);
          assert.match(looped, /^Exception: execution deadline exceeded$/m);

          await page.click("[data-role=clear]");
          await page.fill("[data-role=args]", "20");
          const fine = await runAndWait(page);
          assert.equal(appLines(fine), await cli("mod.ts", "examples/fib/fib.wasm", "20"));

          // A framework app stuck in on_init is suspended by the deadline; the page goes on.
          await page.fill("[data-role=deadline]", "200");
          await page.check("[data-role=group-apps] input[value='examples/limits/loop_init.wasm']");
          for (const box of await page.locator("[data-role=group-apps] input:checked").all()) {
            if ((await box.getAttribute("value")) !== "examples/limits/loop_init.wasm") {
              await box.uncheck();
            }
          }
          await page.click("[data-role=run-together]");
          await page.waitForFunction(() =>
            document.querySelector("[data-role=console]")!.textContent!.includes(
              "suspended: execution deadline exceeded in on_init",
            )
          );
          await page.click("[data-role=stop]");
          assert.deepEqual(browser.errors, []);
          await browser.screenshot(page, "bad-input");
        },
      );

      await t.step(
        "a device with a token: a wrong token is refused, the right one connects",
        async () => {
          const tokenFile = `${dir}/token`;
          await Deno.writeTextFile(tokenFile, "page-s3cret\n");
          const device = await serve(["--ws", "0", "--token-file", tokenFile]);
          try {
            const url = (await device.waitFor(/over WebSocket on (ws:\/\/\S+)/))[1]!;
            await page.fill("[data-role=device-url]", url);
            await page.fill("[data-role=device-token]", "guess");
            await page.click("[data-role=device-connect]");
            await page.waitForFunction(() =>
              /^Cannot connect to "ws:.*": Authentication failed: the token does not match this runtime's/
                .test(document.querySelector("[data-role=device-status]")!.textContent!)
            );
            await browser.screenshot(page, "device-wrong-token");
            await page.fill("[data-role=device-token]", "page-s3cret");
            await page.click("[data-role=device-connect]");
            await page.waitForFunction(
              (u) =>
                document.querySelector("[data-role=device-status]")!.textContent ===
                  `connected to ${u}`,
              url,
            );
            await page.waitForSelector("[data-role=device-apps] li.empty");
            await page.click("[data-role=device-disconnect]");
            await page.fill("[data-role=device-token]", "");
          } finally {
            await device.stop();
          }
        },
      );

      await t.step(
        "install on a device: serve --ws gets the app, host -q lists it, requests and events " +
          "flow, and a server that goes away is reported",
        async () => {
          const device = await serve(["--ws", "0"]);
          try {
            const url = (await device.waitFor(/over WebSocket on (ws:\/\/\S+)/))[1]!;
            await page.fill("[data-role=device-url]", url);
            await page.click("[data-role=device-connect]");
            await page.waitForFunction(
              (u) =>
                document.querySelector("[data-role=device-status]")!.textContent ===
                  `connected to ${u}`,
              url,
            );
            await pickExample(page, "examples/request_handler/request_handler.wasm");
            assert.equal(await page.inputValue("[data-role=install-name]"), "request_handler");
            await page.click("[data-role=device-install]");
            await page.waitForSelector("[data-role=device-apps] li[data-app=request_handler]");
            const listed = await host(device.port, "-q");
            assert.equal(listed.code, 69);
            assert.match(listed.out, /"applet1":\s*"request_handler"/);

            await page.fill("[data-role=request-url]", "/app/request_handler/url1");
            await page.click("[data-role=request-send]");
            await page.waitForFunction(() =>
              [...document.querySelectorAll("[data-role=device] li.response")].some((li) =>
                /GET \/app\/request_handler\/url1: 69 \(2\.05 Content\)[\s\S]*"key1":\s*"value1"/
                  .test(li.textContent!)
              )
            );
            await device.waitFor(/### user resource 1 handler called/);

            await pickExample(page, "examples/event_publisher/event_publisher.wasm");
            await page.click("[data-role=device-install]");
            await page.waitForSelector("[data-role=device-apps] li[data-app=event_publisher]");
            await page.click("[data-role=event-subscribe]");
            await page.waitForFunction(() =>
              [...document.querySelectorAll("[data-role=device] li.event")].some((li) =>
                /alert\/overheat[\s\S]*temperature is over high/.test(li.textContent!)
              )
            );
            await browser.screenshot(page, "device");
            // The whole page at work: the device panel, and sensors plotted beside it.
            await page.click("[data-group='sensor']");
            await page.waitForFunction(
              () => {
                const counts = (globalThis as unknown as {
                  playground: { plot: { counts: Record<string, number> } };
                }).playground.plot.counts;
                return (counts["sensor_test1 value"] ?? 0) >= 5;
              },
              null,
              { timeout: 15_000 },
            );
            await browser.screenshot(page, "playground");
            await page.click("[data-role=stop]");

            await page.click(
              "[data-role=device-apps] li[data-app=request_handler] [data-role=device-uninstall]",
            );
            await page.waitForSelector("[data-role=device-apps] li[data-app=request_handler]", {
              state: "detached",
            });
            const after = await host(device.port, "-q");
            assert.doesNotMatch(after.out, /request_handler/);
            assert.match(after.out, /"applet1":\s*"event_publisher"/);
          } finally {
            await device.stop();
          }
          await page.waitForFunction(() =>
            /closed the link; connect again when it is back/.test(
              document.querySelector("[data-role=device-status]")!.textContent!,
            )
          );
          // Connecting again to the address that is gone says so, and the page keeps working.
          await page.click("[data-role=device-connect]");
          await page.waitForFunction(() =>
            /^Cannot connect to "ws:\/\/127\.0\.0\.1:\d+\/": .*is serve --ws running there\?/.test(
              document.querySelector("[data-role=device-status]")!.textContent!,
            )
          );
          await browser.screenshot(page, "device-gone");
          await pickExample(page, "examples/hello/hello.wasm");
          assert.match(await runAndWait(page), /^Hello world!$/m);
        },
      );
    } finally {
      await browser.close();
      await web.close();
    }
    // The committed screenshot for the README is taken from here (see tests/README or the commit).
    if (Deno.env.get("PLAYGROUND_SCREENSHOTS")) {
      await Deno.mkdir(Deno.env.get("PLAYGROUND_SCREENSHOTS")!, { recursive: true });
      for await (const entry of Deno.readDir(dir)) {
        if (entry.name.endsWith(".png")) {
          await Deno.copyFile(
            `${dir}/${entry.name}`,
            `${Deno.env.get("PLAYGROUND_SCREENSHOTS")}/${entry.name}`,
          );
        }
      }
    }
    await Deno.remove(dir, { recursive: true });
  },
});

Deno.test({
  name: "playground server: serves the page's files and examples, nothing else of the repo",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const server = await startWebServer({ port: 0, reuseBundle: true });
    const base = `http://127.0.0.1:${server.addr.port}`;
    const get = async (path: string) => {
      const response = await fetch(base + path, { redirect: "manual" });
      return {
        status: response.status,
        type: response.headers.get("content-type"),
        body: await response.text(),
      };
    };
    try {
      assert.equal((await get("/")).status, 302);
      const page = await get("/playground/");
      assert.equal(page.status, 200);
      assert.match(page.body, /<script type="module" src="\/playground\/main\.js">/);
      const script = await get("/playground/main.js");
      assert.match(script.body, /from"\/dist\/micro-runtime\.js"/);
      assert.doesNotMatch(script.body, /\bDeno\.[a-z]/);
      const list = JSON.parse((await get("/examples/index.json")).body) as { path: string }[];
      assert.ok(list.some((e) => e.path === "examples/gui/gui.wasm"));
      const wasm = await get("/examples/hello/hello.wasm");
      assert.deepEqual([wasm.status, wasm.type], [200, "application/wasm"]);
      assert.equal((await get("/dist/micro-runtime.js")).status, 200);
      for (
        const path of [
          "/examples/%2e%2e/deno.json",
          "/examples/hello/../../mod.ts",
          "/core/web/mod.ts",
          "/examples/.git/config",
          "/tests/playground_test.ts",
        ]
      ) {
        const { status } = await get(path);
        assert.equal(status, 404, path);
      }
      const post = await fetch(`${base}/playground/`, { method: "POST" });
      await post.body?.cancel();
      assert.equal(post.status, 405);
    } finally {
      await server.close();
    }
  },
});
