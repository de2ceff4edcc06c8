import assert from "node:assert/strict";
import { crc32, encodePng, PNG_SIGNATURE } from "../natives/display/png.ts";
import { Framebuffer } from "../natives/display/framebuffer.ts";

async function inflate(data: Uint8Array<ArrayBuffer>): Promise<Uint8Array> {
  const stream = new Blob([data]).stream().pipeThrough(new DecompressionStream("deflate"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

interface Chunk {
  type: string;
  data: Uint8Array<ArrayBuffer>;
  crc: number;
  computed: number;
}

function chunks(png: Uint8Array): Chunk[] {
  const dv = new DataView(png.buffer, png.byteOffset, png.byteLength);
  const out: Chunk[] = [];
  for (let at = 8; at < png.length;) {
    const len = dv.getUint32(at);
    const type = new TextDecoder().decode(png.subarray(at + 4, at + 8));
    const data = png.slice(at + 8, at + 8 + len);
    const crc = dv.getUint32(at + 8 + len);
    out.push({ type, data, crc, computed: crc32(png.subarray(at + 4, at + 8 + len)) });
    at += 12 + len;
  }
  return out;
}

Deno.test("png: crc32 gives the standard check value", () => {
  assert.equal(crc32(new TextEncoder().encode("123456789")), 0xcbf43926);
  assert.equal(crc32(new Uint8Array(0)), 0);
});

Deno.test("png: encodePng writes IHDR, a zlib IDAT of filter-0 RGBA rows, IEND, valid CRCs", async () => {
  const fb = new Framebuffer(3, 2);
  fb.fill(0, 0, 0, 0, 0x80102030);
  fb.fill(2, 1, 2, 1, 0xff0000ff);
  const png = await encodePng(fb);
  assert.deepEqual(png.subarray(0, 8), PNG_SIGNATURE);
  const parts = chunks(png);
  assert.deepEqual(parts.map((c) => c.type), ["IHDR", "IDAT", "IEND"]);
  for (const c of parts) assert.equal(c.crc, c.computed, `${c.type} CRC`);
  const ihdr = new DataView(parts[0]!.data.buffer);
  assert.deepEqual(
    [ihdr.getUint32(0), ihdr.getUint32(4), ...parts[0]!.data.subarray(8)],
    [3, 2, 8, 6, 0, 0, 0],
  );
  assert.equal(parts[2]!.data.length, 0);
  assert.equal(parts[1]!.data[0]! & 0x0f, 8, "zlib header: deflate");
  const raw = await inflate(parts[1]!.data);
  assert.deepEqual([...raw], [
    0,
    ...[0x10, 0x20, 0x30, 255],
    ...[0x44, 0x44, 0x44, 255],
    ...[0x44, 0x44, 0x44, 255],
    0,
    ...[0x44, 0x44, 0x44, 255],
    ...[0x44, 0x44, 0x44, 255],
    ...[0, 0, 255, 255],
  ]);
  const keep = chunks(await encodePng(fb, { keepAlpha: true }));
  assert.deepEqual([...(await inflate(keep[1]!.data)).subarray(1, 9)], [
    0x10,
    0x20,
    0x30,
    0x80,
    0x44,
    0x44,
    0x44,
    0x44,
  ]);
  await assert.rejects(
    () => encodePng({ width: 2, height: 2, pixels: new Uint32Array(3) }),
    RangeError,
  );
});
