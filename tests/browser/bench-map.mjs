// Map benchmark (BENCHMARKS.md, "Map (browser)"): in Debian's Chromium (WebGL on SwiftShader, the
// CPU: no GPU here), the map module (app-ui/map.js) over the offline basemap, measured with
// performance marks inside the page:
//   render  setOrders(5,000 orders) + setCouriers(200 couriers) until the map is idle (drawn)
//   live    moveCouriers(200 positions) until idle, and until the next frame
//   baseline one repaint of the unchanged view until idle (what a frame costs on this renderer)
// Median (and min/max) of several runs, printed as JSON.
//
// usage: node tests/browser/bench-map.mjs [device host url] [--runs N]
// Without a URL it starts target/debug/ruta-device on a free port with RUTA_TILES pointing at
// data/tiles/helsinki.mbtiles and app-ui/dist (so run `cargo xtask ui` and
// `cargo build -p device-host --bins` first).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchChromium } from './chromium.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const args = process.argv.slice(2);
const runsAt = args.indexOf('--runs');
const runs = runsAt >= 0 ? Number(args.splice(runsAt, 2)[1]) : 9;
let url = args[0];

let host = null;
let data = null;
if (!url) {
  data = mkdtempSync(join(tmpdir(), 'ruta-bench-map-'));
  host = spawn(join(root, 'target/debug/ruta-device'),
    ['serve', '--listen', '127.0.0.1:0', '--data', data, '--ui', join(root, 'app-ui/dist')],
    { env: { ...process.env, RUTA_TILES: join(root, 'data/tiles/helsinki.mbtiles') },
      stdio: ['ignore', 'pipe', 'inherit'] });
  url = await new Promise((resolve, reject) => {
    let buf = '';
    host.stdout.on('data', (chunk) => {
      buf += chunk;
      const m = buf.match(/listening on (http:\/\/\S+)/);
      if (m) resolve(`${m[1]}/`);
    });
    host.on('exit', (code) => reject(new Error(`ruta-device exited (${code})`)));
  });
}

const browser = await launchChromium({ webgl: true });
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const problems = [];
  page.on('pageerror', (e) => problems.push(String(e)));
  page.setDefaultTimeout(120000);
  // Zoom 14: the whole extract (and so every order and courier) in view.
  await page.goto(new URL('map-check.html?zoom=14', url).href);
  await page.waitForFunction(() => window.mapCheck?.drawn === true);

  const result = await page.evaluate(async (runs) => {
    const m = window.rutaMap;
    // Deterministic pseudo-random points inside the Helsinki extract's bounds.
    let seed = 42;
    const rnd = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648; };
    const point = () => [24.9352 + rnd() * 0.0182, 60.1642 + rnd() * 0.0149];
    const statuses = Object.keys(m.statusColors);
    const orders = (n) => ({ type: 'FeatureCollection', features: Array.from({ length: n }, (_, i) => ({
      type: 'Feature', geometry: { type: 'Point', coordinates: point() },
      properties: { id: `o${i}`, status: statuses[i % statuses.length], reference: `R-${i}`,
        zone: i % 2 ? 'kamppi' : 'kluuvi' } })) });
    const couriers = (n) => ({ type: 'FeatureCollection', features: Array.from({ length: n }, (_, i) => ({
      type: 'Feature', geometry: { type: 'Point', coordinates: point() },
      properties: { id: `c${i}`, name: `Courier ${i}` } })) });
    const frame = () => new Promise((r) => requestAnimationFrame(() => r()));
    const stats = (xs) => {
      const s = [...xs].sort((a, b) => a - b);
      return { median: s[Math.floor(s.length / 2)], min: s[0], max: s[s.length - 1], runs: s.length };
    };

    const render = [];
    for (let run = 0; run < runs; run++) {
      m.setOrders(null);
      m.setCouriers(null);
      await m.idle();
      const o = orders(5000);
      const c = couriers(200);
      performance.mark('render-start');
      m.setOrders(o);
      m.setCouriers(c);
      await m.idle();
      performance.mark('render-end');
      render.push(performance.measure('render', 'render-start', 'render-end').duration);
    }
    const rendered = m.map.queryRenderedFeatures({ layers: ['orders'] }).length;

    const liveIdle = [];
    const liveFrame = [];
    for (let run = 0; run < runs * 2; run++) {
      const batch = Array.from({ length: 200 }, (_, i) => {
        const [lon, lat] = point();
        return { id: `c${i}`, lon, lat };
      });
      await m.idle();
      performance.mark('live-start');
      m.moveCouriers(batch);
      await frame();
      performance.mark('live-frame');
      await m.idle();
      performance.mark('live-end');
      liveFrame.push(performance.measure('live-frame', 'live-start', 'live-frame').duration);
      liveIdle.push(performance.measure('live', 'live-start', 'live-end').duration);
    }
    // Baseline: one repaint of the same view with nothing changed, until idle.
    const repaint = [];
    for (let run = 0; run < runs; run++) {
      await m.idle();
      performance.mark('repaint-start');
      await m.idle();
      performance.mark('repaint-end');
      repaint.push(performance.measure('repaint', 'repaint-start', 'repaint-end').duration);
    }
    return {
      renderOrdersCouriersToIdleMs: stats(render),
      liveBatch200ToIdleMs: stats(liveIdle),
      liveBatch200ToNextFrameMs: stats(liveFrame),
      baselineRepaintToIdleMs: stats(repaint),
      ordersRenderedInView: rendered,
      renderer: (() => {
        const gl = m.map.getCanvas().getContext('webgl2') || m.map.getCanvas().getContext('webgl');
        const ext = gl?.getExtension('WEBGL_debug_renderer_info');
        return ext ? gl.getParameter(ext.UNMASKED_RENDERER_WEBGL) : 'unknown';
      })(),
    };
  }, runs);
  if (problems.length) throw new Error(`page errors: ${problems.join('; ')}`);
  console.log(JSON.stringify(result, null, 1));
} finally {
  await browser.close();
  if (host) host.kill('SIGTERM');
  if (data) rmSync(data, { recursive: true, force: true });
}
