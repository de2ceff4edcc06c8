import assert from "node:assert/strict";
import { runHostTool } from "../core/cli/host_command.ts";
import { encodeFrame, FrameParser, HostMessageType } from "../sdk/host_link.ts";
import {
  Action,
  decodeRequest,
  encodeRequest,
  encodeResponse,
  FMT_APP_RAW_BINARY,
  FMT_ATTR_CONTAINER,
  ID_HOST,
  type Request,
  type Response,
} from "../sdk/packet.ts";
import { AttrContainer, decode, encodeLikeWamr } from "../sdk/attr_container.ts";
import { HostService } from "../core/cli/serve_command.ts";
import { selfSignedCertificate } from "./_tls.ts";

interface Received {
  type: number;
  request: Request;
  raw: Uint8Array;
}

/**
 * A one-connection fake runtime: records each frame and answers with `reply` (or stays
 * silent when it returns undefined); `after` may push more frames (events).
 */
function fakeRuntime(
  reply: (req: Request) => Partial<Response> | undefined,
  after?: (req: Request, send: (frame: Uint8Array) => Promise<void>) => Promise<void>,
) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const received: Received[] = [];
  const done = (async () => {
    const conn = await listener.accept();
    const parser = new FrameParser({ maxPayload: 4 * 1024 * 1024 });
    const buf = new Uint8Array(65536);
    const send = async (frame: Uint8Array) => {
      let off = 0;
      while (off < frame.length) off += await conn.write(frame.subarray(off));
    };
    try {
      while (true) {
        const n = await conn.read(buf);
        if (n === null) break;
        for (const e of parser.push(buf.subarray(0, n))) {
          if (e.kind !== "frame") continue;
          const request = decodeRequest(e.payload);
          received.push({ type: e.type, request, raw: e.payload.slice() });
          const r = reply(request);
          if (r) {
            await send(encodeFrame(
              3,
              encodeResponse({
                status: 69,
                fmt: 0,
                mid: request.mid,
                receiver: ID_HOST,
                payload: undefined,
                ...r,
              }),
            ));
          }
          await after?.(request, send);
        }
      }
    } catch {
      // The tool closed the connection.
    } finally {
      conn.close();
    }
  })();
  const port = (listener.addr as Deno.NetAddr).port;
  return {
    port,
    received,
    async close() {
      await done;
      listener.close();
    },
  };
}

async function tool(argv: string[]) {
  let out = "";
  let err = "";
  const status = await runHostTool(argv, {
    stdout: (t) => out += t,
    stderr: (t) => err += t,
  });
  return { status, out, err };
}

const CONTENT = (c: AttrContainer): Partial<Response> => ({
  status: 69,
  fmt: FMT_ATTR_CONTAINER,
  payload: encodeLikeWamr(c),
});

Deno.test("host command: -q sends GET /applet fmt 99 and prints the reply like host_tool", async () => {
  const fake = await fakeRuntime(() => CONTENT(new AttrContainer("Applets Info").setInt("num", 0)));
  const r = await tool(["-P", String(fake.port), "-q"]);
  await fake.close();
  assert.equal(r.status, 69);
  assert.equal(r.out, '\nresponse status 69\n{\n\t"num":\t0\n}');
  const got = fake.received[0]!;
  assert.equal(got.type, HostMessageType.REQUEST);
  assert.deepEqual(
    { ...got.request, mid: 0 },
    { action: 1, fmt: 99, mid: 0, sender: 0, url: "/applet", payload: undefined },
  );
  // Same layout as the §12 capture except for the random mid.
  const capture = encodeRequest({
    action: 1,
    fmt: 99,
    mid: got.request.mid,
    sender: 0,
    url: "/applet",
    payload: undefined,
  });
  assert.deepEqual(got.raw, capture);
});

Deno.test("host command: the query name must be attached (-qNAME, --query=NAME); -q NAME is all", async () => {
  for (
    const [argv, url] of [
      [["-qrequest_handler"], "/applet?name=request_handler"],
      [["--query=x"], "/applet?name=x"],
      [["-q", "x"], "/applet"],
      [["--query", "x"], "/applet"],
    ] as const
  ) {
    const fake = await fakeRuntime(() => ({ status: 69 }));
    const r = await tool(["-P", String(fake.port), ...argv]);
    await fake.close();
    assert.equal(r.status, 69);
    assert.equal(fake.received[0]!.request.url, url, argv.join(" "));
  }
});

