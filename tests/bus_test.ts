import assert from "node:assert/strict";
import { errorPayload, MAX_RESOURCES_PER_OWNER, MessageBus } from "../core/framework/bus.ts";
import { ID_HOST, type Request, type Response } from "../sdk/packet.ts";
import { decode } from "../sdk/attr_container.ts";

function endpoint() {
  const requests: Request[] = [];
  const responses: Response[] = [];
  return {
    requests,
    responses,
    deliverRequest: (r: Request) => requests.push(r),
    deliverResponse: (r: Response) => responses.push(r),
  };
}

const req = (url: string, extra: Partial<Request> = {}): Request => ({
  action: 1,
  fmt: 0,
  mid: 7,
  sender: ID_HOST,
  url,
  payload: undefined,
  ...extra,
});

Deno.test("bus: the newest matching registration handles a request", () => {
  const bus = new MessageBus();
  const a = endpoint();
  const b = endpoint();
  bus.attach(1, a);
  bus.attach(2, b);
  bus.registerResource("/x", 1);
  bus.registerResource("/x/y", 2);
  bus.send(req("/x/y/z"));
  bus.send(req("/x/q"));
  bus.send(req("/x?k=v"));
  assert.deepEqual(b.requests.map((r) => r.url), ["/x/y/z"]);
  assert.deepEqual(a.requests.map((r) => r.url), ["/x/q", "/x?k=v"]);
  assert.deepEqual(bus.resources().map((r) => r.url), ["/x/y", "/x"]);
});

Deno.test("bus: prefixes match whole segments only ('/abc' does not take '/abcd')", () => {
  const bus = new MessageBus();
  const host = endpoint();
  const app = endpoint();
  bus.attach(ID_HOST, host);
  bus.attach(1, app);
  bus.registerResource("/abc", 1);
  bus.send(req("/abcd"));
  assert.equal(app.requests.length, 0);
  assert.equal(host.responses[0]?.status, 132);
});

Deno.test("bus: no route replies NOT_FOUND_4_04 with an error message to the sender", () => {
  const lines: string[] = [];
  const bus = new MessageBus({ log: (_level, m) => lines.push(m) });
  const host = endpoint();
  bus.attach(ID_HOST, host);
  bus.send(req("/nomatch"));
  const res = host.responses[0]!;
  assert.equal(res.status, 132);
  assert.equal(res.mid, 7);
  assert.equal(res.receiver, ID_HOST);
  assert.equal(res.fmt, 99);
  assert.equal(
    decode(res.payload!).get("error message")?.value,
    'Send request failed: no resource matches url "/nomatch"',
  );
  assert.deepEqual(lines, ['Send request failed: no resource matches url "/nomatch"']);
});

Deno.test("bus: registration limits: duplicates, 16 per owner, 256 bytes", () => {
  const lines: string[] = [];
  const bus = new MessageBus({ log: (_l, m) => lines.push(m) });
  assert.equal(bus.registerResource("/dup", 1), true);
  assert.equal(bus.registerResource("/dup", 2), false);
  for (let i = 1; i < MAX_RESOURCES_PER_OWNER; i++) {
    assert.equal(bus.registerResource(`/r${i}`, 1), true);
  }
  assert.equal(bus.registerResource("/one-too-many", 1), false);
  assert.equal(bus.registerResource("/" + "u".repeat(255), 2), true);
  assert.equal(bus.registerResource("/" + "v".repeat(256), 2), false);
  assert.deepEqual(lines, [
    'Register resource "/dup" failed: it is already registered',
    'Register resource "/one-too-many" failed: client 1 already registered 16 resources',
    `Register resource "/${"v".repeat(256)}" failed: it is longer than 256 bytes`,
  ]);
  assert.equal(bus.unregisterResources(1), 16);
  assert.deepEqual(bus.resources(1), []);
});

Deno.test("bus: events go by exact URL to every subscriber, newest first", () => {
  const bus = new MessageBus();
  const host = endpoint();
  const app = endpoint();
  bus.attach(ID_HOST, host);
  bus.attach(3, app);
  assert.equal(bus.subscribe("alert/overheat", 3), true);
  assert.equal(bus.subscribe("alert/overheat", ID_HOST), true);
  assert.equal(bus.subscribe("alert/overheat", ID_HOST), true);
  assert.deepEqual(bus.subscribers("alert/overheat"), [ID_HOST, 3]);
  bus.send(req("alert/overheat", { action: 6 }));
  bus.send(req("alert/overheat/x", { action: 6 }));
  bus.send(req("/alert/overheat", { action: 6 }));
  assert.equal(app.requests.length, 1);
  assert.equal(host.requests.length, 1);
  assert.equal(host.responses.length, 0, "events without subscribers get no reply");
});

Deno.test("bus: unsubscribing the last subscriber removes the event URL", () => {
  const bus = new MessageBus();
  bus.subscribe("a", 1);
  bus.subscribe("b", 1);
  bus.subscribe("b", 2);
  assert.deepEqual(bus.subscriptions(1), ["b", "a"]);
  bus.unsubscribe(undefined, 1);
  assert.deepEqual(bus.subscriptions(1), []);
  assert.deepEqual(bus.subscribers("a"), []);
  assert.deepEqual(bus.subscribers("b"), [2]);
  assert.equal(bus.subscribe("", 1), false);
});

Deno.test("bus: responses go to the receiver, or to the host when it is unknown", () => {
  const bus = new MessageBus();
  const host = endpoint();
  const app = endpoint();
  bus.attach(ID_HOST, host);
  bus.attach(1, app);
  const res = { status: 69, fmt: 0, mid: 1, receiver: 1, payload: undefined };
  bus.respond(res);
  bus.respond({ ...res, receiver: 9 });
  bus.respond({ ...res, receiver: -3 });
  assert.equal(app.responses.length, 1);
  assert.equal(host.responses.length, 2);
});

Deno.test("bus: detach drops the endpoint's resources and subscriptions", () => {
  const bus = new MessageBus();
  bus.attach(4, endpoint());
  bus.registerResource("/r", 4);
  bus.subscribe("e", 4);
  bus.detach(4);
  assert.equal(bus.endpoint(4), undefined);
  assert.deepEqual(bus.resources(4), []);
  assert.deepEqual(bus.subscriptions(4), []);
});

Deno.test("bus: errorPayload is WAMR's container byte for byte (tag '', one string)", () => {
  const bytes = errorPayload("Handle event request failed.");
  const c = decode(bytes);
  assert.equal(c.tag, "");
  assert.deepEqual(c.entries().map(([k]) => k), ["error message"]);
  // attr_container_create("") reserves 100 spare bytes; the 47-byte string attribute fits.
  assert.equal(bytes.length, 2 + 4 + 2 + 1 + 100);
});

Deno.test("bus: a delivery that unsubscribes does not change who gets the event being published", () => {
  const bus = new MessageBus();
  const got: number[] = [];
  for (const id of [1, 2, 3]) {
    bus.attach(id, {
      deliverRequest: () => {
        got.push(id);
        // The newest subscriber (3) gets it first and unsubscribes everyone, itself included.
        bus.unsubscribe("e", 1);
        bus.unsubscribe("e", 2);
        bus.unsubscribe("e", 3);
      },
      deliverResponse: () => {},
    });
    bus.subscribe("e", id);
  }
  assert.equal(bus.publish(req("e", { action: 6 })), 3);
  assert.deepEqual(got, [3, 2, 1]);
  assert.deepEqual(bus.subscribers("e"), []);
  assert.equal(bus.publish(req("e", { action: 6 })), 0);
});
