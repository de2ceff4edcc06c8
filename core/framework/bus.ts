/**
 * The message bus: WAMR's resource table, event table and response routing, without any
 * transport. Endpoints (installed apps, the host) are attached by id; requests are routed
 * by URL prefix, events by exact URL, responses by receiver id.
 *
 * @module
 */

import { AttrContainer, encodeLikeWamr } from "../../sdk/attr_container.ts";
import {
  Action,
  FMT_ATTR_CONTAINER,
  ID_HOST,
  type Request,
  type Response,
  Status,
} from "../../sdk/packet.ts";
import { checkUrlStart } from "./url.ts";

/** Resource URLs one owner may register (`RESOURCE_REGISTRATION_NUM_MAX`). */
export const MAX_RESOURCES_PER_OWNER = 16;
/** Longest resource or event URL in bytes (`RESOURCE_EVENT_URL_LEN_MAX`). */
export const MAX_URL_LENGTH = 256;

/** Something that can receive requests, events and responses: an app or the host. */
export interface BusEndpoint {
  /**
   * Takes a request or event addressed to this endpoint.
   *
   * @param request the request, with the URL the endpoint should see
   */
  deliverRequest(request: Request): void;
  /**
   * Takes a response whose receiver is this endpoint.
   *
   * @param response the response
   */
  deliverResponse(response: Response): void;
}

/** Handles requests matching a registered prefix. */
export type ResourceHandler = (request: Request) => void;

/** A row of the resource table. */
export interface ResourceEntry {
  /** The registered prefix. */
  readonly url: string;
  /** Who registered it: an app id or ID_APP_MGR. */
  readonly owner: number;
  /** What runs on a match; default: deliver to the owner's endpoint. */
  readonly handler: ResourceHandler | undefined;
}

/** Severity of a bus or manager log line. */
export type LogLevel = "info" | "error" | "trace";

/** Options for a bus. */
export interface MessageBusOptions {
  /** Receives log lines (default: dropped). */
  log?: (level: LogLevel, message: string) => void;
}

const _encoder = new TextEncoder();

/**
 * The payload of WAMR's error replies: an attr_container tagged "" with one string,
 * `"error message"`, laid out byte for byte as WAMR's `attr_container_create` builds it.
 *
 * @param message the error text
 * @returns the attr_container bytes
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { errorPayload } from "./bus.ts";
 * import { decode } from "../../sdk/attr_container.ts";
 * const c = decode(errorPayload("Handle event request failed."));
 * assert.equal(c.get("error message")?.value, "Handle event request failed.");
 * ```
 */
export function errorPayload(message: string): Uint8Array {
  return encodeLikeWamr(new AttrContainer("").setString("error message", message));
}

/**
 * Routing tables and delivery between endpoints.
 *
 * @example Route a request to a registered prefix
 * ```ts
 * import assert from "node:assert/strict";
 * import { MessageBus } from "./bus.ts";
 * const bus = new MessageBus();
 * const seen: string[] = [];
 * bus.attach(1, { deliverRequest: (r) => seen.push(r.url), deliverResponse: () => {} });
 * bus.registerResource("/url1", 1);
 * bus.send({ action: 1, fmt: 0, mid: 1, sender: 2, url: "/url1/x", payload: undefined });
 * assert.deepEqual(seen, ["/url1/x"]);
 * ```
 */
export class MessageBus {
  /** Newest registration first, as WAMR walks it. */
  #resources: ResourceEntry[] = [];
  /**
   * Event URL -> subscriber ids, newest subscriber first; newest URL first. Each list is
   * replaced, never changed, so `publish` walks it without a copy while a delivery
   * unsubscribes.
   */
  #events = new Map<string, readonly number[]>();
  readonly #endpoints = new Map<number, BusEndpoint>();
  readonly #log: (level: LogLevel, message: string) => void;
  /**
   * @internal Requests and responses handed to an endpoint or a handler so far: the app
   * manager reuses a message of its own only when each of its hand-offs was into an app's queue.
   */
  deliveries = 0;

  /**
   * Creates a bus with empty tables and no endpoints.
   *
   * @param options where log lines go
   */
  constructor(options: MessageBusOptions = {}) {
    this.#log = options.log ?? (() => {});
  }

