// What crash-loop protection costs each callback: the state directory's running marker (a
// 512-byte record written in place when an app is entered, cleared in a microtask once none
// runs) around trivial timer callbacks, against the same callbacks without it.
import { AppManager } from "../core/framework/app_manager.ts";
import { RunningMarker } from "../core/host_link/app_store.ts";
import { ManualClock } from "../sdk/clock.ts";
import { Runtime } from "../core/instance/runtime.ts";
import base from "../natives/base/mod.ts";
import { wat } from "../tests/_wat.ts";

const APP = wat(`(module
  (memory (export "memory") 1)
  (func (export "on_init"))
  (func (export "on_timer_callback") (param i32)))`);

const dir = Deno.makeTempDirSync();
globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));

function setup(marked: boolean) {
  const manager = new AppManager(new Runtime({ plugins: [base], stdout: () => {} }), {
    clock: new ManualClock(),
    stdout: () => {},
  });
  if (marked) manager.monitor = new RunningMarker(`${dir}/running-${crypto.randomUUID()}`);
  const apps = [manager.install("a", APP), manager.install("b", APP)];
  return {
    /** 100 callbacks, two apps taking turns, in one task: one write per callback. */
    inOneTask() {
      for (let i = 0; i < 100; i++) {
        apps[i & 1]!.post({ callback: "on_timer_callback", args: [1] });
        manager.runPending();
      }
    },
    /** 100 callbacks, each in a task of its own: a write and a clear per callback. */
    async eachInItsOwnTask() {
      for (let i = 0; i < 100; i++) {
        apps[i & 1]!.post({ callback: "on_timer_callback", args: [1] });
        manager.runPending();
        await Promise.resolve();
      }
    },
  };
}

const plain = setup(false);
const marked = setup(true);

Deno.bench({ name: "in one task", group: "one", baseline: true, fn: plain.inOneTask });
Deno.bench({ name: "in one task, marked", group: "one", fn: marked.inOneTask });
Deno.bench({ name: "own tasks", group: "own", baseline: true, fn: plain.eachInItsOwnTask });
Deno.bench({ name: "own tasks, marked", group: "own", fn: marked.eachInItsOwnTask });
