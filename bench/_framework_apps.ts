// The framework benches' hand-written WAT apps (framework_bench.ts; message_path_bench.ts's lower
// bound): no libc, no packing, no timers, so they measure the framework's own message path.
import { wat } from "../tests/_wat.ts";

// Registers /echo; replies 69 with the request's fmt, mid and sender and no payload.
export const WAT_SERVER: Uint8Array = wat(`(module
  (import "env" "wasm_register_resource" (func $reg (param i32)))
  (import "env" "wasm_response_send" (func $send (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "/echo\\00")
  (func (export "on_init") (call $reg (i32.const 16)))
  (func (export "on_request") (param $buf i32) (param $size i32)
    (i32.store8 (i32.const 1024) (i32.const 1))
    (i32.store8 (i32.const 1025) (i32.const 69))
    (memory.copy (i32.const 1026) (i32.add (local.get $buf) (i32.const 2)) (i32.const 10))
    (i32.store (i32.const 1036) (i32.const 0))
    (drop (call $send (i32.const 1024) (i32.const 16)))))`);

// send(ptr, len) posts a packet; counts responses and events in globals.
export const WAT_CLIENT: Uint8Array = wat(`(module
  (import "env" "wasm_post_request" (func $post (param i32 i32)))
  (import "env" "wasm_sub_event" (func $sub (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "bench/event\\00")
  (global $responses (export "responses") (mut i32) (i32.const 0))
  (global $events (export "events") (mut i32) (i32.const 0))
  (func (export "on_init") (call $sub (i32.const 16)))
  (func (export "send") (param i32 i32) (call $post (local.get 0) (local.get 1)))
  (func (export "on_response") (param i32 i32)
    (global.set $responses (i32.add (global.get $responses) (i32.const 1))))
  (func (export "on_request") (param i32 i32)
    (global.set $events (i32.add (global.get $events) (i32.const 1)))))`);
