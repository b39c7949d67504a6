// make-icons.mjs — draws the demo's app icons (an egg on the farm's green) as PNGs, with
// node's zlib and no image library: node demo/tools/make-icons.mjs OUT_DIR.
// Writes icon-192.png, icon-512.png (rounded, "any") and maskable-512.png (full bleed,
// the egg inside the 80 % safe zone). `make demo` runs it when it stages the demo.
import { deflateSync } from 'node:zlib';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const GREEN = [47, 111, 62], SHELL = [251, 240, 214], SHADE = [232, 210, 170], CLEAR = [0, 0, 0, 0];

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'ascii');
  data.copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}
function png(size, rgba) {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header.set([8, 6, 0, 0, 0], 8);            // 8-bit RGBA, no interlace
  const raw = Buffer.alloc(size * (size * 4 + 1));
  for (let y = 0; y < size; y++) rgba.copy(raw, y * (size * 4 + 1) + 1, y * size * 4, (y + 1) * size * 4);
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', header),
    chunk('IDAT', deflateSync(raw, { level: 9 })), chunk('IEND', Buffer.alloc(0))]);
}

// Colour at (u, v) in [0,1]²: background square (rounded unless maskable), then the egg.
function sample(u, v, { maskable }) {
  const r = maskable ? 0 : 0.22, m = maskable ? 0 : 0.04;
  const dx = Math.max(Math.abs(u - 0.5) - (0.5 - m - r), 0), dy = Math.max(Math.abs(v - 0.5) - (0.5 - m - r), 0);
  if (dx * dx + dy * dy > r * r && (dx > 0 || dy > 0)) return CLEAR;
  if (Math.abs(u - 0.5) > 0.5 - m || Math.abs(v - 0.5) > 0.5 - m) return CLEAR;
  const scale = maskable ? 0.27 : 0.33;
  const y = (v - 0.53) / scale, x = (u - 0.5) / scale;              // egg: wider below, pointed above
  const half = Math.sqrt(Math.max(0, 1 - y * y)) * (0.78 + 0.1 * y);
  if (Math.abs(y) <= 1 && Math.abs(x) <= half) return x + 0.16 > half * 0.98 || y > 0.93 ? SHADE : SHELL;   // a crescent of shade
  return GREEN;
}

function draw(size, opts) {
  const rgba = Buffer.alloc(size * size * 4);
  const ss = 4;                                 // 4×4 supersampling for smooth edges
  for (let py = 0; py < size; py++) for (let px = 0; px < size; px++) {
    const acc = [0, 0, 0, 0];
    for (let sy = 0; sy < ss; sy++) for (let sx = 0; sx < ss; sx++) {
      const c = sample((px + (sx + 0.5) / ss) / size, (py + (sy + 0.5) / ss) / size, opts);
      const a = c.length === 4 ? c[3] : 255;
      for (let i = 0; i < 3; i++) acc[i] += c[i] * a;
      acc[3] += a;
    }
    const o = (py * size + px) * 4;
    for (let i = 0; i < 3; i++) rgba[o + i] = acc[3] ? Math.round(acc[i] / acc[3]) : 0;
    rgba[o + 3] = Math.round(acc[3] / (ss * ss));
  }
  return png(size, rgba);
}

const out = process.argv[2];
if (!out) { console.error('usage: node demo/tools/make-icons.mjs OUT_DIR'); process.exit(2); }
mkdirSync(out, { recursive: true });
writeFileSync(join(out, 'icon-192.png'), draw(192, { maskable: false }));
writeFileSync(join(out, 'icon-512.png'), draw(512, { maskable: false }));
writeFileSync(join(out, 'maskable-512.png'), draw(512, { maskable: true }));