Deno.test("host command: -i sends a type-4 frame, PUT /applet?name=… fmt 98 with the file", async () => {
  const dir = await Deno.makeTempDir();
  const file = `${dir}/app.wasm`;
  const wasm = new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]);
  await Deno.writeFile(file, wasm);
  const fake = await fakeRuntime(() => ({ status: 65 }));
  const r = await tool([
    "-P",
    String(fake.port),
    "-i",
    "demo",
    "-f",
    file,
    "--heap=16384",
    "--timers=5",
    "--watchdog=1000",
    "--type=wasm",
  ]);
  await fake.close();
  await Deno.remove(dir, { recursive: true });
  assert.equal(r.status, 65);
  assert.equal(r.out, "\nresponse status 65\n");
  const got = fake.received[0]!;
  assert.equal(got.type, HostMessageType.INSTALL);
  assert.equal(got.request.action, Action.PUT);
  assert.equal(got.request.fmt, FMT_APP_RAW_BINARY);
  assert.equal(got.request.url, "/applet?name=demo&type=wasm&heap=16384&timers=5&wd=1000");
  assert.deepEqual(got.request.payload, wasm);
});

Deno.test("host command: -u, -s, -d and -r build host_tool's URLs, actions and fmt 99", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/p.json`, '{"n": 3, "on": true, "s": "x", "a": [1, 2]}');
  const cases: [string[], number, string][] = [
    [["-u", "demo"], Action.DELETE, "/applet?name=demo"],
    [["-u", "demo", "--type=wasm"], Action.DELETE, "/applet?name=demo&type=wasm"],
    [["-s", "/alert/overheat"], Action.PUT, "/event/alert/overheat"],
    [["-s", "alert/overheat"], Action.PUT, "/event/alert/overheat"],
    [["-d", "/x"], Action.DELETE, "/event//x"],
    [["-d", "x"], Action.DELETE, "/event/x"],
    [["-r", "/url1", "-A", "post"], Action.POST, "/url1"],
    [["-r", "/app/a/b", "--action=DELETE"], Action.DELETE, "/app/a/b"],
    [["-r", "/u", "-A", "PUT", "-p", `${dir}/p.json`], Action.PUT, "/u"],
  ];
  for (const [argv, action, url] of cases) {
    const fake = await fakeRuntime(() => ({ status: 69 }));
    const r = await tool(["-P", String(fake.port), ...argv]);
    await fake.close();
    assert.equal(r.status, 69, argv.join(" "));
    const req = fake.received[0]!.request;
    assert.equal(fake.received[0]!.type, HostMessageType.REQUEST);
    assert.deepEqual([req.action, req.url, req.fmt], [action, url, 99], argv.join(" "));
    if (argv.includes("-p")) {
      const c = decode(req.payload!);
      assert.equal(c.tag, "");
      assert.deepEqual(c.get("n"), { type: "double", value: 3 });
      assert.deepEqual(c.get("on"), { type: "bool", value: true });
      assert.deepEqual(c.get("s"), { type: "string", value: "x" });
      assert.deepEqual(c.get("a"), { type: "bytearray", value: new Uint8Array([1, 2]) });
      // Sent as a C app holds it: 100 spare bytes at creation.
      assert.equal(req.payload!.length, encodeLikeWamr(c).length);
    } else {
      assert.equal(req.payload, undefined);
    }
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("host command: --deadline and --memory join the install URL; --resume POSTs action=resume", async () => {
  const dir = await Deno.makeTempDir();
  const file = `${dir}/app.wasm`;
  await Deno.writeFile(file, new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]));
  const install = await fakeRuntime(() => ({ status: 65 }));
  const i = await tool([
    "-P",
    String(install.port),
    "-i",
    "demo",
    "-f",
    file,
    "--deadline=250",
    "--memory=1048576",
  ]);
  await install.close();
  await Deno.remove(dir, { recursive: true });
  assert.equal(i.status, 65);
  assert.equal(install.received[0]!.request.url, "/applet?name=demo&deadline=250&memory=1048576");
  const resume = await fakeRuntime(() => ({ status: 68 }));
  const r = await tool(["-P", String(resume.port), "--resume", "demo"]);
  await resume.close();
  assert.equal(r.status, 68);
  assert.equal(r.out, "\nresponse status 68\n");
  const req = resume.received[0]!.request;
  assert.deepEqual(
    [resume.received[0]!.type, req.action, req.url, req.fmt, req.payload],
    [HostMessageType.REQUEST, Action.POST, "/applet?name=demo&action=resume", 99, undefined],
  );
});

Deno.test("host command: mids are random per run", async () => {
  const mids = new Set<number>();
  for (let i = 0; i < 3; i++) {
    const fake = await fakeRuntime(() => ({ status: 69 }));
    await tool(["-P", String(fake.port), "-q"]);
    await fake.close();
    mids.add(fake.received[0]!.request.mid);
  }
  assert.equal(mids.size, 3);
});

Deno.test("host command: no response prints 'operation timeout' and exits 2", async () => {
  const fake = await fakeRuntime(() => undefined);
  const r = await tool(["-P", String(fake.port), "-r", "/nomatch", "-A", "GET", "-t", "200"]);
  await fake.close();
  assert.equal(r.status, 2);
  assert.equal(r.out, "operation timeout\n");
});

Deno.test("host command: a response with another mid is ignored", async () => {
  const fake = await fakeRuntime((req) => ({ status: 66, mid: (req.mid + 1) >>> 0 }));
  const r = await tool(["-P", String(fake.port), "-q", "-t", "200"]);
  await fake.close();
  assert.equal(r.status, 2);
  assert.equal(r.out, "operation timeout\n");
});

Deno.test("host command: -a keeps printing events after the response; exit = response status", async () => {
  const event = encodeLikeWamr(
    new AttrContainer("").setString("warning", "temperature is over high"),
  );
  const fake = await fakeRuntime(() => ({ status: 69 }), async (_req, send) => {
    for (let i = 0; i < 2; i++) {
      await send(encodeFrame(
        2,
        encodeRequest({
          action: Action.EVENT,
          fmt: 99,
          mid: 9,
          sender: 1,
          url: "alert/overheat",
          payload: event,
        }),
      ));
    }
  });
  const r = await tool(["-P", String(fake.port), "-s", "/alert/overheat", "-a", "300"]);
  await fake.close();
  assert.equal(r.status, 69);
  const ev = '\nreceived an event alert/overheat\n{\n\t"warning":\t"temperature is over high"\n}';
  assert.equal(r.out, "\nresponse status 69\n" + ev + ev);
});

Deno.test("host command: --json prints one object per line", async () => {
  const fake = await fakeRuntime(
    () => CONTENT(new AttrContainer("Applets Info").setInt("num", 1).setString("applet1", "a")),
  );
  const r = await tool(["-P", String(fake.port), "-q", "--json"]);
  await fake.close();
  const line = JSON.parse(r.out);
  assert.deepEqual(
    { ...line, mid: 0 },
    { type: "response", status: 69, fmt: 99, mid: 0, payload: { num: 1, applet1: "a" } },
  );
  assert.ok(r.out.endsWith("}\n") && r.out.split("\n").length === 2);
});

Deno.test("host command: raw payloads appear as base64 in --json", async () => {
  const fake = await fakeRuntime(() => ({ status: 69, fmt: 0, payload: new Uint8Array([1, 2]) }));
  const r = await tool(["-P", String(fake.port), "-r", "/x", "-A", "GET", "--json"]);
  await fake.close();
  assert.deepEqual(JSON.parse(r.out).payload, { base64: "AQI=" });
});

Deno.test("host command: -o appends the output to a file too", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/log`, "before");
  const fake = await fakeRuntime(() => ({ status: 66 }));
  const r = await tool(["-P", String(fake.port), "-u", "x", `--output=${dir}/log`]);
  await fake.close();
  assert.equal(await Deno.readTextFile(`${dir}/log`), "before" + r.out);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("host command: wrong flags give one clear line and exit 2", async () => {
  const cases: [string[], RegExp][] = [
    [["--bogus"], /Unknown option "--bogus"/],
    [["-x"], /Unknown option "-x"/],
    [[], /No operation given/],
    [["-q", "-u", "a"], /Only one operation/],
    [["-i", "a"], /needs the app file/],
    [["-r", "/x"], /needs a method/],
    [["-r", "/x", "-A", "FETCH"], /Invalid action "FETCH"/],
    [["-q", "-P", "http"], /Invalid value for --port/],
    [["-q", "-t"], /"-t" needs a value/],
  ];
  for (const [argv, message] of cases) {
    const r = await tool(argv);
    assert.equal(r.status, 2, argv.join(" "));
    assert.match(r.err, message);
    assert.equal(r.err.trimEnd().split("\n").length, 1);
    assert.equal(r.out, "");
  }
});

