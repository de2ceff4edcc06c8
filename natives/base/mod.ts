/**
 * base: the app framework natives WAMR's apps import from `env` -- resources, requests,
 * responses, events and timers (`wasm_app.h`, `request.h`, `timer_wasm_app.h`). They reach
 * the app manager through `ctx.app.framework`; an app run outside a manager gets failures
 * (and one warning), never a crash.
 *
 * Malformed packets from an app are logged with the reason and ignored
 * (`wasm_response_send` returns 0).
 *
 * @example Register the plugin with the runtime an app manager uses
 * ```ts
 * import assert from "node:assert/strict";
 * import base from "./mod.ts";
 * import { Runtime } from "../../core/instance/runtime.ts";
 * const runtime = new Runtime({ plugins: [base] });
 * assert.equal(runtime.registry.resolve("env", "wasm_post_request")?.library.name, "base");
 * ```
 *
 * @module
 */

import {
  type AppFramework,
  decodeRequest,
  decodeResponse,
  defineNativeLibrary,
  type NativeContext,
  type NativeLibrary,
  ProtocolError,
  type Request,
  type Response,
} from "../../sdk/mod.ts";
import { decodeRequestInto, decodeResponseInto } from "../../sdk/packet.ts";

/** What `wasm_create_timer` returns when no timer is left. */
const TIMER_INVALID = -1;

/**
 * The requests and responses an app sends, decoded into the same two objects every time (a
 * new object and payload view per message was an allocation per message): the framework
 * copies what it keeps (`AppFramework.postRequest`, `sendResponse`). Kept per app, made at
 * its first send, so a payload view never keeps another app's memory alive. A send made
 * while one is being handed on (the app called again from a listener) gets objects of its own.
 */
interface _Sent {
  request: Request;
  response: Response;
  busy: boolean;
}

const _sentBy = new WeakMap<object, _Sent>();

function _sent(app: object): _Sent {
  let sent = _sentBy.get(app);
  if (sent === undefined) {
    sent = {
      request: { action: 0, fmt: 0, mid: 0, sender: 0, url: "", payload: undefined },
      response: { status: 0, fmt: 0, mid: 0, receiver: 0, payload: undefined },
      busy: false,
    };
    _sentBy.set(app, sent);
  }
  return sent;
}

/** Apps already warned that they run outside an app manager. */
const _warned = new WeakSet<object>();

/** The calling app's framework, or undefined (warning once) outside an app manager. */
function _framework(ctx: NativeContext<undefined>): AppFramework | undefined {
  const framework = ctx.app.framework;
  if (!framework && !_warned.has(ctx.app)) {
    _warned.add(ctx.app);
    ctx.app.warn(`${ctx.symbol}: app "${ctx.app.name}" is not running under an app manager`);
  }
  return framework;
}

function _malformed(framework: AppFramework, symbol: string, e: unknown): void {
  if (!(e instanceof ProtocolError)) throw e;
  framework.log(`${symbol}: ignored a malformed packet from app "${framework.name}": ${e.message}`);
}

function _registerResource(ctx: NativeContext<undefined>, url: string): void {
  _framework(ctx)?.registerResource(url);
}

function _postRequest(ctx: NativeContext<undefined>, buf: Uint8Array): void {
  const framework = _framework(ctx);
  if (!framework) return;
  const sent = _sent(ctx.app);
  const reuse = !sent.busy;
  sent.busy = true;
  try {
    // postRequest copies the payload out of app memory and sets the sender.
    framework.postRequest(reuse ? decodeRequestInto(buf, sent.request) : decodeRequest(buf));
  } catch (e) {
    _malformed(framework, "wasm_post_request", e);
  } finally {
    if (reuse) sent.busy = false;
  }
}

function _responseSend(ctx: NativeContext<undefined>, buf: Uint8Array): number {
  const framework = _framework(ctx);
  if (!framework) return 0;
  const sent = _sent(ctx.app);
  const reuse = !sent.busy;
  sent.busy = true;
  try {
    const response = reuse ? decodeResponseInto(buf, sent.response) : decodeResponse(buf);
    return framework.sendResponse(response) ? 1 : 0;
  } catch (e) {
    _malformed(framework, "wasm_response_send", e);
    return 0;
  } finally {
    if (reuse) sent.busy = false;
  }
}

function _subEvent(ctx: NativeContext<undefined>, url: string): void {
  _framework(ctx)?.subscribeEvent(url);
}

function _createTimer(
  ctx: NativeContext<undefined>,
  interval: number,
  isPeriod: number,
  autoStart: number,
): number {
  const framework = _framework(ctx);
  if (!framework) return TIMER_INVALID;
  return framework.createTimer(interval, (isPeriod & 0xff) !== 0, (autoStart & 0xff) !== 0) | 0;
}

function _timerDestroy(ctx: NativeContext<undefined>, id: number): void {
  _framework(ctx)?.destroyTimer(id >>> 0);
}

function _timerCancel(ctx: NativeContext<undefined>, id: number): void {
  _framework(ctx)?.cancelTimer(id >>> 0);
}

function _timerRestart(ctx: NativeContext<undefined>, id: number, interval: number): void {
  _framework(ctx)?.restartTimer(id >>> 0, interval);
}

function _sysTickMs(ctx: NativeContext<undefined>): number {
  const framework = ctx.app.framework;
  return (framework ? framework.tickMs() : Math.floor(performance.now())) | 0;
}

// The table only names the implementations above, so V8 compiles each one when an app first
// calls it rather than at every start (issue 17).

/** The base library (`wasm_register_resource`, `wasm_post_request`, timers, ...). */
const base: NativeLibrary<undefined> = defineNativeLibrary({
  name: "base",
  symbols: (native) => ({
    wasm_register_resource: native("($)", _registerResource),
    wasm_post_request: native("(*~)", _postRequest),
    wasm_response_send: native("(*~)i", _responseSend),
    wasm_sub_event: native("($)", _subEvent),
    wasm_create_timer: native("(iii)i", _createTimer),
    // The seed era's spelling; apps built then import this name.
    wasm_timer_destory: native("(i)", _timerDestroy),
    wasm_timer_destroy: native("(i)", _timerDestroy),
    wasm_timer_cancel: native("(i)", _timerCancel),
    wasm_timer_restart: native("(ii)", _timerRestart),
    wasm_get_sys_tick_ms: native("()i", _sysTickMs),
  }),
});

export default base;
