/**
 * PNG snapshots of a frame buffer: 8-bit RGBA, no interlace, filter 0 on every row, one IDAT
 * chunk compressed with the platform's zlib (`CompressionStream("deflate")`). No dependency.
 *
 * @module
 */

/** What `encodePng` reads: a size and ARGB8888 pixels. */
export interface PixelSource {
  /** Width in pixels. */
  readonly width: number;
  /** Height in pixels. */
  readonly height: number;
  /** Row-major `0xAARRGGBB` pixels. */
  readonly pixels: Uint32Array;
}

/** Options for {@linkcode encodePng}. */
export interface PngOptions {
  /**
   * Keep each pixel's alpha byte. Default false: the screen is opaque (the SDL simulator
   * ignores alpha), so every pixel is written with alpha 255.
   */
  keepAlpha?: boolean;
}

/** The eight bytes every PNG starts with. */
export const PNG_SIGNATURE: Uint8Array = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 13, 10, 0x1a, 10);

let _crcTable: Uint32Array | undefined;

function _table(): Uint32Array {
  if (_crcTable) return _crcTable;
  _crcTable = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    _crcTable[n] = c >>> 0;
  }
  return _crcTable;
}

/**
 * CRC-32 (ISO 3309, the one PNG and zip use).
 *
 * @param bytes the data
 * @returns the CRC as an unsigned number
 *
 * @example The check value
 * ```ts
 * import assert from "node:assert/strict";
 * import { crc32 } from "./png.ts";
 * assert.equal(crc32(new TextEncoder().encode("123456789")), 0xcbf43926); // the standard check
 * ```
 */
export function crc32(bytes: Uint8Array): number {
  const table = _table();
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = table[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function _chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  dv.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

async function _deflate(data: Uint8Array<ArrayBuffer>): Promise<Uint8Array> {
  const stream = new Blob([data]).stream().pipeThrough(new CompressionStream("deflate"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/**
 * Encodes a frame buffer as a PNG file.
 *
 * @param source width, height and `0xAARRGGBB` pixels (a `Framebuffer` will do)
 * @param options alpha handling
 * @returns the PNG file's bytes
 *
 * @example Encode a 2×1 image
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodePng, PNG_SIGNATURE } from "./png.ts";
 * const png = await encodePng({ width: 2, height: 1, pixels: Uint32Array.of(0xffff0000, 0) });
 * assert.deepEqual(png.subarray(0, 8), PNG_SIGNATURE);
 * assert.equal(new TextDecoder().decode(png.subarray(12, 16)), "IHDR");
 * ```
 */
export async function encodePng(
  source: PixelSource,
  options: PngOptions = {},
): Promise<Uint8Array<ArrayBuffer>> {
  const { width, height, pixels } = source;
  if (pixels.length < width * height) {
    throw new RangeError(`${pixels.length} pixels do not fill ${width}×${height}`);
  }
  const alphaMask = options.keepAlpha ? 0 : 0xff;
  const raw = new Uint8Array(height * (1 + width * 4));
  let o = 0;
  for (let y = 0; y < height; y++) {
    raw[o++] = 0; // filter type None
    for (let x = 0, i = y * width; x < width; x++, i++) {
      const p = pixels[i]!;
      raw[o++] = (p >>> 16) & 0xff;
      raw[o++] = (p >>> 8) & 0xff;
      raw[o++] = p & 0xff;
      raw[o++] = (p >>> 24) | alphaMask;
    }
  }
  const header = new Uint8Array(13);
  const dv = new DataView(header.buffer);
  dv.setUint32(0, width);
  dv.setUint32(4, height);
  header.set([8, 6, 0, 0, 0], 8); // 8-bit, RGBA, deflate, filter method 0, no interlace
  const parts = [
    PNG_SIGNATURE,
    _chunk("IHDR", header),
    _chunk("IDAT", await _deflate(raw)),
    _chunk("IEND", new Uint8Array(0)),
  ];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
