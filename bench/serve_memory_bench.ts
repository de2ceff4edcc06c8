// `serve`'s memory at rest (issue 17): the RSS of an idle `serve` process 2 s after it
// listens, next to Deno's own floor measured the same way (a script that only listens on a
// port and waits on a timer, as serve does), and what each idle installed app costs beyond its
// own memory pages (JS heap and external memory after a full GC, in a child process run with
// --expose-gc; 64 copies of examples/request_handler installed the way serve installs them).
//
// Figures are printed at load time (min–max of 3 processes each); the Deno.bench cases time
// an idle install and uninstall.
import {
  AppManager,
  DEFAULT_DEADLINE_MS,
  DEFAULT_MAX_MEMORY,
} from "../core/framework/app_manager.ts";
import { Runtime } from "../core/instance/runtime.ts";
import { defaultPlugins, SERVE_MAX_APPS } from "../core/cli/serve_command.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const MOD = `${ROOT}mod.ts`;
const HANDLER = Deno.readFileSync(`${ROOT}examples/request_handler/request_handler.wasm`);
const APPS = SERVE_MAX_APPS;

/**
 * request_handler with a custom section of its own (`x`, holding `i`): a different module for
 * each `i` that behaves the same. Apps installed from the same bytes share one loaded module.
 */
function _distinct(i: number): Uint8Array {
  const out = new Uint8Array(HANDLER.length + 7);
  out.set(HANDLER);
  out.set([0, 5, 1, 0x78, i & 0x7f, i >> 7, 1], HANDLER.length);
  return out;
}

/**
 * The child: installs APPS idle apps as serve does and prints what each costs; with
 * `distinct`, each from a module of its own (APPS different apps), else from the same bytes.
 */
async function perApp(distinct: boolean): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error("Run the child with --v8-flags=--expose-gc");
  const runtime = await new Runtime({ plugins: await defaultPlugins(), stdout: () => {} })
    .loadInstrumentation();
  const manager = new AppManager(runtime, {
    maxApps: SERVE_MAX_APPS + 1,
    deadlineMs: DEFAULT_DEADLINE_MS,
    maxMemory: DEFAULT_MAX_MEMORY,
    stdout: () => {},
  });
  // One install first, so code compiled and caches filled on the first are not counted.
  manager.install("warm", distinct ? _distinct(APPS) : HANDLER);
  await _settle();
  gc();
  const before = Deno.memoryUsage();
  let pages = 0;
  for (let i = 0; i < APPS; i++) {
    const app = manager.install(`app${i}`, distinct ? _distinct(i) : HANDLER);
    pages += app.instance.memory.memory.buffer.byteLength;
  }
  await _settle();
  gc();
  const after = Deno.memoryUsage();
  console.log(JSON.stringify({
    heap: (after.heapUsed - before.heapUsed) / APPS,
    external: (after.external - before.external) / APPS,
    rss: (after.rss - before.rss) / APPS,
    pages: pages / APPS,
  }));
  manager.close();
}

async function _settle(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise((resolve) => setTimeout(resolve, 50));
}

if (Deno.args[0] === "--per-app") {
  await perApp(Deno.args[1] === "distinct");
  Deno.exit(0);
}

const FLOOR = `const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
console.log("listening on " + listener.addr.port);
setTimeout(() => {}, 1e9);
`;
const dir = Deno.makeTempDirSync({ prefix: "serve_memory_bench_" });
globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
Deno.writeTextFileSync(`${dir}/floor.ts`, FLOOR);
// The same, once mod.ts's module graph is loaded (nothing of it run).
Deno.writeTextFileSync(`${dir}/graph.ts`, `import ${JSON.stringify(MOD)};\n${FLOOR}`);

/** RSS in KiB (VmRSS) of a process 2 s after it printed "listening on". */
async function idleRss(args: string[]): Promise<number> {
  const child = new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  while (!seen.includes("listening on")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`"${args.join(" ")}" ended before it listened`);
    seen += value;
  }
  await new Promise((resolve) => setTimeout(resolve, 2000));
  // ps rather than /proc/PID/status, which Deno opens only with --allow-all.
  const ps = new Deno.Command("ps", { args: ["-o", "rss=", "-p", String(child.pid)] }).outputSync();
  child.kill();
  await reader.cancel();
  await child.status;
  return Number(new TextDecoder().decode(ps.stdout).trim());
}

async function range(runs: number, measure: () => Promise<number>): Promise<[number, number]> {
  const values: number[] = [];
  for (let i = 0; i < runs; i++) values.push(await measure());
  return [Math.min(...values), Math.max(...values)];
}

const mib = ([lo, hi]: [number, number]) =>
  `${(lo / 1024).toFixed(1)}–${(hi / 1024).toFixed(1)} MiB`;
const config = `--config=${ROOT}deno.json`;
const floor = await range(3, () => idleRss(["run", "--allow-all", `${dir}/floor.ts`]));
const floorHere = await range(3, () => idleRss(["run", "--allow-all", config, `${dir}/floor.ts`]));
const graph = await range(3, () => idleRss(["run", "--allow-all", config, `${dir}/graph.ts`]));
const serve = await range(3, () => idleRss(["run", "--allow-all", MOD, "serve", "--port", "0"]));
console.log(
  `serve idle RSS ${mib(serve)} (target ≤ 35 MiB); Deno's floor (listen + a timer) ${mib(floor)}, ${
    mib(floorHere)
  } with the project's deno.json and lock, ${mib(graph)} once mod.ts's modules are loaded`,
);

type PerApp = { heap: number; external: number; rss: number; pages: number };
const perAppRuns: PerApp[] = [];
const distinctRuns: PerApp[] = [];
for (let i = 0; i < 6; i++) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-all",
      "--v8-flags=--expose-gc",
      new URL(import.meta.url).pathname,
      "--per-app",
      i % 2 === 0 ? "same" : "distinct",
    ],
    cwd: ROOT,
    stdout: "piped",
    stderr: "inherit",
  }).output();
  (i % 2 === 0 ? perAppRuns : distinctRuns).push(JSON.parse(new TextDecoder().decode(out.stdout)));
}
const kib = (pick: (r: PerApp) => number, runs = perAppRuns) => {
  const values = runs.map(pick);
  return `${(Math.min(...values) / 1024).toFixed(1)}–${
    (Math.max(...values) / 1024).toFixed(1)
  } KiB`;
};
console.log(
  `per idle app (${APPS} request_handler installs): JS heap ${kib((r) => r.heap)}, ` +
    `external ${kib((r) => r.external)} (target ≤ 30 KiB beyond its memory pages); ` +
    `RSS ${kib((r) => r.rss)} with its memory pages of ${kib((r) => r.pages)} (virtual); ` +
    `${APPS} different apps (request_handler with a custom section each): JS heap ${
      kib((r) => r.heap, distinctRuns)
    }, external ${kib((r) => r.external, distinctRuns)}, RSS ${kib((r) => r.rss, distinctRuns)}`,
);

const runtime = await new Runtime({ plugins: await defaultPlugins(), stdout: () => {} })
  .loadInstrumentation();
const manager = new AppManager(runtime, {
  deadlineMs: DEFAULT_DEADLINE_MS,
  maxMemory: DEFAULT_MAX_MEMORY,
  stdout: () => {},
});
const module = runtime.loadSync(HANDLER, "request_handler");
Deno.bench("install and uninstall an idle request_handler, as serve does", () => {
  manager.install("idle", module);
  manager.uninstall("idle");
});