Deno.test("host command: getopt_long's syntax: clusters, attached values, switches take none", async () => {
  const help = await tool(["-hq"]); // (-qh would query an app named "h")
  assert.equal(help.status, 0);
  assert.match(help.out, /^Usage: deno run mod\.ts host/);
  const fake = await fakeRuntime(() => ({ status: 69 }));
  const r = await tool([`-P${fake.port}`, "-t5000", "-qapp"]);
  await fake.close();
  assert.equal(r.status, 69);
  assert.equal(fake.received[0]?.request.url, "/applet?name=app");
  for (const device of ["--uart=/nonexistent/tty", "-D/nonexistent/tty"]) {
    const serial = await tool(["-q", device]);
    assert.equal(serial.status, 255);
    assert.match(serial.err, /^host: Cannot connect to \/nonexistent\/tty: /);
  }
  const cases: [string[], string][] = [
    [["-q", "--json=yes"], 'Option "--json" takes no value'],
    [["-q", "-P70000"], "Port out of range"],
    [["-q", "--udp=65536"], "Port out of range"],
    [["-q", "--timeout"], 'Option "--timeout" needs a value'],
    [["-q", "--alive=-1"], 'Invalid value for --alive: "-1" (expected a number)'],
  ];
  for (const [argv, message] of cases) {
    const e = await tool(argv);
    assert.equal(e.err, `host: ${message}\n`, argv.join(" "));
    assert.equal(e.status, 2);
  }
});

