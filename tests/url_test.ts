import assert from "node:assert/strict";
import { checkUrlStart, findKeyValue, parseAppUrl } from "../core/framework/url.ts";

Deno.test("url: checkUrlStart matches the prefix exactly or before '/' or '?'", () => {
  assert.equal(checkUrlStart("/abc", "/abc"), 4);
  assert.equal(checkUrlStart("/abc/x", "/abc"), 5);
  assert.equal(checkUrlStart("/abc?x", "/abc"), 5);
  assert.equal(checkUrlStart("/abcd", "/abc"), 0);
  assert.equal(checkUrlStart("/ab", "/abc"), 0);
  assert.equal(checkUrlStart("/abx", "/abc"), 0);
});

Deno.test("url: checkUrlStart returns the offset of the query in '/applet?x'", () => {
  const url = "/applet?x";
  assert.equal(checkUrlStart(url, "/applet"), 8);
  assert.equal(url[checkUrlStart(url, "/applet")], "x");
});

Deno.test("url: checkUrlStart ignores leading slashes and a trailing one on the prefix", () => {
  assert.equal(checkUrlStart("abc", "/abc"), 3);
  assert.equal(checkUrlStart("/abc", "abc"), 4);
  assert.equal(checkUrlStart("/abc", "/abc/"), 4);
  assert.equal(checkUrlStart("/app/x/y", "/app/"), 5);
  assert.equal(checkUrlStart("/abc/", "/abc/"), 5);
  assert.equal(checkUrlStart("//abc", "/abc"), 0);
});

Deno.test("url: checkUrlStart never matches an empty prefix", () => {
  assert.equal(checkUrlStart("/abc", ""), 0);
  assert.equal(checkUrlStart("/abc", "/"), 0);
  assert.equal(checkUrlStart("/", "/"), 0);
  assert.equal(checkUrlStart("", "/a"), 0);
});

Deno.test("url: findKeyValue finds keys in a query string", () => {
  const q = "name=demo&type=wasm&heap=8192";
  assert.equal(findKeyValue(q, "name"), "demo");
  assert.equal(findKeyValue(q, "type"), "wasm");
  assert.equal(findKeyValue(q, "heap"), "8192");
  assert.equal(findKeyValue(q, "wd"), undefined);
  assert.equal(findKeyValue(q, "nam"), undefined);
  assert.equal(findKeyValue("names=x&name=y", "name"), "y");
});

Deno.test("url: findKeyValue skips spaces and delimiters before a key", () => {
  assert.equal(findKeyValue("&& a=1 & b=2", "b"), "2");
  assert.equal(findKeyValue("  a=1 x&b=2", "a"), "1 x");
  assert.equal(findKeyValue("a=1;b=2", "b", ";"), "2");
  assert.equal(findKeyValue("a=1;b=2", "b"), undefined);
});

Deno.test("url: findKeyValue handles empty values and keys without '='", () => {
  assert.equal(findKeyValue("name=&x=1", "name"), "");
  assert.equal(findKeyValue("name", "name"), undefined);
  assert.equal(findKeyValue("name&x=1", "name"), undefined);
  assert.equal(findKeyValue("", "name"), undefined);
});

Deno.test("url: findKeyValue cuts the value at outLen - 1 bytes", () => {
  assert.equal(findKeyValue("name=abcdef&x=1", "name", "&", 4), "abc");
  assert.equal(findKeyValue("name=abc", "name", "&", 1), "");
  assert.equal(findKeyValue("name=" + "n".repeat(200), "name", "&", 128), "n".repeat(127));
});

Deno.test("url: parseAppUrl splits /app/<name>/<rest> at the first '/' (AF)", () => {
  assert.deepEqual(parseAppUrl("/app/request_handler/url1"), {
    name: "request_handler",
    rest: "url1",
  });
  assert.deepEqual(parseAppUrl("/app/a/b/c"), { name: "a", rest: "b/c" });
  assert.deepEqual(parseAppUrl("/app/a/"), { name: "a", rest: "" });
});

Deno.test("url: parseAppUrl splits at the last '/' in the seed era", () => {
  assert.deepEqual(parseAppUrl("/app/a/b/c", { era: "seed" }), { name: "a/b", rest: "c" });
  assert.deepEqual(parseAppUrl("/app/request_handler/url1", { era: "seed" }), {
    name: "request_handler",
    rest: "url1",
  });
});

Deno.test("url: parseAppUrl gives up without a '/' after the name or the prefix", () => {
  assert.equal(parseAppUrl("/app/name"), undefined);
  assert.equal(parseAppUrl("/app"), undefined);
  assert.equal(parseAppUrl("/applet?name=x"), undefined);
  assert.equal(parseAppUrl("/other/a/b"), undefined);
  assert.deepEqual(parseAppUrl("/app?a/b"), { name: "a", rest: "b" });
});

Deno.test("url: parseAppUrl reads at most 127 bytes after '/app/'", () => {
  const long = "/app/n/" + "r".repeat(200);
  assert.deepEqual(parseAppUrl(long), { name: "n", rest: "r".repeat(125) });
  assert.equal(parseAppUrl("/app/" + "n".repeat(127) + "/rest"), undefined);
});
