// The layering rules of ARCHITECTURE.md, checked on the real import graph (`deno info --json`):
// sdk/ is the bottom layer, natives/ sit on it alone, only core/cli/, core/web/ (the browser
// build's entry) and mod.ts name natives/, each core/ stage imports only the stages before it
// (core/web/ comes before host_link and cli, which need a Deno host), and no file imports
// itself round a cycle.
import assert from "node:assert/strict";
import { join, relative } from "node:path";
import { fileURLToPath as fromFileUrl } from "node:url";

const ROOT = fromFileUrl(new URL("..", import.meta.url));

/** The core stages in data-flow order. */
export const STAGES = ["module", "link", "instance", "framework", "web", "host_link", "cli"];

/** One import: `from` imports `to`, both repository-relative paths (or a URL outside it). */
export interface Edge {
  from: string;
  to: string;
}

/** The stage a core file belongs to, or undefined outside core/. */
function _stage(path: string): number | undefined {
  const m = /^core\/([a-z_]+)\//.exec(path);
  if (!m) return undefined;
  const index = STAGES.indexOf(m[1]!);
  return index < 0 ? -1 : index;
}

/**
 * Every rule break in an import graph, one line each.
 *
 * @param edges the imports
 * @returns the breaks, empty when the graph keeps every rule
 */
export function ruleBreaks(edges: readonly Edge[]): string[] {
  const breaks: string[] = [];
  for (const { from, to } of edges) {
    const local = !/^[a-z]+:/.test(to);
    if (!local) continue;
    const fromStage = _stage(from);
    const toStage = _stage(to);
    if (from.startsWith("sdk/") && !to.startsWith("sdk/")) {
      breaks.push(`sdk/ imports only sdk/: ${from} imports ${to}`);
    }
    if (from.startsWith("natives/") && !to.startsWith("sdk/")) {
      const plugin = from.split("/")[1];
      if (!to.startsWith(`natives/${plugin}/`)) {
        breaks.push(`natives/ import only sdk/: ${from} imports ${to}`);
      }
    }
    if (
      to.startsWith("natives/") && !from.startsWith("natives/") && from !== "mod.ts" &&
      !from.startsWith("core/cli/") && !from.startsWith("core/web/")
    ) {
      breaks.push(`only core/cli/, core/web/ and mod.ts name natives/: ${from} imports ${to}`);
    }
    if (fromStage === -1 || toStage === -1) {
      breaks.push(`core/ holds only the stages ${STAGES.join(", ")}: ${from} imports ${to}`);
    } else if (fromStage !== undefined && toStage !== undefined && toStage > fromStage) {
      breaks.push(
        `core/${STAGES[fromStage]}/ may not import a later stage: ${from} imports ${to}`,
      );
    }
    if (
      (from.startsWith("core/") || from.startsWith("sdk/") || from.startsWith("natives/")) &&
      (to === "mod.ts" || to.startsWith("tests/") || to.startsWith("examples/") ||
        to.startsWith("bench/"))
    ) {
      breaks.push(`the product imports no entry point, test or example: ${from} imports ${to}`);
    }
  }
  for (const group of cycles(edges)) breaks.push(`cycle among ${group.join(", ")}`);
  return breaks;
}

/**
 * The import cycles of a graph: each group of files that import one another round a cycle,
 * sorted.
 *
 * @param edges the imports
 * @returns one cycle per strongly connected group of files
 */
export function cycles(edges: readonly Edge[]): string[][] {
  const next = new Map<string, string[]>();
  for (const { from, to } of edges) {
    if (!next.has(from)) next.set(from, []);
    next.get(from)!.push(to);
  }
  // Tarjan's strongly connected components, iteratively deep enough for our graph.
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of next.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const group: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        group.push(w);
      } while (w !== v);
      const selfLoop = (next.get(v) ?? []).includes(v);
      if (group.length > 1 || selfLoop) found.push(group.sort());
    }
  };
  for (const v of next.keys()) if (!index.has(v)) visit(v);
  return found;
}