  /**
   * Attaches an endpoint under an id (an app id, or ID_HOST).
   *
   * @param id the endpoint's id
   * @param endpoint what receives its traffic
   */
  attach(id: number, endpoint: BusEndpoint): void {
    this.#endpoints.set(id >>> 0, endpoint);
  }

  /**
   * Detaches an endpoint and drops its resources and subscriptions.
   *
   * @param id the endpoint's id
   */
  detach(id: number): void {
    this.unregisterResources(id);
    this.unsubscribe(undefined, id);
    this.#endpoints.delete(id >>> 0);
  }

  /**
   * The endpoint attached under an id.
   *
   * @param id the id
   * @returns the endpoint, or undefined
   */
  endpoint(id: number): BusEndpoint | undefined {
    return this.#endpoints.get(id >>> 0);
  }

  // ---- resources -------------------------------------------------------------------------

  /**
   * Registers a URL prefix (`am_register_resource`). Fails when anyone registered exactly
   * this URL, when it is longer than 256 bytes, or when the owner already has 16.
   *
   * @param url the prefix
   * @param owner an app id or ID_APP_MGR
   * @param handler what handles matches (default: deliver to the owner's endpoint)
   * @returns whether it was registered (failures are logged with the reason)
   */
  registerResource(url: string, owner: number, handler?: ResourceHandler): boolean {
    owner >>>= 0;
    let why: string | undefined;
    if (this.#resources.some((r) => r.url === url)) why = "it is already registered";
    else if (_encoder.encode(url).length > MAX_URL_LENGTH) {
      why = `it is longer than ${MAX_URL_LENGTH} bytes`;
    } else if (this.#resources.filter((r) => r.owner === owner).length >= MAX_RESOURCES_PER_OWNER) {
      why = `client ${_id(owner)} already registered ${MAX_RESOURCES_PER_OWNER} resources`;
    }
    if (why) {
      this.#log("error", `Register resource "${url}" failed: ${why}`);
      return false;
    }
    this.#resources.unshift({ url, owner, handler });
    return true;
  }

  /**
   * Removes every resource an owner registered (`am_cleanup_registeration`).
   *
   * @param owner the owner id
   * @returns how many were removed
   */
  unregisterResources(owner: number): number {
    const before = this.#resources.length;
    this.#resources = this.#resources.filter((r) => r.owner !== owner >>> 0);
    return before - this.#resources.length;
  }

  /**
   * The resource table, newest first, or one owner's URLs.
   *
   * @param owner only this owner's entries
   * @returns the entries
   */
  resources(owner?: number): ResourceEntry[] {
    return owner === undefined
      ? [...this.#resources]
      : this.#resources.filter((r) => r.owner === owner >>> 0);
  }

  /**
   * Finds the entry that handles a URL: the newest whose prefix matches
   * (`check_url_start > 0`).
   *
   * @param url the request URL
   * @returns the entry, or undefined
   */
  match(url: string): ResourceEntry | undefined {
    // A loop: a closure per request is an allocation per message.
    const resources = this.#resources;
    for (let i = 0; i < resources.length; i++) {
      if (checkUrlStart(url, resources[i]!.url) > 0) return resources[i];
    }
    return undefined;
  }

  // ---- events ----------------------------------------------------------------------------

  /**
   * Subscribes an id to an event URL (`am_register_event`); subscribing twice is a no-op.
   *
   * @param url the exact event URL
   * @param id an app id or ID_HOST
   * @returns false for an empty URL or one longer than 256 bytes
   */
  subscribe(url: string, id: number): boolean {
    id >>>= 0;
    if (url === "" || _encoder.encode(url).length > MAX_URL_LENGTH) {
      this.#log("error", `Subscribe to event "${url}" failed: invalid url`);
      return false;
    }
    const subscribers = this.#events.get(url);
    if (!subscribers) {
      // Newest URL first, like WAMR's list.
      this.#events = new Map([[url, [id]], ...this.#events]);
      this.#log("trace", `client: ${_id(id)} registered event (${url})`);
    } else if (!subscribers.includes(id)) {
      this.#events.set(url, [id, ...subscribers]);
      this.#log("trace", `client: ${_id(id)} registered event (${url})`);
    }
    return true;
  }

  /**
   * Unsubscribes an id from one URL, or from all (`am_unregister_event`). A URL left without
   * subscribers is removed.
   *
   * @param url the event URL, or undefined for all of the id's subscriptions
   * @param id the subscriber
   * @returns true (WAMR never fails it)
   */
  unsubscribe(url: string | undefined, id: number): boolean {
    id >>>= 0;
    for (let [eventUrl, subscribers] of this.#events) {
      if (url !== undefined && eventUrl !== url) continue;
      if (subscribers.includes(id)) {
        subscribers = subscribers.filter((s) => s !== id);
        this.#events.set(eventUrl, subscribers);
        this.#log("trace", `client: ${_id(id)} deregistered event (${eventUrl})`);
      }
      if (subscribers.length === 0) {
        this.#events.delete(eventUrl);
        this.#log("trace", `unregister for event deleted url:(${eventUrl})`);
      }
    }
    return true;
  }

  /**
   * Subscribers of an event URL, newest first.
   *
   * @param url the exact URL
   * @returns their ids
   */
  subscribers(url: string): number[] {
    return [...(this.#events.get(url) ?? [])];
  }

  /**
   * The URLs an id subscribes to.
   *
   * @param id an app id or ID_HOST
   * @returns the URLs, newest first
   */
  subscriptions(id: number): string[] {
    return [...this.#events].filter(([, s]) => s.includes(id >>> 0)).map(([url]) => url);
  }

  // ---- traffic ---------------------------------------------------------------------------

  /**
   * Sends a request whose sender is already set: an EVENT is published, anything else is
   * dispatched through the resource table. Where WAMR drops a request without a route, this
   * replies NOT_FOUND_4_04 to the sender.
   *
   * @param request the request
   */
  send(request: Request): void {
    if (request.action === Action.EVENT) {
      this.publish(request);
      return;
    }
    const entry = this.match(request.url);
    if (!entry) {
      this.replyError(
        request,
        Status.NOT_FOUND_4_04,
        `Send request failed: no resource matches url "${request.url}"`,
      );
      return;
    }
    const endpoint = entry.handler ? undefined : this.#endpoints.get(entry.owner);
    if (entry.handler || endpoint) this.deliveries++;
    if (entry.handler) entry.handler(request);
    else endpoint?.deliverRequest(request);
  }

  /**
   * Delivers an event to every subscriber of its exact URL (`am_publish_event`).
   *
   * @param event the request with action EVENT
   * @returns the number of subscribers it went to
   */
  publish(event: Request): number {
    const subscribers = this.#events.get(event.url);
    if (!subscribers) return 0;
    let n = 0;
    for (let i = 0; i < subscribers.length; i++) {
      const endpoint = this.#endpoints.get(subscribers[i]!);
      if (!endpoint) continue;
      this.deliveries++;
      endpoint.deliverRequest(event);
      n++;
    }
    return n;
  }

  /**
   * Routes a response (`am_send_response`): to the endpoint whose id is the receiver; when
   * there is none (and always for ID_HOST), to the host.
   *
   * @param response the response
   * @returns false when neither the receiver nor a host is attached
   */
  respond(response: Response): boolean {
    const endpoint = this.#endpoints.get(response.receiver >>> 0) ??
      this.#endpoints.get(ID_HOST);
    if (!endpoint) {
      this.#log(
        "error",
        `Response mid ${response.mid} dropped: no receiver ${_id(response.receiver)}`,
      );
      return false;
    }
    this.deliveries++;
    endpoint.deliverResponse(response);
    return true;
  }

  /**
   * Replies to a request's sender.
   *
   * @param request the request being answered (its mid and sender are used)
   * @param status the status code
   * @param payload the payload (default none)
   * @param fmt the payload format (default attr_container, as the app manager sends)
   * @returns whether it was routed
   */
  reply(
    request: Request,
    status: number,
    payload?: Uint8Array,
    fmt: number = FMT_ATTR_CONTAINER,
  ): boolean {
    return this.respond({ status, fmt, mid: request.mid, receiver: request.sender, payload });
  }

  /**
   * Replies with WAMR's error payload and logs the message, like `SEND_ERR_RESPONSE`.
   *
   * @param request the request being answered
   * @param status the status code (WAMR always uses 160)
   * @param message the error text
   * @returns whether it was routed
   */
  replyError(request: Request, status: number, message: string): boolean {
    this.#log("error", message);
    return this.reply(request, status, errorPayload(message));
  }
}

/** Ids as WAMR prints them (`%d` of a u32: the host is -3). */
function _id(id: number): number {
  return id | 0;
}
