/**
 * One installed app, as the app manager keeps it: its id and name, its module and instance,
 * the limits its install settled on, where it stands (running, stopped, suspended,
 * uninstalled), its queue and its timers. It is also the {@linkcode AppFramework} its natives
 * see as `app.framework`, reaching its manager only through a small set of hooks.
 *
 * The rules that belong to one app live here: how install options become limits (heap
 * clamped to 256 B .. 1 GiB, at most 30 timers, the manager's deadline and memory cap
 * unless overridden) and when deadline overruns suspend it ({@linkcode DEADLINE_STRIKES} in
 * a row, or one in `on_init`). The manager decides when to apply them.
 *
 * @module
 */

import type { AppFramework, AppMessage } from "../../sdk/framework.ts";
import type { Clock } from "../../sdk/clock.ts";
import type { Request, Response } from "../../sdk/packet.ts";
import type { BusEndpoint, LogLevel, MessageBus } from "./bus.ts";
import type { AppInstance } from "../instance/instance.ts";
import { DEADLINE_EXCEEDED } from "../instance/limits.ts";
import type { AppModule } from "../module/module.ts";
import { AppTimers, DEFAULT_TIMERS_PER_APP, MAX_TIMERS_PER_APP } from "./timers.ts";
import { MessageQueue } from "./message_queue.ts";

/** App heap of an install that names none: WAMR's app manager default, 8 KiB. */
export const DEFAULT_APP_HEAP_SIZE = 8 * 1024;
/** Smallest app heap an install may ask for (AF's `APP_HEAP_SIZE_MIN`). */
export const MIN_APP_HEAP_SIZE = 256;
/** Largest app heap an install may ask for (HEAD's `APP_HEAP_SIZE_MAX`, 1 GiB). */
export const MAX_APP_HEAP_SIZE = 1024 * 1024 * 1024;
/** Default watchdog interval (stored, not enforced, as in WAMR). */
export const DEFAULT_WATCHDOG_MS = 180_000;
/** Callbacks in a row that may run past the deadline before the app is suspended. */
export const DEADLINE_STRIKES = 3;
/**
 * Requests routed to one app that it may still answer; past this many, the oldest loses its
 * right to an answer (its sender has long timed out: the host link's and the app library's
 * timeouts are seconds to minutes).
 */
export const MAX_UNANSWERED = 1024;

/** Options for one install. */
export interface InstallOptions {
  /** App heap in bytes (default 8 KiB; clamped to 256 B .. 1 GiB). */
  heapSize?: number;
  /** Timers the app may hold (default 20, at most 30). */
  timers?: number;
  /** Watchdog interval in ms: stored and reported, not enforced (WAMR compiles it out). */
  watchdogMs?: number;
  /** Deadline in ms for each callback (default: the manager's; 0 turns it off). */
  deadlineMs?: number;
  /** Memory cap in bytes (default: the manager's; 0 means no cap). */
  maxMemory?: number;
  /**
   * Installs the app suspended for this reason: its module is loaded but not instantiated
   * and nothing of it runs until `AppManager.resume` (how a state directory brings
   * back an app that was running when the process stopped).
   */
  suspended?: string;
}

/** Where an installed app stands. */
export type AppStatus =
  /** Its callbacks run. */
  | "running"
  /** `on_init` trapped or is missing: WAMR ends such an app's thread. */
  | "stopped"
  /** Stopped by the runtime (deadline overruns, or a crash while it ran); resumable. */
  | "suspended"
  /** Uninstalled: it holds nothing any more. */
  | "uninstalled";

/** @internal A message waiting in an app's queue. */
export type QueuedMessage =
  | { kind: "init" }
  | { kind: "request"; request: Request }
  | { kind: "response"; response: Response }
  | { kind: "timer"; id: number }
  | { kind: "post"; message: AppMessage };