/**
 * The import graph of every TypeScript file under the given folders, static, type-only and
 * dynamic imports alike, as repository-relative paths.
 *
 * @param root the repository (or scratch) root
 * @param folders folders and files under it to start from
 * @returns the imports between local files, and to anything else as its URL
 */
export async function importGraph(root: string, folders: readonly string[]): Promise<Edge[]> {
  const files: string[] = [];
  const walk = async (path: string): Promise<void> => {
    const info = await Deno.stat(join(root, path));
    if (info.isFile) {
      if (path.endsWith(".ts")) files.push(path);
      return;
    }
    for await (const entry of Deno.readDir(join(root, path))) {
      await walk(join(path, entry.name));
    }
  };
  for (const folder of folders) await walk(folder);
  const entry = await Deno.makeTempFile({ suffix: ".ts" });
  try {
    const lines = files.map((f) =>
      `import ${JSON.stringify(new URL(`file://${join(root, f)}`).href)};`
    );
    await Deno.writeTextFile(entry, lines.join("\n") + "\n");
    const { success, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", entry],
      cwd: root,
    }).output();
    if (!success) throw new Error(new TextDecoder().decode(stderr));
    const graph = JSON.parse(new TextDecoder().decode(stdout)) as {
      modules: {
        specifier: string;
        dependencies?: { code?: { specifier: string }; type?: { specifier: string } }[];
      }[];
    };
    const name = (specifier: string): string =>
      specifier.startsWith("file://") && fromFileUrl(specifier).startsWith(root)
        ? relative(root, fromFileUrl(specifier))
        : specifier;
    const edges: Edge[] = [];
    const entryUrl = new URL(`file://${entry}`).href;
    for (const module of graph.modules) {
      if (module.specifier === entryUrl) continue;
      for (const dep of module.dependencies ?? []) {
        for (const target of [dep.code, dep.type]) {
          if (target) edges.push({ from: name(module.specifier), to: name(target.specifier) });
        }
      }
    }
    return edges;
  } finally {
    await Deno.remove(entry);
  }
}

Deno.test("architecture: the import graph keeps every layering rule and has no cycle", async () => {
  const edges = await importGraph(ROOT, ["mod.ts", "core", "sdk", "natives"]);
  assert.ok(edges.length > 100, `only ${edges.length} imports found`);
  assert.deepEqual(ruleBreaks(edges), []);
});

Deno.test("architecture: each rule is reported when broken", () => {
  const graph: Edge[] = [
    { from: "sdk/native.ts", to: "core/instance/instance.ts" },
    { from: "natives/libc/mod.ts", to: "core/link/registry.ts" },
    { from: "natives/libc/mod.ts", to: "natives/libc/printf.ts" },
    { from: "natives/libc/mod.ts", to: "natives/base/mod.ts" },
    { from: "core/framework/app_manager.ts", to: "natives/base/mod.ts" },
    { from: "core/module/binary.ts", to: "core/instance/limits.ts" },
    { from: "core/instance/runtime.ts", to: "core/module/module.ts" },
    { from: "core/misc/x.ts", to: "sdk/errors.ts" },
    { from: "core/cli/cli.ts", to: "natives/libc/mod.ts" },
    { from: "mod.ts", to: "natives/libc/mod.ts" },
    { from: "core/web/mod.ts", to: "natives/libc/mod.ts" },
    { from: "core/web/mod.ts", to: "core/cli/cli.ts" },
    { from: "core/cli/a.ts", to: "core/cli/b.ts" },
    { from: "core/cli/b.ts", to: "core/cli/a.ts" },
    { from: "sdk/errors.ts", to: "npm:wabt@1" },
  ];
  assert.deepEqual(ruleBreaks(graph), [
    "sdk/ imports only sdk/: sdk/native.ts imports core/instance/instance.ts",
    "natives/ import only sdk/: natives/libc/mod.ts imports core/link/registry.ts",
    "natives/ import only sdk/: natives/libc/mod.ts imports natives/base/mod.ts",
    "only core/cli/, core/web/ and mod.ts name natives/: core/framework/app_manager.ts imports natives/base/mod.ts",
    "core/module/ may not import a later stage: core/module/binary.ts imports core/instance/limits.ts",
    "core/ holds only the stages module, link, instance, framework, web, host_link, cli: core/misc/x.ts imports sdk/errors.ts",
    "core/web/ may not import a later stage: core/web/mod.ts imports core/cli/cli.ts",
    "cycle among core/cli/a.ts, core/cli/b.ts",
  ]);
});

