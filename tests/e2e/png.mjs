// Reads the pixels of the 8-bit PNGs the renderer writes (grey, grey+alpha, RGB, RGBA; no
// interlace), enough to check what a thumbnail shows.
import { inflateSync } from "node:zlib";

/** `{ width, height, channels, pixels }` of `png` (a Buffer), rows unfiltered. */
export function decodePng(png) {
  let at = 8;
  let width, height, channels;
  const data = [];
  while (at < png.length) {
    const length = png.readUInt32BE(at);
    const type = png.subarray(at + 4, at + 8).toString("latin1");
    const body = png.subarray(at + 8, at + 8 + length);
    if (type === "IHDR") {
      width = body.readUInt32BE(0);
      height = body.readUInt32BE(4);
      if (body[8] !== 8 || body[12] !== 0) throw new Error("only 8-bit, non-interlaced PNGs");
      channels = { 0: 1, 2: 3, 4: 2, 6: 4 }[body[9]];
      if (!channels) throw new Error(`colour type ${body[9]}`);
    } else if (type === "IDAT") data.push(body);
    at += 12 + length;
  }
  const raw = inflateSync(Buffer.concat(data));
  const stride = width * channels;
  const pixels = Buffer.alloc(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    for (let x = 0; x < stride; x++) {
      const v = raw[y * (stride + 1) + 1 + x];
      const a = x >= channels ? pixels[y * stride + x - channels] : 0;
      const b = y > 0 ? pixels[(y - 1) * stride + x] : 0;
      const c = x >= channels && y > 0 ? pixels[(y - 1) * stride + x - channels] : 0;
      const p = a + b - c;
      const paeth = Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c) ? a : Math.abs(p - b) <= Math.abs(p - c) ? b : c;
      const predicted = [0, a, b, (a + b) >> 1, paeth][filter];
      if (predicted === undefined) throw new Error(`filter ${filter}`);
      pixels[y * stride + x] = (v + predicted) & 0xff;
    }
  }
  return { width, height, channels, pixels };
}

/** The share of pixels whose first channel (grey, or red) is darker than mid-grey. */
export function inkShare(png) {
  const { width, height, channels, pixels } = decodePng(png);
  let dark = 0;
  for (let i = 0; i < width * height; i++) if (pixels[i * channels] < 128) dark++;
  return dark / (width * height);
}