/** @internal What an installed app reaches in its manager. */
export interface AppHooks {
  clock: Clock;
  bus: MessageBus;
  postRequest(app: InstalledApp, request: Request): void;
  sendResponse(app: InstalledApp, response: Response): boolean;
  post(app: InstalledApp, message: AppMessage): boolean;
  log(level: LogLevel, message: string, app: InstalledApp): void;
  deliverRequest(app: InstalledApp, request: Request): void;
  deliverResponse(app: InstalledApp, response: Response): void;
  timerExpired(app: InstalledApp, id: number): void;
}

/** @internal What an install settled on, for {@linkcode InstalledApp}'s constructor. */
export interface AppSettings {
  heapSize: number;
  timers: number;
  watchdogMs: number;
  deadlineMs: number;
  maxMemory: number | undefined;
  options: InstallOptions;
}

/**
 * @internal The limits an install settles on: its options clamped, the manager's defaults
 * where it names none.
 *
 * @param options the install options as given
 * @param defaults the manager's deadline (0 when off) and memory cap
 * @returns the settings for {@linkcode InstalledApp}'s constructor
 */
export function installSettings(
  options: InstallOptions,
  defaults: { deadlineMs: number; maxMemory: number | undefined },
): AppSettings {
  const heapSize = Math.min(
    MAX_APP_HEAP_SIZE,
    Math.max(MIN_APP_HEAP_SIZE, Math.trunc(options.heapSize ?? DEFAULT_APP_HEAP_SIZE) || 0),
  );
  const cap = Math.max(0, Math.trunc(options.maxMemory ?? defaults.maxMemory ?? 0) || 0);
  return {
    heapSize,
    timers: Math.min(MAX_TIMERS_PER_APP, options.timers ?? DEFAULT_TIMERS_PER_APP),
    watchdogMs: options.watchdogMs ?? DEFAULT_WATCHDOG_MS,
    deadlineMs: Math.max(0, Math.trunc(options.deadlineMs ?? defaults.deadlineMs) || 0),
    maxMemory: cap > 0 ? cap : undefined,
    options: { ...options },
  };
}

/**
 * An installed app: its id, name, instance, limits, queue and timers. It is also the
 * {@linkcode AppFramework} its natives see as `app.framework`.
 */
export class InstalledApp implements AppFramework, BusEndpoint {
  /** The app's id (1, 2, ...). */
  readonly id: number;
  /** The installed name. */
  readonly name: string;
  /** The loaded module (kept while suspended, so the app can be resumed). */
  readonly module: AppModule;
  /** The app heap size asked for. */
  readonly heapSize: number;
  /** The watchdog interval (stored only). */
  readonly watchdogMs: number;
  /** Deadline in ms for each callback; 0 when off. */
  readonly deadlineMs: number;
  /** Memory cap in bytes, or undefined when uncapped. */
  readonly maxMemory: number | undefined;
  /** The install options as given (a state directory stores them). */
  readonly options: Readonly<InstallOptions>;
  /** The app's timers. */
  readonly timers: AppTimers;
  /** @internal Its instance while it has one. */
  live: AppInstance | undefined;
  /** @internal Where it stands. */
  state: AppStatus = "running";
  /** @internal Why it is stopped or suspended. */
  why: string | undefined;
  /** @internal Callbacks in a row that ran past the deadline. */
  strikes = 0;
  /** @internal Its queue. */
  readonly queue: MessageQueue<QueuedMessage> = new MessageQueue();
  /** @internal Callbacks of this app on the stack. */
  depth = 0;
  readonly #hooks: AppHooks;
  /** Requests routed to it and not answered yet, oldest first. */
  readonly #unanswered = new _Unanswered();
  #forged = 0;

  /** @internal Use `AppManager.install`. */
  constructor(hooks: AppHooks, id: number, name: string, module: AppModule, settings: AppSettings) {
    this.#hooks = hooks;
    this.id = id;
    this.name = name;
    this.module = module;
    this.heapSize = settings.heapSize;
    this.watchdogMs = settings.watchdogMs;
    this.deadlineMs = settings.deadlineMs;
    this.maxMemory = settings.maxMemory;
    this.options = settings.options;
    this.timers = new AppTimers(
      hooks.clock,
      (t) => hooks.timerExpired(this, t),
      settings.timers,
    );
  }