/**
 * Every non-ASCII character of the files `deno run mod.ts app.wasm` loads before any
 * dynamic import, as `path:line: character`. A source with one such character (an arrow or
 * a dash in a comment) reaches V8 as a two-byte string, together with its inline source map;
 * in 29 of mod.ts's modules that cost 1.4-2.5 ms of start-up (issue 17).
 *
 * @param root the repository (or scratch) root
 * @param entry the entry point under it
 * @returns one line per character, empty when all is ASCII
 */
export async function nonAsciiOnStartup(root: string, entry: string): Promise<string[]> {
  const { success, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
    cwd: root,
  }).output();
  if (!success) throw new Error(new TextDecoder().decode(stderr));
  const graph = JSON.parse(new TextDecoder().decode(stdout)) as {
    roots: string[];
    modules: {
      specifier: string;
      dependencies?: { code?: { specifier: string }; isDynamic?: boolean }[];
    }[];
  };
  const modules = new Map(graph.modules.map((m) => [m.specifier, m]));
  const seen = new Set<string>();
  const todo = [...graph.roots];
  while (todo.length > 0) {
    const specifier = todo.pop()!;
    if (seen.has(specifier)) continue;
    seen.add(specifier);
    for (const dep of modules.get(specifier)?.dependencies ?? []) {
      if (dep.code && !dep.isDynamic) todo.push(dep.code.specifier);
    }
  }
  const found: string[] = [];
  for (const specifier of [...seen].sort()) {
    if (!specifier.startsWith("file://")) continue;
    const path = fromFileUrl(specifier);
    const lines = (await Deno.readTextFile(path)).split("\n");
    lines.forEach((line, i) => {
      for (const c of line.match(/[\u0080-\u{10ffff}]/gu) ?? []) {
        found.push(`${relative(root, path)}:${i + 1}: ${c}`);
      }
    });
  }
  return found;
}

Deno.test("architecture: what `deno run mod.ts app.wasm` loads up front is ASCII", async () => {
  assert.deepEqual(await nonAsciiOnStartup(ROOT, "mod.ts"), []);
});

Deno.test("architecture: a non-ASCII character on the start-up path is reported", async () => {
  const dir = await Deno.makeTempDir({ prefix: "architecture_test_" });
  try {
    await Deno.writeTextFile(
      join(dir, "mod.ts"),
      `import "./a.ts";\nexport const later = () => import("./b.ts");\n`,
    );
    await Deno.writeTextFile(join(dir, "a.ts"), `// plain\n/** a \u2192 b */\nexport {};\n`);
    await Deno.writeTextFile(join(dir, "b.ts"), `// loaded later \u2014 not up front\n`);
    assert.deepEqual(await nonAsciiOnStartup(dir, "mod.ts"), ["a.ts:2: \u2192"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("architecture: the graph reader sees type-only and dynamic imports", async () => {
  const dir = await Deno.makeTempDir({ prefix: "architecture_test_" });
  try {
    await Deno.mkdir(join(dir, "sdk"));
    await Deno.mkdir(join(dir, "core/cli"), { recursive: true });
    await Deno.writeTextFile(
      join(dir, "sdk/a.ts"),
      `import type { B } from "../core/cli/b.ts";\nexport type A = B;\n`,
    );
    await Deno.writeTextFile(
      join(dir, "core/cli/b.ts"),
      `export interface B {}\nexport const load = () => import("../../sdk/a.ts");\n`,
    );
    const edges = await importGraph(dir, ["sdk", "core"]);
    assert.deepEqual(ruleBreaks(edges), [
      "sdk/ imports only sdk/: sdk/a.ts imports core/cli/b.ts",
      "cycle among core/cli/b.ts, sdk/a.ts",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
