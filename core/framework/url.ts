/**
 * URL helpers of WAMR's router: prefix matching (`check_url_start`), query parsing
 * (`find_key_value`) and splitting targeted `/app/<name>/<rest>` URLs.
 *
 * @module
 */

const _encoder = new TextEncoder();
const _decoder = new TextDecoder();

/**
 * WAMR's `check_url_start`: does `url` start with the resource `prefix`?
 *
 * A leading `/` is ignored on both, and a trailing `/` on the prefix. It matches when the
 * rest of the URL equals the prefix, or continues with `/` or `?` right after it. An empty
 * prefix (or just `/`) never matches.
 *
 * @param url the request URL
 * @param prefix the registered resource URL
 * @returns 0 when there is no match; otherwise (always > 0) the index in `url` just past the
 *   prefix and its separator: `url.length` for an exact match, the index of `x` in `/abc?x`.
 *   Indices count UTF-16 code units, the same as WAMR's byte offsets for ASCII URLs
 *
 * @example Match the /applet resource
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkUrlStart } from "./url.ts";
 * const url = "/applet?name=a";
 * assert.equal(url.slice(checkUrlStart(url, "/applet")), "name=a");
 * assert.equal(checkUrlStart("/abcd", "/abc"), 0);
 * ```
 */
export function checkUrlStart(url: string, prefix: string): number {
  // Index arithmetic, no sliced strings: every request is matched against the table.
  const start = prefix.charCodeAt(0) === _SLASH ? 1 : 0;
  let end = prefix.length;
  if (end > start && prefix.charCodeAt(end - 1) === _SLASH) end--;
  const length = end - start;
  if (length === 0) return 0;
  const offset = url.charCodeAt(0) === _SLASH ? 1 : 0;
  const rest = url.length - offset;
  if (rest < length) return 0;
  for (let i = 0; i < length; i++) {
    if (url.charCodeAt(offset + i) !== prefix.charCodeAt(start + i)) return 0;
  }
  if (rest === length) return offset + length;
  const sep = url.charCodeAt(offset + length);
  return sep === _SLASH || sep === _QUESTION ? offset + length + 1 : 0;
}

const _SLASH = 0x2f;
const _QUESTION = 0x3f;

/**
 * WAMR's `find_key_value` over a query string such as `name=a&heap=8192`.
 *
 * Spaces and delimiters before a pair are skipped; the key must be followed by `=`; the value
 * runs to the next delimiter (spaces included). Like the C version, a value longer than
 * `outLen - 1` UTF-8 bytes is cut there.
 *
 * @param query the text after `?`
 * @param key the key to find
 * @param delim the pair delimiter, default `&`
 * @param outLen the size of WAMR's output buffer including its NUL; default unlimited
 * @returns the value (possibly `""`), or `undefined` when the key is absent
 *
 * @example Read install options
 * ```ts
 * import assert from "node:assert/strict";
 * import { findKeyValue } from "./url.ts";
 * assert.equal(findKeyValue("name=demo&heap=8192", "heap"), "8192");
 * assert.equal(findKeyValue("name=demo", "type"), undefined);
 * ```
 */
export function findKeyValue(
  query: string,
  key: string,
  delim = "&",
  outLen = Infinity,
): string | undefined {
  const buf = _encoder.encode(query);
  const k = _encoder.encode(key);
  const d = delim.charCodeAt(0);
  // Reads past the end see the C string's NUL.
  const at = (i: number): number => buf[i] ?? 0;
  let p = 0;
  let remaining = buf.length;
  while (at(p) !== 0 && remaining > 0) {
    while (at(p) === 0x20 || at(p) === d) {
      p++;
      remaining--;
    }
    if (remaining <= k.length) return undefined;
    if (k.every((b, i) => at(p + i) === b) && at(p + k.length) === 0x3d) {
      p += k.length + 1;
      remaining -= k.length + 1;
      const start = p;
      let room = outLen - 1;
      while (at(p) !== d && remaining > 0 && room > 0) {
        p++;
        remaining--;
        room--;
      }
      return _decoder.decode(buf.subarray(start, p));
    }
    while (at(p) !== d && remaining > 0) {
      p++;
      remaining--;
    }
  }
  return undefined;
}

/** Options for {@linkcode parseAppUrl}. */
export interface AppUrlOptions {
  /**
   * `"af"` (default): the name ends at the first `/` (`strchr`, WAMR from 2019 on and the app
   * framework). `"seed"`: it ends at the last `/` (`strrchr`, the seed-era app manager).
   */
  era?: "af" | "seed";
}

/**
 * Splits a targeted request URL `/app/<name>/<rest>` the way the app manager's
 * `/app/` handler does. It copies at most 127 bytes after the prefix (the URL the app gets is
 * cut there too), and gives up when no `/` follows the name, in which case WAMR sends no reply.
 * The prefix is matched with {@linkcode checkUrlStart}, so `/app?x/y` counts as well.
 *
 * @param url the request URL
 * @param options the era, which picks the first or the last `/`
 * @returns `{ name, rest }`, or `undefined` when the URL is not a targeted one
 *
 * @example Split a targeted URL
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseAppUrl } from "./url.ts";
 * assert.deepEqual(parseAppUrl("/app/request_handler/url1"), {
 *   name: "request_handler",
 *   rest: "url1",
 * });
 * ```
 */
export function parseAppUrl(
  url: string,
  options: AppUrlOptions = {},
): { name: string; rest: string } | undefined {
  const offset = checkUrlStart(url, "/app/");
  if (offset === 0) return undefined;
  const tail = _encoder.encode(url.slice(offset)).subarray(0, 127);
  const slash = options.era === "seed" ? tail.lastIndexOf(0x2f) : tail.indexOf(0x2f);
  if (slash < 0) return undefined;
  return {
    name: _decoder.decode(tail.subarray(0, slash)),
    rest: _decoder.decode(tail.subarray(slash + 1)),
  };
}
