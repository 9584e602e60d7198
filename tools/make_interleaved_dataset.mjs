#!/usr/bin/env node
// Builds an interleaved text-and-image dataset (inputs/datasets/*.mm.txt) from real HTML
// documents: every page is one sample, read in document order as runs of text and the images
// it shows. Text runs are counted in BPE tokens under OpenAI's cl100k_base encoding (close to
// LLaMA-3's tokenizer, which extends it) from the npm package gpt-tokenizer; images keep their
// real pixel sizes, read from the PNG, JPEG or GIF header of the file the page points to.
//
//   npm install --prefix /tmp/flexcp-tok gpt-tokenizer@4
//   NODE_PATH=/tmp/flexcp-tok/node_modules node tools/make_interleaved_dataset.mjs NAME "DESCRIPTION" MIN_SIDE FILE.html... > out.mm.txt
//
// Images with a side below MIN_SIDE pixels are navigation icons and bullets (prev/next arrows,
// note markers), not content a training pipeline keeps: they are dropped and counted in the
// header, as are images whose file is missing or not a raster format (SVG). Output format, one
// sample per line: `t N` for a run of N text tokens, `i WxH` for an image (docs/inputs.md).
import { readFileSync, existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(process.env.NODE_PATH + '/');
const { encode } = require('gpt-tokenizer/cjs/encoding/cl100k_base');
const pkg = require('gpt-tokenizer/package.json');

// Pixel size from the file's header: PNG IHDR, GIF logical screen, JPEG start-of-frame marker.
function imageSize(bytes) {
  if (bytes.length > 24 && bytes.readUInt32BE(0) === 0x89504e47) return [bytes.readUInt32BE(16), bytes.readUInt32BE(20)];
  if (bytes.length > 10 && bytes.toString('latin1', 0, 3) === 'GIF') return [bytes.readUInt16LE(6), bytes.readUInt16LE(8)];
  if (bytes.length > 4 && bytes[0] === 0xff && bytes[1] === 0xd8) {
    let at = 2;
    while (at + 9 < bytes.length) {
      if (bytes[at] !== 0xff) { at += 1; continue; }
      const marker = bytes[at + 1];
      const size = bytes.readUInt16BE(at + 2);
      // SOF0-SOF15 carry the frame size, except DHT (C4), JPG (C8) and DAC (CC).
      if (marker >= 0xc0 && marker <= 0xcf && ![0xc4, 0xc8, 0xcc].includes(marker))
        return [bytes.readUInt16BE(at + 7), bytes.readUInt16BE(at + 5)];
      at += 2 + size;
    }
  }
  return null;
}

const entities = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };
function textOf(html) {
  return html.replace(/<[^>]*>/g, ' ')
    .replace(/&(#x?[0-9a-fA-F]+|\w+);/g, (m, e) => e[0] === '#'
      ? String.fromCodePoint(e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10))
      : (entities[e] ?? m))
    .replace(/\s+/g, ' ').trim();
}

const [name, description, minSideText, ...files] = process.argv.slice(2);
const minSide = Number(minSideText);
const dropped = { small: 0, missing: 0, notRaster: 0 };
const samples = [];
let images = 0, textTokens = 0, withImages = 0;
const pixels = [];
for (const file of files) {
  let html = readFileSync(file, 'utf8');
  html = html.replace(/<head[\s\S]*?<\/head>/i, '').replace(/<(script|style)[\s\S]*?<\/\1>/gi, '');
  const parts = [];
  let last = 0, pageImages = 0;
  const addText = (chunk) => {
    const n = encode(textOf(chunk), { allowedSpecial: 'all' }).length;
    if (n === 0) return;
    if (parts.length && parts[parts.length - 1][0] === 't') parts[parts.length - 1][1] += n;
    else parts.push(['t', n]);
    textTokens += n;
  };
  for (const m of html.matchAll(/<img\b[^>]*>/gi)) {
    addText(html.slice(last, m.index));
    last = m.index + m[0].length;
    const src = /\bsrc\s*=\s*"([^"]*)"|\bsrc\s*=\s*'([^']*)'/i.exec(m[0]);
    if (!src) continue;
    const path = resolve(dirname(file), decodeURI((src[1] ?? src[2]).split('#')[0]));
    if (!existsSync(path)) { dropped.missing += 1; continue; }
    const size = imageSize(readFileSync(path));
    if (!size) { dropped.notRaster += 1; continue; }
    if (Math.min(size[0], size[1]) < minSide) { dropped.small += 1; continue; }
    parts.push(['i', `${size[0]}x${size[1]}`]);
    pixels.push(size[0] * size[1]);
    images += 1; pageImages += 1;
  }
  addText(html.slice(last));
  if (parts.length === 0) continue;
  if (pageImages > 0) withImages += 1;
  samples.push(parts.map(([k, v]) => `${k} ${v}`).join(' '));
}
pixels.sort((a, b) => a - b);
const q = (p) => pixels[Math.min(pixels.length - 1, Math.floor(p * pixels.length))];
const out = [
  `# flexcp interleaved text-and-image dataset: ${name}`,
  `# source: ${description}`,
  `# tokenizer: gpt-tokenizer ${pkg.version} (npm), encoding cl100k_base, on the page's text with tags removed; images: pixel sizes from their PNG/JPEG/GIF headers`,
  `# samples: ${samples.length} (${withImages} with images)  text tokens: ${textTokens}  images: ${images}`,
  `# image pixels (w*h): p10 ${q(0.1)}  p50 ${q(0.5)}  p90 ${q(0.9)}  p99 ${q(0.99)}  max ${pixels[pixels.length - 1]}`,
  `# dropped images: ${dropped.small} with a side < ${minSide} px (icons), ${dropped.missing} missing files, ${dropped.notRaster} not PNG/JPEG/GIF`,
  `# format: one sample (page) per line, in page order: "t N" = N text tokens, "i WxH" = an image of W x H pixels`,
  `# generated by tools/make_interleaved_dataset.mjs on ${new Date().toISOString().slice(0, 10)}`,
  ...samples,
];
process.stdout.write(out.join('\n') + '\n');
