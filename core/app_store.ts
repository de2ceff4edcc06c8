/**
 * Installed apps kept across restarts (`serve --state-dir`): each app's module as
 * `<name>.wasm` and a manifest `apps.json` listing names, install options and files in
 * install order. Every file is written to a temporary name and renamed into place, and the
 * manifest is renamed last, so a crash at any point leaves either the old state or the new
 * one, never a half-written app. WAMR forgets every install on restart.
 *
 * @module
 */

import type { AppManager, InstalledApp } from "./app_manager.ts";

/** The manifest's file name inside the state directory. */
export const MANIFEST_FILE = "apps.json";

/** One app in the manifest. */
export interface StoredApp {
  /** Installed name. */
  name: string;
  /** Module file, relative to the state directory. */
  file: string;
  /** App heap size. */
  heapSize: number;
  /** Timers the app may hold. */
  timers: number;
  /** Watchdog interval in ms. */
  watchdogMs: number;
}

interface _Manifest {
  version: 1;
  apps: StoredApp[];
}

/** The file name for an app: its name with anything but `[A-Za-z0-9_.-]` %-escaped. */
function _fileName(name: string): string {
  let out = "";
  for (const byte of new TextEncoder().encode(name)) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9_-]/.test(c) || (c === "." && out !== "")
      ? c
      : "%" + byte.toString(16).padStart(2, "0");
  }
  return out + ".wasm";
}

/**
 * Persists an app manager's installs in a directory and restores them.
 *
 * @example Keep installs across a restart
 * ```ts
 * import { AppManager } from "./app_manager.ts";
 * import { AppStore } from "./app_store.ts";
 * import { Runtime } from "./runtime.ts";
 * // (module (memory (export "memory") 1) (func (export "on_init")))
 * const wasm = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 96, 0, 0, 3, 2, 1, 0, 5, 3,
 *   1, 0, 1, 7, 20, 2, 6, 109, 101, 109, 111, 114, 121, 2, 0, 7, 111, 110, 95, 105, 110, 105,
 *   116, 0, 0, 10, 4, 1, 2, 0, 11]);
 * const dir = await Deno.makeTempDir();
 * const first = new AppManager(new Runtime(), { stdout: () => {} });
 * const store = new AppStore(dir);
 * store.attach(first);
 * first.install("demo", wasm);
 * store.detach(); // before close: closing uninstalls every app
 * first.close();
 * const second = new AppManager(new Runtime(), { stdout: () => {} });
 * const restored = new AppStore(dir).restore(second);
 * second.close();
 * await Deno.remove(dir, { recursive: true });
 * if (restored.join() !== "demo") throw new Error("unexpected");
 * ```
 */
export class AppStore {
  /** The state directory. */
  readonly dir: string;
  #apps: StoredApp[] = [];
  #detach: (() => void) | undefined;
  readonly #log: (message: string) => void;

  /**
   * Opens (and creates) a state directory and reads its manifest.
   *
   * @param dir the directory
   * @param log receives problems found while reading or writing (default: stderr)
   * @throws {SyntaxError} when the manifest exists but is not valid JSON
   */
  constructor(dir: string, log: (message: string) => void = (m) => console.error(m)) {
    this.dir = dir;
    this.#log = log;
    Deno.mkdirSync(dir, { recursive: true });
    let text: string | undefined;
    try {
      text = Deno.readTextFileSync(this.#path(MANIFEST_FILE));
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    if (text !== undefined) {
      const manifest = JSON.parse(text) as _Manifest;
      this.#apps = Array.isArray(manifest.apps) ? manifest.apps : [];
    }
  }

  /** The stored apps, in install order. */
  get apps(): readonly StoredApp[] {
    return this.#apps;
  }

  /**
   * Reinstalls the stored apps, oldest first. An app whose file is missing or no longer
   * installs is logged and dropped from the manifest; names already installed are skipped.
   *
   * @param manager the manager to install into
   * @returns the names installed
   */
  restore(manager: AppManager): string[] {
    const installed: string[] = [];
    const keep: StoredApp[] = [];
    for (const app of this.#apps) {
      if (manager.get(app.name)) {
        this.#log(`State: app "${app.name}" is already installed; the stored copy is ignored`);
        continue;
      }
      try {
        const bytes = Deno.readFileSync(this.#path(app.file));
        manager.install(app.name, bytes, {
          heapSize: app.heapSize,
          timers: app.timers,
          watchdogMs: app.watchdogMs,
        });
        installed.push(app.name);
        keep.push(app);
      } catch (error) {
        this.#log(`State: cannot restore app "${app.name}": ${(error as Error).message}`);
      }
    }
    if (keep.length !== this.#apps.length) {
      this.#apps = keep;
      this.#writeManifest();
    }
    return installed;
  }

  /**
   * Follows a manager's installs and uninstalls, writing each change before returning.
   *
   * @param manager the manager
   */
  attach(manager: AppManager): void {
    this.detach();
    const onInstall = (e: CustomEvent<{ app: InstalledApp }>) => this.#save(e.detail.app);
    const onUninstall = (e: CustomEvent<{ app: InstalledApp }>) => this.#remove(e.detail.app.name);
    manager.addEventListener("install", onInstall);
    manager.addEventListener("uninstall", onUninstall);
    this.#detach = () => {
      manager.removeEventListener("install", onInstall);
      manager.removeEventListener("uninstall", onUninstall);
    };
  }

  /** Stops following the manager (before shutting it down, so the apps stay stored). */
  detach(): void {
    this.#detach?.();
    this.#detach = undefined;
  }

  #path(file: string): string {
    return `${this.dir}/${file}`;
  }

  #writeAtomic(file: string, data: Uint8Array): void {
    const tmp = this.#path(`.${file}.${crypto.randomUUID()}.tmp`);
    try {
      Deno.writeFileSync(tmp, data);
      const f = Deno.openSync(tmp, { read: true, write: true });
      try {
        f.syncSync();
      } finally {
        f.close();
      }
      Deno.renameSync(tmp, this.#path(file));
    } catch (error) {
      try {
        Deno.removeSync(tmp);
      } catch {
        // Nothing was written.
      }
      throw error;
    }
  }

  #writeManifest(): void {
    const manifest: _Manifest = { version: 1, apps: this.#apps };
    this.#writeAtomic(
      MANIFEST_FILE,
      new TextEncoder().encode(JSON.stringify(manifest, null, 2) + "\n"),
    );
  }

  #save(app: InstalledApp): void {
    const entry: StoredApp = {
      name: app.name,
      file: _fileName(app.name),
      heapSize: app.heapSize,
      timers: app.timers.limit,
      watchdogMs: app.watchdogMs,
    };
    try {
      this.#writeAtomic(entry.file, app.instance.module.bytes);
      this.#apps = [...this.#apps.filter((a) => a.name !== app.name), entry];
      this.#writeManifest();
    } catch (error) {
      this.#log(`State: cannot store app "${app.name}": ${(error as Error).message}`);
    }
  }

  #remove(name: string): void {
    const entry = this.#apps.find((a) => a.name === name);
    if (!entry) return;
    try {
      this.#apps = this.#apps.filter((a) => a !== entry);
      this.#writeManifest();
      Deno.removeSync(this.#path(entry.file));
    } catch (error) {
      this.#log(`State: cannot forget app "${name}": ${(error as Error).message}`);
    }
  }
}
