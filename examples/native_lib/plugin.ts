/**
 * A vendor native library, the counterpart of WAMR's samples/native-lib: three natives an
 * app calls through ordinary C declarations (see `test_natives.h`).
 *
 * Run: `deno run --allow-read mod.ts --plugin examples/native_lib/plugin.ts examples/native_lib/test.wasm`
 *
 * @module
 */

import { defineNativeLibrary, encodeUtf8 } from "../../sdk/mod.ts";

export default defineNativeLibrary({
  name: "native_lib",
  symbols: (native) => ({
    test_add: native("(ii)i", (_ctx, x, y) => x + y),
    test_sqrt: native("(ii)i", (_ctx, x, y) => x * x + y * y),
    // snprintf semantics: write what fits, always NUL-terminate, return the needed size.
    test_hello: native("($*~)i", (_ctx, name, buf, size) => {
      const message = encodeUtf8(`Hello ${name}!`);
      if (size > 0) {
        const n = Math.min(message.length, size - 1);
        buf.set(message.subarray(0, n));
        buf[n] = 0;
      }
      return message.length + 1;
    }),
  }),
});
