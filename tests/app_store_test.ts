import assert from "node:assert/strict";
import { AppManager, type InstalledApp } from "../core/framework/app_manager.ts";
import {
  AppStore,
  MANIFEST_FILE,
  RUNNING_FILE,
  RunningMarker,
} from "../core/host_link/app_store.ts";
import { ManualClock } from "../sdk/clock.ts";
import { defineNativeLibrary } from "../sdk/native.ts";
import { Runtime } from "../core/instance/runtime.ts";
import base from "../natives/base/mod.ts";
import { wat } from "./_wat.ts";

/** on_init calls `snap()`, which copies the running file as it is at that moment. */
const SNAPPER = wat(`(module
  (import "env" "snap" (func $snap))
  (memory (export "memory") 1)
  (func (export "on_init") (call $snap))
  (func (export "on_destroy")))`);

async function withDir(fn: (dir: string) => void | Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** A manager whose apps may call `snap()`; `snaps` holds the running file at each call. */
function setup(dir: string, options: { maxApps?: number } = {}) {
  const snaps: Uint8Array[] = [];
  const snap = defineNativeLibrary({
    name: "snap",
    symbols: (native) => ({
      snap: native("()", () => {
        snaps.push(Deno.readFileSync(`${dir}/${RUNNING_FILE}`));
      }),
    }),
  });
  let out = "";
  const manager = new AppManager(new Runtime({ plugins: [base, snap] }), {
    clock: new ManualClock(),
    stdout: (b) => out += new TextDecoder().decode(b),
    ...options,
  });
  const logs: string[] = [];
  const store = new AppStore(dir, (m) => logs.push(m));
  return { manager, store, snaps, logs, output: () => out };
}

function manifest(dir: string): { name: string; suspended?: string }[] {
  return JSON.parse(Deno.readTextFileSync(`${dir}/${MANIFEST_FILE}`)).apps;
}

Deno.test("app store: while an app's code runs the running file names it, and none after", async () => {
  await withDir(async (dir) => {
    const s = setup(dir);
    s.store.attach(s.manager);
    s.manager.install("snapper", SNAPPER);
    assert.equal(s.snaps.length, 1);
    assert.equal(new TextDecoder().decode(s.snaps[0]!.subarray(0, 18)), "Ron_init\nsnapper\n\0");
    assert.equal(s.snaps[0]!.length, 512, "a fixed-size record, overwritten in place");
    await Promise.resolve();
    assert.equal(RunningMarker.read(`${dir}/${RUNNING_FILE}`), undefined, "cleared");
    s.store.detach();
    s.manager.close();
  });
});

Deno.test("app store: an app that was running on_init when the process stopped comes back suspended", async () => {
  await withDir((dir) => {
    const first = setup(dir);
    first.store.attach(first.manager);
    first.manager.install("snapper", SNAPPER);
    first.manager.install("other", SNAPPER);
    first.store.detach();
    first.manager.close();
    // The process "dies" inside snapper's on_init: the file is left as it was then.
    Deno.writeFileSync(`${dir}/${RUNNING_FILE}`, first.snaps[0]!);

    const second = setup(dir);
    const reason = "was running on_init when the process stopped";
    assert.deepEqual(second.logs, [
      `State: app "snapper" ${reason}; it stays suspended until resumed or reinstalled`,
    ]);
    assert.deepEqual(manifest(dir).map((a) => [a.name, a.suspended]), [
      ["snapper", reason],
      ["other", undefined],
    ]);
    assert.deepEqual(second.store.restore(second.manager), ["snapper", "other"]);
    const snapper = second.manager.get("snapper")!;
    assert.deepEqual([snapper.status, snapper.reason], ["suspended", reason]);
    assert.equal(second.snaps.length, 1, "only other's on_init ran");
    assert.match(second.output(), new RegExp(`WASM app 'snapper' suspended: ${reason}\n`));

    second.store.attach(second.manager);
    second.manager.resume("snapper");
    assert.equal(snapper.status, "running");
    assert.deepEqual(manifest(dir).map((a) => a.suspended), [undefined, undefined]);
    second.store.detach();
    second.manager.close();

    // Started again: both apps run.
    const third = setup(dir);
    third.store.restore(third.manager);
    assert.deepEqual(third.manager.apps.map((a) => a.status), ["running", "running"]);
    third.manager.close();
  });
});

Deno.test("app store: a reinstall clears a stored suspension", async () => {
  await withDir((dir) => {
    const first = setup(dir);
    first.store.attach(first.manager);
    first.manager.install("snapper", SNAPPER);
    first.store.detach();
    first.manager.close();
    Deno.writeFileSync(`${dir}/${RUNNING_FILE}`, first.snaps[0]!);
    const second = setup(dir);
    second.store.restore(second.manager);
    second.store.attach(second.manager);
    second.manager.uninstall("snapper");
    second.manager.install("snapper", SNAPPER);
    assert.deepEqual(manifest(dir).map((a) => [a.name, a.suspended]), [["snapper", undefined]]);
    second.store.detach();
    second.manager.close();
  });
});

Deno.test("app store: an app the manager's limits refuse at restore stays stored", async () => {
  await withDir((dir) => {
    const first = setup(dir);
    first.store.attach(first.manager);
    first.manager.install("a", SNAPPER);
    first.manager.install("b", SNAPPER);
    first.store.detach();
    first.manager.close();
    const second = setup(dir, { maxApps: 1 });
    assert.deepEqual(second.store.restore(second.manager), ["a"]);
    assert.deepEqual(second.logs, [
      'State: cannot restore app "b" now, it stays stored: ' +
      "Install Applet failed: exceed max app installations.",
    ]);
    assert.deepEqual(manifest(dir).map((a) => a.name), ["a", "b"]);
    second.manager.close();
  });
});

Deno.test("app store: restore marks the on_init of each restored app too", async () => {
  await withDir(async (dir) => {
    const first = setup(dir);
    first.store.attach(first.manager);
    first.manager.install("snapper", SNAPPER);
    first.store.detach();
    first.manager.close();
    const second = setup(dir);
    second.store.restore(second.manager);
    Deno.writeFileSync(`${dir}/snap`, second.snaps[0]!);
    assert.deepEqual(RunningMarker.read(`${dir}/snap`), { name: "snapper", what: "on_init" });
    await Promise.resolve();
    assert.equal(RunningMarker.read(`${dir}/${RUNNING_FILE}`), undefined);
    second.manager.close();
  });
});

Deno.test("app store: RunningMarker: nested calls name the inner app, then the outer one; cleared in a microtask", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/${RUNNING_FILE}`;
    const marker = new RunningMarker(path);
    const a = { name: "a" } as InstalledApp;
    const b = { name: "b".repeat(127) } as InstalledApp;
    marker.enter(a, "on_timer_callback");
    marker.enter(b, "x".repeat(1000));
    assert.deepEqual(RunningMarker.read(path), { name: b.name, what: "x".repeat(382) });
    marker.exit(b);
    assert.deepEqual(RunningMarker.read(path), { name: "a", what: "on_timer_callback" });
    marker.exit(a);
    assert.deepEqual(RunningMarker.read(path), { name: "a", what: "on_timer_callback" });
    await Promise.resolve();
    assert.equal(RunningMarker.read(path), undefined, "cleared once no app runs");
    marker.enter(a, "on_request");
    marker.close();
    assert.equal(RunningMarker.read(path), undefined, "close clears it");
  });
});
