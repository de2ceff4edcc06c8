/**
 * Installed apps kept across restarts (`serve --state-dir`): each app's module as
 * `<name>.wasm` (the name %-escaped; a long one cut and given a hash) and a manifest
 * `apps.json` listing names, install options and files in install order. Every file is
 * written to a temporary name, synced and renamed into place, and the manifest is renamed
 * last, so a crash at any point leaves either the old state or the new one, never a
 * half-written app; start-up removes the temporary files and unlisted modules a crash left.
 * An install from the host link is acknowledged only once its module and the manifest are
 * synced to disk (the store is the manager's {@linkcode AppKeeper}), written without
 * blocking: the other apps and the link are served meanwhile. WAMR forgets every install on
 * restart.
 *
 * Crash-loop protection: while code of an app runs, the file `running` names it (a
 * fixed-size record overwritten in place, not synced: a process that dies leaves it in the
 * page cache, which is all a restart needs). An app named there at start-up was running when
 * the process stopped, so it comes back suspended instead of taking the process down again;
 * suspensions are kept in the manifest until the app is resumed or reinstalled.
 *
 * @module
 */

import {
  type AppKeeper,
  type AppManager,
  AppManagerError,
  type AppMonitor,
  type InstalledApp,
} from "../framework/app_manager.ts";

/** The manifest's file name inside the state directory. */
export const MANIFEST_FILE = "apps.json";
/** The file naming the app whose code is running, inside the state directory. */
export const RUNNING_FILE = "running";

/** Bytes of a record in {@linkcode RUNNING_FILE}: room for a 127-byte name and a callback. */
const _RECORD_SIZE = 512;
/** First byte of a record while an app runs; a 0 there means none does. */
const _ACTIVE = 0x52; // "R"

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
  /** Deadline per callback in ms, when the install named one (else the server's default). */
  deadlineMs?: number;
  /** Memory cap in bytes, when the install named one (else the server's default). */
  maxMemory?: number;
  /** Why the app is suspended; absent while it may run. */
  suspended?: string;
}

interface _Manifest {
  version: 1;
  apps: StoredApp[];
}

/** Longest escaped name used whole in a file name (file names may have 255 bytes). */
const _WHOLE_NAME = 200;
/** How much of a longer escaped name a file name keeps, before `~<hash>`. */
const _NAME_PREFIX = 160;

/**
 * The file name for an app: its name with anything but `[A-Za-z0-9_.-]` %-escaped (a
 * leading `.` too), plus `.wasm`. An escaped name longer than 200 characters (a 127-byte
 * name of Chinese characters escapes to 381) keeps its first 160 and adds `~` and a hash of
 * the whole name; `~` is escaped in names, so such a file name is never another's whole.
 */
function _fileName(name: string): string {
  let out = "";
  for (const byte of new TextEncoder().encode(name)) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9_-]/.test(c) || (c === "." && out !== "")
      ? c
      : "%" + byte.toString(16).padStart(2, "0");
  }
  if (out.length <= _WHOLE_NAME) return out + ".wasm";
  // Cut before an escape, never inside one (every "%" in `out` starts one).
  const escape = out.lastIndexOf("%", _NAME_PREFIX - 1);
  const cut = escape > _NAME_PREFIX - 3 ? escape : _NAME_PREFIX;
  return `${out.slice(0, cut)}~${_fnv1a(name)}.wasm`;
}

/** FNV-1a of a string's UTF-16 units, as 8 hex digits. */
function _fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, "0");
}

/** Temporary files this store writes, and older versions wrote: `.<...>.<uuid>.tmp`. */
const _TEMP_FILE = /^\.(?:.+\.)?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.tmp$/;

/**
 * Persists an app manager's installs in a directory and restores them; apps that were
 * running when the process stopped come back suspended.
 *
 * @example Keep installs across a restart
 * ```ts
 * import assert from "node:assert/strict";
 * import { AppManager } from "../framework/app_manager.ts";
 * import { AppStore } from "./app_store.ts";
 * import { Runtime } from "../instance/runtime.ts";
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
 * assert.deepEqual(restored, ["demo"]);
 * ```
 */
export class AppStore implements AppKeeper {
  /** The state directory. */
  readonly dir: string;
  #apps: StoredApp[] = [];
  #detach: (() => void) | undefined;
  readonly #log: (message: string) => void;
  /** Apps {@linkcode AppStore.keep} stored: their "install" event writes nothing more. */
  readonly #kept = new WeakSet<InstalledApp>();
  /** Module files being written for apps not listed yet. */
  readonly #writing = new Set<string>();
  /** Manifest versions: the last one taken, and the newest renamed into place. */
  #version = 0;
  #written = 0;

