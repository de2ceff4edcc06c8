// The runtime in Debian's Chromium against the same runtime under Deno (issue 15): the
// CPU-bound example (examples/fib, main with an argument: load, link, run) through the browser
// bundle's runApp in a page, with the same call under Deno as the baseline; and the
// playground's time to first output for hello (page load, bundle, fetch, run), from a fresh
// navigation each time. The page's own figure (first output, ms after navigation start) and the
// median speed ratio of interleaved Deno/Chromium pairs are printed once at the end.
import { launchChromium } from "../tests/_chromium.ts";
import { startWebServer } from "../examples/web/serve.ts";
import { runApp } from "../core/web/mod.ts";

const ROOT = new URL("../", import.meta.url);
const FIB = await Deno.readFile(new URL("examples/fib/fib.wasm", ROOT));
/** fib(N): about 100 ms of wasm, so compiling and the DevTools round trip stay under 1 %. */
const N = "38";

const web = await startWebServer({ port: 0, reuseBundle: true });
const browser = await launchChromium();
const page = await browser.newPage();
await page.goto(web.url);
await page.waitForFunction("document.body.dataset.ready === 'true'");
// The page's copy of the bundle and of fib.wasm, ready for the timed calls.
await page.evaluate(`(async () => {
  globalThis.bench = {
    runtime: await import("/dist/micro-runtime.js"),
    fib: new Uint8Array(await (await fetch("/examples/fib/fib.wasm")).arrayBuffer()),
  };
})()`);

globalThis.addEventListener("unload", () => {
  // Best effort: Deno.bench has no teardown hook, and the process exits after this.
  void browser.close().then(() => web.close());
});

let deno = "";
Deno.bench({
  name: `fib(${N}) under Deno (runApp)`,
  group: "cpu",
  baseline: true,
  n: 40,
  async fn() {
    let out = "";
    await runApp(FIB, {
      name: "fib.wasm",
      args: [N],
      stdout: (b) => out += new TextDecoder().decode(b),
    });
    deno = out;
  },
});

let chromium = "";
Deno.bench({
  name: `fib(${N}) in Chromium (the bundle's runApp)`,
  group: "cpu",
  n: 40,
  async fn() {
    chromium = await page.evaluate(`(async () => {
      let out = "";
      await bench.runtime.runApp(bench.fib, {
        name: "fib.wasm",
        args: ["${N}"],
        stdout: (b) => out += new TextDecoder().decode(b),
      });
      return out;
    })()`) as string;
  },
});

/** In-page and in-process times of one fib(N) run each, the page's first (load drifts less). */
async function timedPair(): Promise<[deno: number, chromium: number]> {
  const chromium = await page.evaluate(`(async () => {
    const start = performance.now();
    await bench.runtime.runApp(bench.fib, { name: "fib.wasm", args: ["${N}"], stdout: () => {} });
    return performance.now() - start;
  })()`) as number;
  const start = performance.now();
  await runApp(FIB, { name: "fib.wasm", args: [N], stdout: () => {} });
  return [performance.now() - start, chromium];
}

// On a shared machine the load changes between the two groups above; pairs run back to back
// see the same load, so the median of their ratios is the figure to quote.
const ratios: number[] = [];
Deno.bench({
  name: `fib(${N}) interleaved: one run under Deno, one in Chromium`,
  group: "pairs",
  n: 30,
  async fn() {
    const [deno, chromium] = await timedPair();
    ratios.push(deno / chromium);
  },
});

const firstOutput: number[] = [];
Deno.bench({
  name: "playground: load the page and run hello until its first output",
  group: "page",
  n: 20,
  warmup: 2,
  async fn() {
    await page.goto(`${web.url}?app=examples/hello/hello.wasm&run=1`);
    const at = await page.waitForFunction(
      "playground.runs[0]?.endedAt !== undefined && playground.runs[0].firstOutputAt",
    );
    firstOutput.push(await at.jsonValue() as number);
  },
});

globalThis.addEventListener("unload", () => {
  if (deno !== chromium) console.error(`fib output differs: ${deno} vs ${chromium}`);
  if (ratios.length > 0) {
    const r = ratios.sort((a, b) => a - b);
    console.log(
      `fib(${N}) in Chromium runs at ${r[r.length >> 1]!.toFixed(2)}× the speed under Deno ` +
        `(median of ${r.length} interleaved pairs; quartiles ${r[r.length >> 2]!.toFixed(2)}–` +
        `${r[(3 * r.length) >> 2]!.toFixed(2)}; target ≥ 0.95)`,
    );
  }
  const sorted = firstOutput.sort((a, b) => a - b);
  if (sorted.length > 0) {
    console.log(
      `hello's first output after navigation start: median ${
        sorted[sorted.length >> 1]!.toFixed(0)
      } ms (${sorted[0]!.toFixed(0)}–${sorted.at(-1)!.toFixed(0)} ms over ${sorted.length} loads)`,
    );
  }
});
