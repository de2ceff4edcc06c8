// Test helper: small WAT apps for the app framework and a manager wired to a manual clock.
import { AppManager, type AppManagerOptions } from "../core/framework/app_manager.ts";
import { ManualClock } from "../sdk/clock.ts";
import { defineNativeLibrary } from "../sdk/native.ts";
import { Runtime } from "../core/instance/runtime.ts";
import base from "../natives/base/mod.ts";
import { loadInstrumentation } from "../core/instance/instance.ts";
import { wat } from "./_wat.ts";

// Managers here install synchronously, some with limits: the rewriter must be loaded first.
await loadInstrumentation();

const _decoder = new TextDecoder();

/**
 * Echo server: registers `/echo` (and `/shared`) in on_init; on_request records the packet
 * (`probe_bytes`) and replies 69 with the request's payload, except DELETE, which traps after
 * recording. on_destroy probes -1.
 */
export const SERVER_WAT = `(module
  (import "env" "wasm_register_resource" (func $reg (param i32)))
  (import "env" "wasm_response_send" (func $send (param i32 i32) (result i32)))
  (import "env" "probe" (func $probe (param i32)))
  (import "env" "probe_bytes" (func $probe_bytes (param i32 i32)))
  (memory (export "memory") 2)
  (data (i32.const 16) "/echo\\00")
  (data (i32.const 32) "/shared\\00")
  (func (export "on_init") (call $reg (i32.const 16)) (call $reg (i32.const 32)))
  (func (export "on_request") (param $buf i32) (param $size i32)
    (local $url_len i32) (local $pl i32)
    (call $probe_bytes (local.get $buf) (local.get $size))
    (if (i32.eq (i32.load8_u offset=1 (local.get $buf)) (i32.const 4)) (then unreachable))
    (local.set $url_len (i32.or
      (i32.shl (i32.load8_u offset=12 (local.get $buf)) (i32.const 8))
      (i32.load8_u offset=13 (local.get $buf))))
    (local.set $pl (i32.sub (i32.sub (local.get $size) (i32.const 18)) (local.get $url_len)))
    (i32.store8 (i32.const 1024) (i32.const 1))
    (i32.store8 (i32.const 1025) (i32.const 69))
    (memory.copy (i32.const 1026) (i32.add (local.get $buf) (i32.const 2)) (i32.const 10))
    (i32.store8 (i32.const 1036) (i32.shr_u (local.get $pl) (i32.const 24)))
    (i32.store8 (i32.const 1037) (i32.shr_u (local.get $pl) (i32.const 16)))
    (i32.store8 (i32.const 1038) (i32.shr_u (local.get $pl) (i32.const 8)))
    (i32.store8 (i32.const 1039) (local.get $pl))
    (memory.copy (i32.const 1040)
      (i32.add (i32.add (local.get $buf) (i32.const 18)) (local.get $url_len)) (local.get $pl))
    (drop (call $send (i32.const 1024) (i32.add (i32.const 16) (local.get $pl)))))
  (func (export "on_destroy") (call $probe (i32.const -1))))`;

/**
 * Client: `send(ptr, len)` posts a packet the test wrote at `ptr`; `respond(ptr, len)` sends
 * a response packet; `subscribe(ptr)` subscribes to the URL at `ptr`; on_response and
 * on_request record the packet. Its on_init does nothing.
 */
export const CLIENT_WAT = `(module
  (import "env" "wasm_post_request" (func $post (param i32 i32)))
  (import "env" "wasm_response_send" (func $respond (param i32 i32) (result i32)))
  (import "env" "wasm_sub_event" (func $sub (param i32)))
  (import "env" "wasm_register_resource" (func $reg (param i32)))
  (import "env" "probe_bytes" (func $probe_bytes (param i32 i32)))
  (memory (export "memory") 1)
  (func (export "on_init"))
  (func (export "send") (param i32 i32) (call $post (local.get 0) (local.get 1)))
  (func (export "respond") (param i32 i32) (result i32) (call $respond (local.get 0) (local.get 1)))
  (func (export "subscribe") (param i32) (call $sub (local.get 0)))
  (func (export "register") (param i32) (call $reg (local.get 0)))
  (func (export "on_response") (param i32 i32) (call $probe_bytes (local.get 0) (local.get 1)))
  (func (export "on_request") (param i32 i32) (call $probe_bytes (local.get 0) (local.get 1))))`;