  /**
   * Opens (and creates) a state directory and reads its manifest. An app the running file
   * names was running when the process stopped: it is marked suspended in the manifest.
   * Temporary files and modules the manifest does not list, which a crash may leave, are
   * removed (modules only when there is a manifest: without one the directory may not be
   * ours).
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
    this.#recover();
    this.#sweep(text !== undefined);
  }

  /** The stored apps, in install order. */
  get apps(): readonly StoredApp[] {
    return this.#apps;
  }

  /**
   * Reinstalls the stored apps, oldest first; suspended ones are installed suspended (not
   * instantiated). An app whose file is missing or no longer installs is logged and dropped
   * from the manifest; one refused by the manager's limits (apps at once, memory budget) is
   * logged and kept; names already installed are skipped.
   *
   * @param manager the manager to install into
   * @returns the names installed
   */
  restore(manager: AppManager): string[] {
    const unwatch = this.#detach ? undefined : this.#watch(manager);
    const installed: string[] = [];
    const keep: StoredApp[] = [];
    let changed = false;
    try {
      for (const stored of this.#apps) {
        if (manager.get(stored.name)) {
          this.#log(
            `State: app "${stored.name}" is already installed; the stored copy is ignored`,
          );
          continue;
        }
        let entry = stored;
        try {
          const bytes = Deno.readFileSync(this.#path(stored.file));
          const app = manager.install(stored.name, bytes, {
            heapSize: stored.heapSize,
            timers: stored.timers,
            watchdogMs: stored.watchdogMs,
            ...(stored.deadlineMs !== undefined ? { deadlineMs: stored.deadlineMs } : {}),
            ...(stored.maxMemory !== undefined ? { maxMemory: stored.maxMemory } : {}),
            ...(stored.suspended !== undefined ? { suspended: stored.suspended } : {}),
          });
          // Its start function or on_init may have overrun its deadline just now.
          if (app.status === "suspended" && app.reason !== stored.suspended) {
            entry = { ...stored, suspended: app.reason ?? "" };
            changed = true;
          }
          installed.push(stored.name);
          keep.push(entry);
        } catch (error) {
          const message = (error as Error).message;
          if (error instanceof AppManagerError && error.limit) {
            // Not the app's fault (fewer apps or less memory allowed now): keep it stored.
            keep.push(entry);
            this.#log(
              `State: cannot restore app "${stored.name}" now, it stays stored: ${message}`,
            );
          } else {
            changed = true;
            this.#log(`State: cannot restore app "${stored.name}": ${message}`);
          }
        }
      }
    } finally {
      unwatch?.();
    }
    if (changed) {
      this.#apps = keep;
      this.#tryWriteManifest();
    }
    return installed;
  }

  /**
   * Stores an app before its manager installs it: its module and then the manifest, each
   * written to a temporary file, synced, renamed into place and the directory synced, all
   * without blocking. The manager's `installKept` (the `/applet` protocol's installs) waits
   * for this while the store is attached.
   *
   * @param app the app about to be installed
   * @returns resolves once both are on disk
   * @throws {Error} (rejects) when either cannot be written; the app is then not stored
   */
  async keep(app: InstalledApp): Promise<void> {
    const entry = this.#entry(app);
    this.#writing.add(entry.file);
    try {
      await this.#writeDurably(entry.file, app.module.bytes);
    } finally {
      this.#writing.delete(entry.file);
    }
    this.#apps = [...this.#apps.filter((a) => a.name !== app.name), entry];
    this.#kept.add(app);
    const written = this.#written;
    try {
      await this.#writeManifestDurably();
    } catch (error) {
      this.#kept.delete(app);
      this.#apps = this.#apps.filter((a) => a !== entry);
      // Another write since may have put a manifest listing it in place.
      if (this.#written !== written) this.#tryWriteManifest();
      if (!this.#apps.some((a) => a.file === entry.file)) {
        Deno.remove(this.#path(entry.file)).catch(() => {});
      }
      throw error;
    }
  }

  /**
   * Follows a manager's installs, uninstalls, suspensions and resumptions, writing each
   * change before returning, marks which app's code is running, and becomes its
   * {@linkcode AppManager.keeper}, so installs from the host link are stored before they are
   * acknowledged.
   *
   * @param manager the manager
   */
  attach(manager: AppManager): void {
    this.detach();
    const onInstall = (e: CustomEvent<{ app: InstalledApp }>) => this.#save(e.detail.app);
    const onUninstall = (e: CustomEvent<{ app: InstalledApp }>) => this.#remove(e.detail.app.name);
    const onChange = (e: CustomEvent<{ app: InstalledApp }>) => this.#setSuspended(e.detail.app);
    manager.addEventListener("install", onInstall);
    manager.addEventListener("uninstall", onUninstall);
    manager.addEventListener("suspend", onChange);
    manager.addEventListener("resume", onChange);
    const unwatch = this.#watch(manager);
    manager.keeper = this;
    this.#detach = () => {
      manager.removeEventListener("install", onInstall);
      manager.removeEventListener("uninstall", onUninstall);
      manager.removeEventListener("suspend", onChange);
      manager.removeEventListener("resume", onChange);
      if (manager.keeper === this) manager.keeper = undefined;
      unwatch();
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

  /** Marks the app the running file names suspended, then clears the file. */
  #recover(): void {
    let bytes: Uint8Array;
    try {
      bytes = Deno.readFileSync(this.#path(RUNNING_FILE));
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return;
      throw error;
    }
    const record = _parseRecord(bytes);
    if (!record) return;
    const index = this.#apps.findIndex((a) => a.name === record.name);
    if (index >= 0) {
      const reason = `was running ${record.what} when the process stopped`;
      this.#apps[index] = { ...this.#apps[index]!, suspended: reason };
      this.#log(
        `State: app "${record.name}" ${reason}; it stays suspended until resumed or reinstalled`,
      );
      this.#tryWriteManifest();
    }
    Deno.writeFileSync(this.#path(RUNNING_FILE), new Uint8Array(0));
  }

  /** Makes the manager mark running code in the running file; returns the undo. */
  #watch(manager: AppManager): () => void {
    let marker: RunningMarker;
    try {
      marker = new RunningMarker(this.#path(RUNNING_FILE));
    } catch (error) {
      this.#log(`State: cannot open "${RUNNING_FILE}": ${(error as Error).message}`);
      return () => {};
    }
    manager.monitor = marker;
    return () => {
      if (manager.monitor === marker) manager.monitor = undefined;
      marker.close();
    };
  }

  /**
   * Removes what a crash may leave: temporary files, and modules the manifest does not list
   * (only when there is a manifest).
   */
  #sweep(haveManifest: boolean): void {
    const listed = new Set(this.#apps.map((a) => a.file));
    let temps = 0;
    let orphans = 0;
    for (const entry of Deno.readDirSync(this.dir)) {
      if (!entry.isFile) continue;
      const temp = _TEMP_FILE.test(entry.name);
      const orphan = !temp && haveManifest && entry.name.endsWith(".wasm") &&
        !listed.has(entry.name);
      if (!temp && !orphan) continue;
      try {
        Deno.removeSync(this.#path(entry.name));
        if (temp) temps++;
        else orphans++;
      } catch (error) {
        this.#log(`State: cannot remove "${entry.name}": ${(error as Error).message}`);
      }
    }
    if (temps + orphans > 0) {
      this.#log(
        `State: removed ${temps} temporary and ${orphans} unlisted module files a crash left`,
      );
    }
  }

  /** The manifest entry for an app, with a file no other stored app uses. */
  #entry(app: InstalledApp): StoredApp {
    const { deadlineMs, maxMemory } = app.options;
    let file = _fileName(app.name);
    const taken = (f: string) =>
      this.#writing.has(f) || this.#apps.some((a) => a.file === f && a.name !== app.name);
    for (let n = 2; taken(file); n++) file = file.replace(/(?:~\d+)?\.wasm$/, `~${n}.wasm`);
    return {
      name: app.name,
      file,
      heapSize: app.heapSize,
      timers: app.timers.limit,
      watchdogMs: app.watchdogMs,
      ...(deadlineMs !== undefined ? { deadlineMs } : {}),
      ...(maxMemory !== undefined ? { maxMemory } : {}),
      ...(app.status === "suspended" ? { suspended: app.reason ?? "" } : {}),
    };
  }

  /** A temporary file's path: short, whatever the name of the file it becomes. */
  #tempPath(): string {
    return this.#path(`.${crypto.randomUUID()}.tmp`);
  }

  /** Writes a file as {@linkcode AppStore.keep} does: synced, renamed, directory synced. */
  async #writeDurably(file: string, data: Uint8Array): Promise<void> {
    const tmp = this.#tempPath();
    try {
      const f = await Deno.open(tmp, { write: true, createNew: true });
      try {
        for (let at = 0; at < data.length;) at += await f.write(data.subarray(at));
        await f.syncData();
      } finally {
        f.close();
      }
      await Deno.rename(tmp, this.#path(file));
    } catch (error) {
      await Deno.remove(tmp).catch(() => {});
      throw error;
    }
    await this.#syncDir();
  }

  /**
   * Writes the manifest as it is now without blocking. A manifest taken later and already
   * renamed into place wins (it lists what this one does, or knows better).
   */
  async #writeManifestDurably(): Promise<void> {
    const version = ++this.#version;
    const tmp = this.#tempPath();
    try {
      const f = await Deno.open(tmp, { write: true, createNew: true });
      try {
        const data = this.#manifestBytes();
        for (let at = 0; at < data.length;) at += await f.write(data.subarray(at));
        await f.syncData();
      } finally {
        f.close();
      }
      // Synchronous from the check to the rename: no other write can come in between.
      if (this.#written > version) Deno.removeSync(tmp);
      else {
        Deno.renameSync(tmp, this.#path(MANIFEST_FILE));
        this.#written = version;
      }
    } catch (error) {
      await Deno.remove(tmp).catch(() => {});
      throw error;
    }
    await this.#syncDir();
  }

  /** Makes renames in the directory durable (where directories can be synced). */
  async #syncDir(): Promise<void> {
    let dir: Deno.FsFile;
    try {
      dir = await Deno.open(this.dir, { read: true });
    } catch {
      return; // Windows cannot open a directory; its renames are journaled.
    }
    try {
      await dir.sync();
    } finally {
      dir.close();
    }
  }

  #manifestBytes(): Uint8Array {
    const manifest: _Manifest = { version: 1, apps: this.#apps };
    return new TextEncoder().encode(JSON.stringify(manifest, null, 2) + "\n");
  }

  #writeAtomic(file: string, data: Uint8Array): void {
    const tmp = this.#tempPath();
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
    const version = ++this.#version;
    this.#writeAtomic(MANIFEST_FILE, this.#manifestBytes());
    this.#written = version;
  }

  #tryWriteManifest(): void {
    try {
      this.#writeManifest();
    } catch (error) {
      this.#log(`State: cannot write "${MANIFEST_FILE}": ${(error as Error).message}`);
    }
  }

  /** Stores an app installed without {@linkcode AppStore.keep} (by `AppManager.install`). */
  #save(app: InstalledApp): void {
    if (this.#kept.has(app)) return;
    const entry = this.#entry(app);
    try {
      this.#writeAtomic(entry.file, app.module.bytes);
      this.#apps = [...this.#apps.filter((a) => a.name !== app.name), entry];
      this.#writeManifest();
    } catch (error) {
      this.#log(`State: cannot store app "${app.name}": ${(error as Error).message}`);
    }
  }

  #setSuspended(app: InstalledApp): void {
    const index = this.#apps.findIndex((a) => a.name === app.name);
    if (index < 0) return;
    const { suspended: _, ...entry } = this.#apps[index]!;
    const updated: StoredApp = app.status === "suspended"
      ? { ...entry, suspended: app.reason ?? "" }
      : entry;
    if (updated.suspended === this.#apps[index]!.suspended) return;
    this.#apps = this.#apps.map((a, i) => i === index ? updated : a);
    this.#tryWriteManifest();
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

/**
 * An {@linkcode AppMonitor} that names the app whose code runs in a file, so a restart can
 * tell which app was running when the process stopped: a fixed-size record overwritten in
 * place (a seek and a write, no sync) when an app is entered, and cleared in a microtask
 * once no app runs. Callbacks in a row in one drain so cost one write each, none when the
 * same app and callback run again, and one clear per drain. The price: a process killed in
 * the microseconds between a callback's end and that microtask blames the app that ran.
 *
 * @example The record names the app while it runs
 * ```ts
 * import assert from "node:assert/strict";
 * import { AppManager } from "../framework/app_manager.ts";
 * import { RunningMarker } from "./app_store.ts";
 * import { Runtime } from "../instance/runtime.ts";
 * const dir = await Deno.makeTempDir();
 * const marker = new RunningMarker(`${dir}/running`);
 * const manager = new AppManager(new Runtime(), { stdout: () => {} });
 * // (module (memory (export "memory") 1) (func (export "on_init")))
 * const wasm = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 96, 0, 0, 3, 2, 1, 0, 5, 3,
 *   1, 0, 1, 7, 20, 2, 6, 109, 101, 109, 111, 114, 121, 2, 0, 7, 111, 110, 95, 105, 110, 105,
 *   116, 0, 0, 10, 4, 1, 2, 0, 11]);
 * const app = manager.install("demo", wasm);
 * marker.enter(app, "on_init");
 * assert.deepEqual(RunningMarker.read(`${dir}/running`), { name: "demo", what: "on_init" });
 * marker.exit(app);
 * await Promise.resolve();
 * assert.equal(RunningMarker.read(`${dir}/running`), undefined);
 * marker.close();
 * manager.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class RunningMarker implements AppMonitor {
  readonly #file: Deno.FsFile;
  readonly #stack: Uint8Array[] = [];
  readonly #records = new WeakMap<InstalledApp, Map<string, Uint8Array>>();
  /** What the file says now. */
  #onDisk: Uint8Array | undefined;
  #clearing = false;
  #closed = false;

  /**
   * Opens (and creates) the file; nothing is running yet.
   *
   * @param path the file
   */
  constructor(path: string) {
    this.#file = Deno.openSync(path, { write: true, create: true });
    this.#write(_IDLE);
  }

  /**
   * Reads what a marker file says is running.
   *
   * @param path the file
   * @returns the app's name and what of it ran, or undefined when nothing was running
   */
  static read(path: string): { name: string; what: string } | undefined {
    try {
      return _parseRecord(Deno.readFileSync(path));
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return undefined;
      throw error;
    }
  }

  /**
   * Names an app as running.
   *
   * @param app the app
   * @param what the callback or start function about to run
   */
  enter(app: InstalledApp, what: string): void {
    let records = this.#records.get(app);
    if (!records) this.#records.set(app, records = new Map());
    let record = records.get(what);
    if (!record) records.set(what, record = _record(app.name, what));
    this.#stack.push(record);
    this.#write(record);
  }

  /**
   * The last app entered stopped running; the one it was called from (if any) runs again,
   * else the file is cleared in a microtask.
   *
   * @param _app the app
   */
  exit(_app: InstalledApp): void {
    this.#stack.pop();
    const outer = this.#stack.at(-1);
    if (outer) this.#write(outer);
    else if (!this.#clearing) {
      this.#clearing = true;
      queueMicrotask(() => {
        this.#clearing = false;
        if (this.#stack.length === 0) this.#write(_IDLE);
      });
    }
  }

  /** Clears the record and closes the file. */
  close(): void {
    if (this.#closed) return;
    this.#stack.length = 0;
    this.#write(_IDLE);
    this.#closed = true;
    this.#file.close();
  }

  #write(record: Uint8Array): void {
    if (this.#closed || record === this.#onDisk) return;
    this.#file.seekSync(0, Deno.SeekMode.Start);
    for (let at = 0; at < record.length;) at += this.#file.writeSync(record.subarray(at));
    this.#onDisk = record;
  }
}

/** What clears a record: a 0 where the record starts. */
const _IDLE = new Uint8Array(1);

/** `R<what>\n<name>\n`, zero-padded to the record size (`what` cut to fit). */
function _record(name: string, what: string): Uint8Array {
  const encoder = new TextEncoder();
  const tail = encoder.encode(`\n${name}\n`);
  const head = encoder.encode(what).subarray(0, _RECORD_SIZE - 1 - tail.length);
  const record = new Uint8Array(_RECORD_SIZE);
  record[0] = _ACTIVE;
  record.set(head, 1);
  record.set(tail, 1 + head.length);
  return record;
}

/** The record in a marker file, when it names an app. */
function _parseRecord(bytes: Uint8Array): { name: string; what: string } | undefined {
  if (bytes[0] !== _ACTIVE) return undefined;
  let end = bytes.indexOf(0, 1);
  if (end < 0) end = bytes.length;
  const text = new TextDecoder().decode(bytes.subarray(1, end));
  const nl = text.indexOf("\n");
  if (nl < 0 || !text.endsWith("\n") || text.length - nl < 3) return undefined;
  return { what: text.slice(0, nl), name: text.slice(nl + 1, -1) };
}
