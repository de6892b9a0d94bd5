// Builds the app into dist/ (served by the server at /app/):
//   assets/app-<hash>.js, assets/app-<hash>.css  (cached for a year)
//   index.html, manifest.webmanifest, icons/     (revalidated)
//   sw.js                                        (the service worker, with the precache list)
// and build/triage.mjs, build/gatt.mjs (the browser triage and GATT parsers for Node, used by
// the agreement tests).
// generated/ (rule set and server texts) comes first, from `python -m server.careapp.export`.
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { deflateSync } from "node:zlib";
import * as esbuild from "esbuild";
import { injectManifest } from "workbox-build";

const here = new URL(".", import.meta.url).pathname;
const dist = `${here}dist`;
const tmp = `${here}build`;
for (const name of ["triage-rules.json", "server-texts.json"]) {
  if (!existsSync(`${here}generated/${name}`)) {
    console.error(`generated/${name} is missing: run \`make app\` (it exports the rule set first)`);
    process.exit(2);
  }
}
rmSync(dist, { recursive: true, force: true });
mkdirSync(`${dist}/assets`, { recursive: true });
mkdirSync(`${dist}/icons`, { recursive: true });
mkdirSync(tmp, { recursive: true });

const common = { bundle: true, minify: !process.env.APP_DEV, legalComments: "none", target: ["chrome100", "safari15"], logLevel: "warning" };
const app = await esbuild.build({
  ...common,
  entryPoints: { app: `${here}src/main.ts`, style: `${here}src/styles.css` },
  outdir: `${dist}/assets`,
  entryNames: "[name]-[hash]",
  format: "esm",
  // Screens only some roles open (the caseload map) load as their own chunk on first use.
  splitting: true,
  metafile: true,
  sourcemap: false,
  // Leaflet's sheet names a few small images (the layer switcher, the default marker):
  // inlined, so the bundle stays one file each for JS and CSS.
  loader: { ".png": "dataurl" },
});
const outputs = Object.keys(app.metafile.outputs).map((p) => p.split("/").pop());
const js = outputs.find((n) => n.startsWith("app-") && n.endsWith(".js"));
const css = outputs.find((n) => n.startsWith("style-") && n.endsWith(".css"));

const html = readFileSync(`${here}static/index.html`, "utf8").replace("__JS__", `assets/${js}`).replace("__CSS__", `assets/${css}`);
writeFileSync(`${dist}/index.html`, html);
copyFileSync(`${here}static/manifest.webmanifest`, `${dist}/manifest.webmanifest`);
copyFileSync(`${here}static/icons/icon.svg`, `${dist}/icons/icon.svg`);

// Square PNG icons (a white cross on blue) drawn here: no image tool needed.
function png(size) {
  const row = 1 + size * 4;
  const raw = Buffer.alloc(row * size);
  const arm = size / 5.3;
  const c = size / 2;
  for (let y = 0; y < size; y++) {
    raw[y * row] = 0;
    for (let x = 0; x < size; x++) {
      const cross = (Math.abs(x - c) < arm && Math.abs(y - c) < c * 0.62) || (Math.abs(y - c) < arm && Math.abs(x - c) < c * 0.62);
      const px = y * row + 1 + x * 4;
      raw[px] = cross ? 255 : 11;
      raw[px + 1] = cross ? 255 : 83;
      raw[px + 2] = cross ? 255 : 148;
      raw[px + 3] = 255;
    }
  }
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let k = n;
    for (let i = 0; i < 8; i++) k = k & 1 ? 0xedb88320 ^ (k >>> 1) : k >>> 1;
    return k >>> 0;
  });
  const crc = (buf) => {
    let x = 0xffffffff;
    for (const b of buf) x = crcTable[(x ^ b) & 0xff] ^ (x >>> 8);
    return (x ^ 0xffffffff) >>> 0;
  };
  const chunk = (type, data) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type), data]);
    const sum = Buffer.alloc(4);
    sum.writeUInt32BE(crc(td));
    return Buffer.concat([len, td, sum]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr.set([8, 6, 0, 0, 0], 8);
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk("IHDR", ihdr), chunk("IDAT", deflateSync(raw)), chunk("IEND", Buffer.alloc(0))]);
}
writeFileSync(`${dist}/icons/icon-192.png`, png(192));
writeFileSync(`${dist}/icons/icon-512.png`, png(512));

// workbox-build does not bundle the worker: esbuild does, then the precache list goes in.
await esbuild.build({ ...common, entryPoints: [`${here}src/sw.ts`], outfile: `${tmp}/sw.js`, format: "iife" });
const { count, size, warnings } = await injectManifest({
  swSrc: `${tmp}/sw.js`,
  swDest: `${dist}/sw.js`,
  globDirectory: dist,
  globPatterns: ["**/*.{js,css,html,webmanifest,svg,png}"],
  globIgnores: ["sw.js"],
  modifyURLPrefix: { "": "/app/" },
  // Hashed names are their own revision.
  dontCacheBustURLsMatching: /assets\/.+-[A-Z0-9]{8}\./,
});
for (const w of warnings) console.warn(w);

await esbuild.build({ bundle: true, entryPoints: [`${here}src/triage.ts`], outfile: `${tmp}/triage.mjs`, format: "esm", platform: "node", logLevel: "warning" });
// The GATT parsers for Node: test/gatt.test.mjs runs them on the vectors Python's tests share.
await esbuild.build({ bundle: true, entryPoints: [`${here}src/bluetooth/index.ts`], outfile: `${tmp}/gatt.mjs`, format: "esm", platform: "node", logLevel: "warning" });

const digest = createHash("sha256").update(readFileSync(`${dist}/assets/${js}`)).digest("hex").slice(0, 12);
console.log(`caregiver_app: dist/assets/${js} (${digest}), ${count} files precached (${size} bytes)`);
