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
import { Action } from "../sdk/packet.ts";
import { decode } from "../sdk/attr_container.ts";
import type { HostClient } from "../sdk/host_client.ts";
import { example, serve } from "./_serve.ts";

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

function manifest(dir: string): { name: string; file: string; suspended?: string }[] {
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

// ---- durable installs: acknowledged only once stored; any name the protocol takes ---------

/** The smallest app: a memory and an empty on_init. */
const TINY = wat(`(module (memory (export "memory") 1) (func (export "on_init")))`);

/** Installs over the /applet protocol, as the host link does; resolves with the reply. */
function installOverLink(manager: AppManager, name: string, bytes = TINY) {
  return manager.request({
    url: `/applet?name=${name}`,
    action: Action.PUT,
    payload: bytes,
  }, { timeout: 30_000 });
}

function realManager() {
  let out = "";
  const manager = new AppManager(new Runtime({ plugins: [base] }), {
    stdout: (b) => out += new TextDecoder().decode(b),
  });
  return { manager, output: () => out };
}

Deno.test("app store: an install over the link is acknowledged only once its module and the manifest are on disk", async () => {
  await withDir(async (dir) => {
    const { manager } = realManager();
    const logs: string[] = [];
    const store = new AppStore(dir, (m) => logs.push(m));
    store.attach(manager);
    assert.equal(manager.keeper, store);
    // Hold the store back to look at the install while it is being stored.
    const gate = Promise.withResolvers<void>();
    let storing: InstalledApp | undefined;
    manager.keeper = {
      async keep(app) {
        storing = app;
        await gate.promise;
        await store.keep(app);
      },
    };
    let acknowledged = false;
    const reply = installOverLink(manager, "demo").then((r) => (acknowledged = true, r));
    const query = await manager.request({ url: "/applet" });
    assert.equal(query.status, 69, "the manager serves on meanwhile");
    assert.equal(decode(query.payload!).get("num")?.value, 0, "not listed");
    assert.equal(storing?.name, "demo");
    assert.equal(manager.get("demo"), undefined);
    assert.equal(acknowledged, false);
    assert.equal(
      (await installOverLink(manager, "demo")).status,
      160,
      "its name is taken meanwhile",
    );
    gate.resolve();
    assert.equal((await reply).status, 65);
    assert.equal(manager.get("demo")?.status, "running");
    assert.deepEqual(manifest(dir).map((a) => a.name), ["demo"]);
    assert.deepEqual(Deno.readFileSync(`${dir}/demo.wasm`), TINY);
    assert.deepEqual(logs, []);
    manager.keeper = store;
    store.detach();
    assert.equal(manager.keeper, undefined);
    manager.close();
  });
});

Deno.test("app store: a name too long to be a file name whole is stored under a hash and restored", async () => {
  await withDir(async (dir) => {
    // 24 characters, 72 bytes, 216 escaped (the issue's), and the longest the protocol takes.
    const names = [
      "应用程序名称测试应用程序名称测试应用程序名称测试",
      "名".repeat(42),
      "x".repeat(127),
    ];
    const first = realManager();
    const store = new AppStore(dir, () => {});
    store.attach(first.manager);
    for (const name of names) {
      assert.equal((await installOverLink(first.manager, name)).status, 65);
    }
    store.detach();
    first.manager.close();
    const files = manifest(dir).map((a) => a.file);
    assert.equal(new Set(files).size, 3);
    for (const file of files) assert.ok(new TextEncoder().encode(file).length <= 200, file);
    assert.match(files[0]!, /^%e5%ba%94.*~[0-9a-f]{8}\.wasm$/);
    assert.equal(files[2], "x".repeat(127) + ".wasm");
    const second = realManager();
    assert.deepEqual(new AppStore(dir, () => {}).restore(second.manager), names);
    second.manager.close();
  });
});

Deno.test("app store: an install the state directory cannot store is refused and not installed", async () => {
  await withDir(async (dir) => {
    const state = `${dir}/state`;
    const { manager, output } = realManager();
    const logs: string[] = [];
    const store = new AppStore(state, (m) => logs.push(m));
    store.attach(manager);
    assert.equal((await installOverLink(manager, "kept")).status, 65);
    // Root may write anywhere: a file where the directory was stops every write.
    Deno.removeSync(state, { recursive: true });
    Deno.writeTextFileSync(state, "not a directory");
    const reply = await installOverLink(manager, "lost");
    assert.equal(reply.status, 160);
    assert.match(
      String(decode(reply.payload!).get("error message")?.value),
      /^Install WASM app failed: cannot store it: Not a directory/,
    );
    assert.equal(manager.get("lost"), undefined);
    assert.deepEqual(manager.apps.map((a) => a.name), ["kept"]);
    assert.match(output(), /Install WASM app failed: cannot store it: /);
    // The name is free again.
    Deno.removeSync(state);
    Deno.mkdirSync(state);
    assert.equal((await installOverLink(manager, "lost")).status, 65);
    store.detach();
    manager.close();
  });
});

Deno.test("app store: installs stored at once, with uninstalls in between, all end up listed", async () => {
  await withDir(async (dir) => {
    const { manager } = realManager();
    const store = new AppStore(dir, () => {});
    store.attach(manager);
    manager.install("sync", TINY);
    const names = Array.from({ length: 12 }, (_, i) => `app${i}`);
    const replies = names.map((name) => installOverLink(manager, name));
    manager.uninstall("sync");
    assert.deepEqual((await Promise.all(replies)).map((r) => r.status), Array(12).fill(65));
    assert.deepEqual(manifest(dir).map((a) => a.name).sort(), names.sort());
    store.detach();
    manager.close();
  });
});

// ---- start-up removes what a crash left -------------------------------------------------------

Deno.test("app store: start-up removes temporary files and unlisted modules, and restores the apps", async () => {
  await withDir((dir) => {
    const first = setup(dir);
    first.store.attach(first.manager);
    first.manager.install("a", TINY);
    first.manager.install("b", TINY);
    first.store.detach();
    first.manager.close();
    const uuid = () => crypto.randomUUID();
    const stale = [`.${uuid()}.tmp`, `.a.wasm.${uuid()}.tmp`, `.apps.json.${uuid()}.tmp`];
    for (const name of stale) Deno.writeFileSync(`${dir}/${name}`, TINY.subarray(0, 7));
    Deno.writeFileSync(`${dir}/orphan.wasm`, TINY);
    Deno.writeFileSync(`${dir}/%e5%90%8d~0badf00d.wasm`, TINY);
    // Not ours: left alone.
    Deno.writeTextFileSync(`${dir}/notes.txt`, "mine");
    Deno.writeTextFileSync(`${dir}/.half.tmp`, "mine");

    const second = setup(dir);
    assert.deepEqual(second.logs, [
      "State: removed 3 temporary and 2 unlisted module files a crash left",
    ]);
    const files = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
    assert.deepEqual(files, [
      ".half.tmp",
      "a.wasm",
      MANIFEST_FILE,
      "b.wasm",
      "notes.txt",
      RUNNING_FILE,
    ]);
    assert.deepEqual(second.store.restore(second.manager), ["a", "b"]);
    second.manager.close();
  });
});

Deno.test("app store: without a manifest, modules in the directory are not taken for orphans", async () => {
  await withDir((dir) => {
    Deno.writeFileSync(`${dir}/mine.wasm`, TINY);
    const s = setup(dir);
    assert.deepEqual(s.logs, []);
    assert.ok([...Deno.readDirSync(dir)].some((e) => e.name === "mine.wasm"));
    assert.deepEqual(s.store.restore(s.manager), []);
    s.manager.close();
  });
});

// ---- the same, in a real `serve` process, killed with SIGKILL ---------------------------------

async function listed(client: HostClient): Promise<string[]> {
  const c = (await client.query()).container!;
  return Array.from({ length: Number(c.get("num")!.value) }, (_, i) => {
    return String(c.get(`applet${i + 1}`)!.value);
  });
}

Deno.test({
  name:
    "app store (serve process): the issue's 24-character Chinese name is acknowledged and back after kill -9",
  sanitizeResources: false,
  fn: async () => {
    await withDir(async (dir) => {
      const name = "应用程序名称测试应用程序名称测试应用程序名称测试";
      let server = await serve(["--state-dir", dir]);
      try {
        const client = await server.connect();
        const r = await client.install(name, example("request_handler/request_handler"));
        assert.equal(r.status, 65);
      } finally {
        await server.stop("SIGKILL");
      }
      server = await serve(["--state-dir", dir]);
      try {
        const client = await server.connect();
        assert.deepEqual(await listed(client), [name]);
        assert.equal((await client.request("/url1", "GET")).status, 69);
        assert.equal((await server.stop()).code, 0);
      } finally {
        await server.stop("SIGKILL");
      }
    });
  },
});

Deno.test({
  name:
    "app store (serve process): an install the state directory cannot store gets 160 and is not installed",
  sanitizeResources: false,
  fn: async () => {
    await withDir(async (dir) => {
      const state = `${dir}/state`;
      const server = await serve(["--state-dir", state]);
      try {
        const client = await server.connect();
        assert.equal((await client.install("kept", TINY)).status, 65);
        Deno.removeSync(state, { recursive: true });
        Deno.writeTextFileSync(state, "not a directory");
        const r = await client.install("lost", TINY);
        assert.equal(r.status, 160);
        assert.match(
          String(r.container?.get("error message")?.value),
          /^Install WASM app failed: cannot store it: /,
        );
        assert.deepEqual(await listed(client), ["kept"]);
        assert.equal((await server.stop()).code, 0);
      } finally {
        await server.stop("SIGKILL");
      }
    });
  },
});

Deno.test({
  name:
    "app store (serve process): after kill -9 during installs every acknowledged one is back, and no temporary or unlisted file is left",
  sanitizeResources: false,
  fn: async () => {
    await withDir(async (dir) => {
      const acknowledged: string[] = [];
      for (let round = 0; round < 4; round++) {
        const server = await serve(["--state-dir", dir, "--max-apps", "1000"]);
        try {
          const client = await server.connect();
          // 30 installs in flight at once; the kill comes after some were acknowledged.
          const enough = 4 + 3 * round;
          let acked = 0;
          await new Promise<void>((resolve) => {
            for (let i = 0; i < 30; i++) {
              const name = `r${round}i${i}`;
              client.install(name, TINY).then((r) => {
                if (r.status !== 65) return;
                acknowledged.push(name);
                if (++acked === enough) resolve();
              }, () => {});
            }
          });
        } finally {
          await server.stop("SIGKILL");
        }
      }
      // What a crash at a worse moment leaves, for certain.
      Deno.writeFileSync(`${dir}/.${crypto.randomUUID()}.tmp`, TINY.subarray(0, 5));
      Deno.writeFileSync(`${dir}/r9i9.wasm`, TINY);

      const server = await serve(["--state-dir", dir, "--max-apps", "1000"]);
      try {
        const client = await server.connect();
        const apps = await listed(client);
        assert.deepEqual(acknowledged.filter((name) => !apps.includes(name)), [], "all back");
        const stored = manifest(dir).map((a) => a.file);
        const files = [...Deno.readDirSync(dir)].map((e) => e.name);
        assert.deepEqual(files.filter((f) => f.endsWith(".tmp")), []);
        assert.deepEqual(files.filter((f) => f.endsWith(".wasm") && !stored.includes(f)), []);
        assert.match(
          server.err,
          /State: removed [1-9]\d* temporary and [1-9]\d* unlisted module files/,
        );
        assert.equal((await server.stop()).code, 0);
      } finally {
        await server.stop("SIGKILL");
      }
    });
  },
});