  /**
   * The app instance.
   *
   * @throws {Error} when the app has none: it is suspended or uninstalled (their memory is
   *   released)
   */
  get instance(): AppInstance {
    if (!this.live) throw new Error(`App "${this.name}" has no instance: it is ${this.state}`);
    return this.live;
  }
  /** Where the app stands. */
  get status(): AppStatus {
    return this.state;
  }
  /** Why it is stopped or suspended (undefined while running). */
  get reason(): string | undefined {
    return this.why;
  }
  /** True while its callbacks run: not stopped, suspended or uninstalled. */
  get running(): boolean {
    return this.state === "running";
  }
  /** The manager's clock. */
  get clock(): Clock {
    return this.#hooks.clock;
  }
  /** Messages waiting in its queue. */
  get queued(): number {
    return this.queue.length;
  }
  /** The URL prefixes it registered, newest first. */
  get resources(): string[] {
    return this.#hooks.bus.resources(this.id).map((r) => r.url);
  }
  /** The event URLs it subscribes to. */
  get subscriptions(): string[] {
    return this.#hooks.bus.subscriptions(this.id);
  }

  /**
   * Responses it sent that answered no request routed to it, each dropped: forged, or sent
   * twice, or later than {@linkcode MAX_UNANSWERED} newer requests.
   */
  get droppedResponses(): number {
    return this.#forged;
  }

  /**
   * @internal Notes a request routed to the app: it may answer it, once.
   *
   * @param sender the request's sender
   * @param mid the request's mid
   */
  expectAnswer(sender: number, mid: number): void {
    this.#unanswered.add(sender >>> 0, mid >>> 0);
  }

  /**
   * @internal Settles a request routed to the app: it answered, or the runtime answered for it.
   *
   * @param receiver who sent the request (the response's receiver)
   * @param mid the request's mid
   * @returns false when no such request awaits an answer from the app
   */
  answer(receiver: number, mid: number): boolean {
    return this.#unanswered.take(receiver >>> 0, mid >>> 0);
  }

  /**
   * @internal Counts a response that answered no request routed to the app.
   *
   * @returns true for the app's first such response (the one to log)
   */
  countDropped(): boolean {
    return ++this.#forged === 1;
  }

  /**
   * @internal Counts a callback that ran past its deadline.
   *
   * @param callback the callback that overran
   * @returns the reason to suspend the app, or undefined while it may go on
   */
  strike(callback: string): string | undefined {
    if (!this.running) return undefined;
    this.strikes++;
    // on_init cannot be retried: one overrun there is enough.
    if (callback === "on_init") return `${DEADLINE_EXCEEDED} in on_init`;
    if (this.strikes >= DEADLINE_STRIKES) {
      return `${DEADLINE_EXCEEDED} ${this.strikes} times in a row in ${callback}`;
    }
    return undefined;
  }

  /**
   * @internal Lets go of what running gave the app: its resources, subscriptions and timers,
   * and its instance, so its memory is released. Its module stays, for a resume.
   */
  release(): void {
    this.#unanswered.clear();
    this.#hooks.bus.unregisterResources(this.id);
    this.#hooks.bus.unsubscribe(undefined, this.id);
    this.timers.destroyAll();
    this.live?.free();
    this.live = undefined;
  }