/**
 * Timer app: exports create/cancel/restart/destroy/destory/tick wrapping the natives;
 * on_timer_callback probes "id@tick", and traps when the id is 13.
 */
export const TIMER_WAT = `(module
  (import "env" "wasm_create_timer" (func $create (param i32 i32 i32) (result i32)))
  (import "env" "wasm_timer_cancel" (func $cancel (param i32)))
  (import "env" "wasm_timer_restart" (func $restart (param i32 i32)))
  (import "env" "wasm_timer_destroy" (func $destroy (param i32)))
  (import "env" "wasm_timer_destory" (func $destory (param i32)))
  (import "env" "wasm_get_sys_tick_ms" (func $tick (result i32)))
  (import "env" "probe2" (func $probe2 (param i32 i32)))
  (memory (export "memory") 1)
  (func (export "on_init"))
  (func (export "create") (param i32 i32 i32) (result i32)
    (call $create (local.get 0) (local.get 1) (local.get 2)))
  (func (export "cancel") (param i32) (call $cancel (local.get 0)))
  (func (export "restart") (param i32 i32) (call $restart (local.get 0) (local.get 1)))
  (func (export "destroy") (param i32) (call $destroy (local.get 0)))
  (func (export "destory") (param i32) (call $destory (local.get 0)))
  (func (export "tick") (result i32) (call $tick))
  (func (export "on_timer_callback") (param i32)
    (call $probe2 (local.get 0) (call $tick))
    (if (i32.eq (local.get 0) (i32.const 13)) (then unreachable))))`;

/** A harness: runtime with base + probe natives, a manual clock, captured console. */
export interface Harness {
  manager: AppManager;
  clock: ManualClock;
  runtime: Runtime;
  /** Everything printed (app output and console lines). */
  output(): string;
  /** `probe`/`probe2` calls as "app:value" or "app:a@b". */
  probes: string[];
  /** Packets recorded by `probe_bytes`, with the app name. */
  packets: { app: string; bytes: Uint8Array }[];
}

/**
 * Makes a harness.
 *
 * @param options manager options (the clock and stdout are the harness's)
 * @returns the harness
 */
export function harness(options: AppManagerOptions = {}): Harness {
  const probes: string[] = [];
  const packets: { app: string; bytes: Uint8Array }[] = [];
  const chunks: string[] = [];
  const probe = defineNativeLibrary({
    name: "probe",
    symbols: (native) => ({
      probe: native("(i)", (ctx, v) => {
        probes.push(`${ctx.app.name}:${v}`);
      }),
      probe2: native("(ii)", (ctx, a, b) => {
        probes.push(`${ctx.app.name}:${a}@${b}`);
      }),
      probe_bytes: native("(*~)", (ctx, buf) => {
        packets.push({ app: ctx.app.name, bytes: buf.slice() });
      }),
    }),
  });
  const stdout = (bytes: Uint8Array) => {
    chunks.push(_decoder.decode(bytes));
  };
  const runtime = new Runtime({
    plugins: [base, probe],
    stdout,
    warn: (m) => chunks.push(m + "\n"),
  });
  const clock = new ManualClock();
  const manager = new AppManager(runtime, { ...options, clock, stdout });
  return { manager, clock, runtime, output: () => chunks.join(""), probes, packets };
}

/** Assembled apps, cached. */
export const SERVER: Uint8Array = wat(SERVER_WAT);
/** The client app. */
export const CLIENT: Uint8Array = wat(CLIENT_WAT);
/** The timer app. */
export const TIMER: Uint8Array = wat(TIMER_WAT);

/** The start function spins forever; on_init probes 7. */
export const SPIN_START: Uint8Array = wat(`(module
  (import "env" "probe" (func $probe (param i32)))
  (memory (export "memory") 1)
  (func $spin (loop $l (br $l)))
  (start $spin)
  (func (export "on_init") (call $probe (i32.const 7))))`);

/** `grow(pages)` returns memory.grow's result; on_init probes 1. */
export const GROWER: Uint8Array = wat(`(module
  (import "env" "probe" (func $probe (param i32)))
  (memory (export "memory") 1)
  (func (export "on_init") (call $probe (i32.const 1)))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))`);