Deno.test("host command: a refused connection or a missing file exits 255", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const refused = await tool(["-P", String(port), "-q"]);
  assert.equal(refused.status, 255);
  assert.match(refused.err, /Cannot connect to 127\.0\.0\.1:\d+/);
  const missing = await tool(["-i", "a", "-f", "/nonexistent/app.wasm"]);
  assert.equal(missing.status, 255);
  assert.match(missing.err, /Cannot read "\/nonexistent\/app.wasm"/);
});

Deno.test("host command: --help prints the usage and exits 0", async () => {
  const r = await tool(["--help"]);
  assert.equal(r.status, 0);
  assert.match(r.out, /^Usage: deno run mod\.ts host/);
});

Deno.test("host command: --tls --ca and --token-file reach a runtime that asks for both", async () => {
  const tls = await selfSignedCertificate();
  await Deno.writeTextFile(`${tls.dir}/token`, "s3cret\n");
  await Deno.writeTextFile(`${tls.dir}/wrong`, "guess\n");
  const service = await HostService.start({
    port: 0,
    stdout: () => {},
    log: () => {},
    token: "s3cret",
    tls: { cert: tls.cert, key: tls.key },
  });
  try {
    const port = String(service.addr!.port);
    const at = ["-P", port, "--ca", tls.certFile];
    const ok = await tool([...at, `--token-file=${tls.dir}/token`, "-q"]);
    assert.deepEqual([ok.status, ok.out, ok.err], [
      69,
      '\nresponse status 69\n{\n\t"num":\t0\n}',
      "",
    ]);
    const wrong = await tool([...at, `--token-file=${tls.dir}/wrong`, "-q"]);
    assert.deepEqual([wrong.status, wrong.out], [255, ""]);
    assert.equal(
      wrong.err,
      "host: Authentication failed: the token does not match this runtime's\n",
    );
    const unreadable = await tool([...at, "--token-file=/nonexistent/token", "-q"]);
    assert.equal(unreadable.status, 255);
    assert.match(unreadable.err, /^host: Cannot read the token file "\/nonexistent\/token": /);
    const noCa = await tool(["-P", port, "--ca", "/nonexistent/ca.pem", "-q"]);
    assert.equal(noCa.status, 255);
    assert.match(noCa.err, /^host: Cannot read "\/nonexistent\/ca\.pem": /);
  } finally {
    await service.shutdown();
    await Deno.remove(tls.dir, { recursive: true });
  }
});