  registerResource(url: string): boolean {
    return this.#hooks.bus.registerResource(url, this.id);
  }
  subscribeEvent(url: string): boolean {
    return this.#hooks.bus.subscribe(url, this.id);
  }
  postRequest(request: Request): void {
    this.#hooks.postRequest(this, request);
  }
  sendResponse(response: Response): boolean {
    return this.#hooks.sendResponse(this, response);
  }
  createTimer(interval: number, periodic: boolean, autoStart: boolean): number {
    return this.timers.create(interval, periodic, autoStart);
  }
  cancelTimer(id: number): boolean {
    return this.timers.cancel(id);
  }
  restartTimer(id: number, interval: number): boolean {
    return this.timers.restart(id, interval);
  }
  destroyTimer(id: number): boolean {
    return this.timers.destroy(id);
  }
  tickMs(): number {
    return Math.floor(this.#hooks.clock.now()) >>> 0;
  }
  post(message: AppMessage): boolean {
    return this.#hooks.post(this, message);
  }
  log(message: string): void {
    this.#hooks.log("info", message, this);
  }
  /** @internal Bus endpoint. */
  deliverRequest(request: Request): void {
    this.#hooks.deliverRequest(this, request);
  }
  /** @internal Bus endpoint. */
  deliverResponse(response: Response): void {
    this.#hooks.deliverResponse(this, response);
  }
}

/**
 * Requests awaiting an answer, oldest first, each (sender, mid) once with how many times it
 * was routed: a ring of number triples that only grows, scanned from the oldest (a Map
 * churned storage per request, and the host's ids needed a string key). Answers are found
 * among the few outstanding requests; {@linkcode MAX_UNANSWERED} bounds the scan.
 */
class _Unanswered {
  /** Sender, mid and count of each slot (count 0: answered, a hole). */
  #slots: number[] = [];
  /** Slots in the ring (a power of 2); 0 until the first request, as most apps get none. */
  #capacity = 0;
  #head = 0;
  /** Slots from the head to the newest, holes included. */
  #span = 0;
  /** Slots with a count. */
  #size = 0;

  add(sender: number, mid: number): void {
    const at = this.#find(sender, mid);
    if (at >= 0) {
      this.#slots[at + 2]!++;
      return;
    }
    if (this.#span === this.#capacity) this.#compact();
    const slots = this.#slots;
    const end = 3 * ((this.#head + this.#span) & (this.#capacity - 1));
    slots[end] = sender;
    slots[end + 1] = mid;
    slots[end + 2] = 1;
    this.#span++;
    if (++this.#size > MAX_UNANSWERED) {
      // The oldest loses its right to an answer (the head is never a hole).
      this.#slots[3 * this.#head + 2] = 0;
      this.#size--;
      this.#trim();
    }
  }

  take(sender: number, mid: number): boolean {
    const at = this.#find(sender, mid);
    if (at < 0) return false;
    if (--this.#slots[at + 2]! === 0) {
      this.#size--;
      this.#trim();
    }
    return true;
  }

  clear(): void {
    this.#slots.fill(0);
    this.#head = 0;
    this.#span = 0;
    this.#size = 0;
  }

  /** The index in `#slots` of a live (sender, mid), or -1. */
  #find(sender: number, mid: number): number {
    const slots = this.#slots;
    const mask = this.#capacity - 1;
    for (let i = 0; i < this.#span; i++) {
      const at = 3 * ((this.#head + i) & mask);
      if (slots[at + 2] !== 0 && slots[at] === sender && slots[at + 1] === mid) return at;
    }
    return -1;
  }

  /** Drops the holes at both ends. */
  #trim(): void {
    const slots = this.#slots;
    const mask = this.#capacity - 1;
    while (this.#span > 0 && slots[3 * this.#head + 2] === 0) {
      this.#head = (this.#head + 1) & mask;
      this.#span--;
    }
    while (this.#span > 0 && slots[3 * ((this.#head + this.#span - 1) & mask) + 2] === 0) {
      this.#span--;
    }
    if (this.#span === 0) this.#head = 0;
  }

  /**
   * Makes room: the live slots move to a new ring, twice as large when more than half of
   * them are live, so at least half a ring of requests comes before the next move.
   */
  #compact(): void {
    const old = this.#slots;
    const mask = this.#capacity - 1;
    if (this.#capacity === 0) this.#capacity = 4;
    else if (2 * this.#size > this.#capacity) this.#capacity *= 2;
    const slots: number[] = new Array(3 * this.#capacity).fill(0);
    let n = 0;
    for (let i = 0; i < this.#span; i++) {
      const at = 3 * ((this.#head + i) & mask);
      if (old[at + 2] === 0) continue;
      slots[n] = old[at]!;
      slots[n + 1] = old[at + 1]!;
      slots[n + 2] = old[at + 2]!;
      n += 3;
    }
    this.#slots = slots;
    this.#head = 0;
    this.#span = n / 3;
  }
}
