/**
 * Plugin loading for every command: a built-in by name, or a module by path or URL whose
 * default export is a native library, with `key=value` options after the spec.
 *
 * @module
 */

import { isNativeLibrary, type NativeLibrary } from "../../sdk/native.ts";
import type { WasiLibrary } from "../../natives/wasi/mod.ts";

/**
 * Built-in plugins by name: a library, or a function importing it on first use (so plugins
 * an app does not ask for cost no start-up time).
 */
export type BuiltinPlugins = Record<string, NativeLibrary | (() => Promise<NativeLibrary>)>;

/**
 * Loads a plugin by built-in name, path or URL.
 *
 * @param spec `libc`, `./x.ts`, `/abs/x.ts` or `https://.../mod.ts`
 * @param builtins built-in plugins by name
 * @returns the plugin's native library
 * @throws {Error} naming the plugin when it cannot be loaded or exports no library
 */
export async function loadPlugin(
  spec: string,
  builtins: BuiltinPlugins,
): Promise<NativeLibrary> {
  const [where, ...settings] = spec.split(",");
  const library = await _importPlugin(where!, builtins);
  if (settings.length === 0) return library;
  if (!library.configure) {
    throw new Error(`Cannot load plugin "${where}": it takes no options`);
  }
  const options: Record<string, string> = {};
  for (const setting of settings) {
    const eq = setting.indexOf("=");
    if (eq <= 0) {
      throw new Error(`Cannot load plugin "${where}": option "${setting}" is not key=value`);
    }
    options[setting.slice(0, eq)] = setting.slice(eq + 1);
  }
  try {
    return library.configure(options);
  } catch (e) {
    throw new Error(`Cannot load plugin "${where}": ${(e as Error).message}`);
  }
}

/**
 * A built-in plugin by name, importing it if it is lazy.
 *
 * @param builtins the built-in plugins
 * @param name e.g. `"libc"`
 * @returns the library, or undefined when there is no such built-in
 */
export async function builtinPlugin(
  builtins: BuiltinPlugins,
  name: string,
): Promise<NativeLibrary | undefined> {
  if (!Object.hasOwn(builtins, name)) return undefined;
  const entry = builtins[name]!;
  return typeof entry === "function" ? await entry() : entry;
}

/**
 * WASI for event-driven apps (`apps`, `serve`): apps built with wasi-libc print through it.
 * They get no preopened directories and an empty standard input (under `serve --stdio` the
 * process's own is the host link); `--plugin wasi,dir=HOST::GUEST` replaces it.
 *
 * @param builtins the built-in plugins; `wasi` is imported when they lack it
 * @returns the library
 */
export async function frameworkWasi(builtins: BuiltinPlugins): Promise<NativeLibrary> {
  const wasi = (await builtinPlugin(builtins, "wasi") ??
    (await import("../../natives/wasi/mod.ts")).default) as WasiLibrary;
  return wasi.configure({ stdin: { readSync: () => null } });
}

/**
 * The extensions WAMR's app-manager runtime has built in, which `apps` and `serve` load by
 * default: sensors (WAMR's test sensors) and connections (nothing reachable until the
 * operator allows it with `--allow-connect`).
 *
 * @param builtins the built-in plugins; `sensor` and `connection` are imported when they lack them
 * @returns the libraries
 */
export async function frameworkExtensions(builtins: BuiltinPlugins): Promise<NativeLibrary[]> {
  return await Promise.all([
    builtinPlugin(builtins, "sensor").then(async (given) =>
      given ?? (await import("../../natives/sensor/mod.ts")).default
    ),
    builtinPlugin(builtins, "connection").then(async (given) =>
      given ?? (await import("../../natives/connection/mod.ts")).default
    ),
  ]);
}

/**
 * Applies `--allow-connect` to the connection library among `plugins`: its entries join what
 * the library allows already (`--plugin connection,allow=...`).
 *
 * @param plugins the libraries to load; the one named `connection` is replaced
 * @param entries the flag's values, each `HOST:PORT,...`
 * @throws {Error} naming an entry that is neither `HOST:PORT` nor a device path, or when no
 *   connection library is loaded
 */
export function allowConnections(plugins: NativeLibrary[], entries: readonly string[]): void {
  if (entries.length === 0) return;
  const at = plugins.findIndex((p) => p.name === "connection");
  const library = plugins[at];
  if (!library?.configure) {
    throw new Error("--allow-connect needs the connection plugin (--plugin connection)");
  }
  const given = library.options?.allow;
  const allow = [typeof given === "string" ? given : "", ...entries].filter((e) => e !== "");
  try {
    plugins[at] = library.configure({ allow: allow.join(",") });
  } catch (e) {
    throw new Error((e as Error).message.replace(/^Plugin "connection": /, ""));
  }
}

async function _importPlugin(
  spec: string,
  builtins: BuiltinPlugins,
): Promise<NativeLibrary> {
  const builtin = await builtinPlugin(builtins, spec);
  if (builtin) return builtin;
  if (/\.(so|dylib|dll)$/.test(spec)) {
    throw new Error(
      `Cannot load plugin "${spec}": native shared libraries do not load into micro-runtime; ` +
        `write the library as a TypeScript module (defineNativeLibrary)`,
    );
  }
  const isPath = /^(\.{0,2}\/|[A-Za-z]:[\\/])/.test(spec) || /\.(ts|js|mjs|mts)$/.test(spec);
  const isUrl = /^(https?|file|data|jsr|npm):/.test(spec);
  if (!isPath && !isUrl) {
    throw new Error(
      `Cannot load plugin "${spec}": no built-in plugin of that name ` +
        `(built-ins: ${Object.keys(builtins).join(", ")}); use a path like ./${spec}.ts`,
    );
  }
  const url = isUrl ? spec : new URL(spec, `file://${Deno.cwd()}/`).href;
  let mod: Record<string, unknown>;
  try {
    mod = await import(url);
  } catch (e) {
    throw new Error(`Cannot load plugin "${spec}": ${(e as Error).message.split("\n")[0]}`);
  }
  if (!isNativeLibrary(mod.default)) {
    throw new Error(
      `Cannot load plugin "${spec}": its default export is not a native library ` +
        `(use defineNativeLibrary)`,
    );
  }
  return mod.default;
}
