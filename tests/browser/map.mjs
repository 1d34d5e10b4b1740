// The map module in a real browser, driven by tests/tests/e2e/map.rs.
// Opens <device host>/map-check.html (app-ui/map-check.html: window.rutaMap with a few orders,
// couriers, a zone and a run path over the offline basemap the host serves from its MBTiles
// file), waits until the map is ready and idle, takes a screenshot, and checks from the canvas's
// pixels and rendered features that streets were drawn, that the OpenStreetMap attribution is
// shown and that clicking a courier reports it. Prints one JSON line with what it saw.
//
// WebGL in headless Chromium without a GPU: SwiftShader through ANGLE (--use-angle=swiftshader
// --enable-unsafe-swiftshader); --disable-gpu would turn WebGL off.
//
// usage: node map.mjs <url> <screenshot.png>
import { launchChromium } from './chromium.mjs';

const [url, screenshot] = process.argv.slice(2);
if (!url || !screenshot) {
  console.error('usage: node map.mjs <url> <screenshot.png>');
  process.exit(2);
}

function check(cond, message) {
  if (!cond) throw new Error(`assertion failed: ${message}`);
}

const browser = await launchChromium({ webgl: true });
const problems = [];
const tiles = { ok: 0, empty: 0, failed: [] };
try {
  const page = await browser.newPage({ viewport: { width: 1000, height: 700 } });
  page.on('pageerror', (e) => problems.push(`page error: ${e}`));
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console error: ${m.text()}`); });
  page.on('response', (r) => {
    if (!r.url().includes('/tiles/')) return;
    if (r.status() === 200) tiles.ok += 1;
    else if (r.status() === 204) tiles.empty += 1;
    else tiles.failed.push(`${r.status()} ${r.url()}`);
  });
  page.setDefaultTimeout(30000);

  await page.goto(new URL('map-check.html', url).href);
  await page.waitForFunction(() => window.mapCheck?.drawn === true);

  const seen = await page.evaluate(() => {
    const map = window.rutaMap.map;
    const roadStyle = map.getStyle().layers.filter((l) => l.id.startsWith('road-') && l.type === 'line');
    const roadLayers = roadStyle.map((l) => l.id);
    const roads = map.queryRenderedFeatures({ layers: roadLayers });
    const names = new Set(roads.map((f) => f.properties.name).filter(Boolean));
    // The canvas's pixels (the map keeps its drawing buffer for exactly this).
    const gl = map.getCanvas();
    const copy = document.createElement('canvas');
    copy.width = gl.width;
    copy.height = gl.height;
    const ctx = copy.getContext('2d');
    ctx.drawImage(gl, 0, 0);
    const { data } = ctx.getImageData(0, 0, copy.width, copy.height);
    // Fill colours of the road layers (map.js): white minor streets, yellow and orange majors.
    const roadFills = roadStyle.filter((l) => !l.id.endsWith('-casing'))
      .map((l) => l.paint['line-color'])
      .filter((c) => typeof c === 'string' && c.length === 7)
      .map((c) => [1, 3, 5].map((i) => parseInt(c.slice(i, i + 2), 16)));
    const colours = new Map();
    let street = 0;
    for (let i = 0; i < data.length; i += 4) {
      const key = (data[i] >> 3) << 10 | (data[i + 1] >> 3) << 5 | (data[i + 2] >> 3);
      colours.set(key, (colours.get(key) ?? 0) + 1);
      if (roadFills.some(([r, g, b]) => Math.abs(data[i] - r) + Math.abs(data[i + 1] - g)
        + Math.abs(data[i + 2] - b) < 12)) street += 1;
    }
    const pixels = data.length / 4;
    const top = Math.max(...colours.values());
    const attribution = document.querySelector('.maplibregl-ctrl-attrib')?.innerText ?? '';
    return {
      loaded: map.loaded(),
      roadFeatures: roads.length,
      streetNames: [...names].slice(0, 10),
      orders: map.queryRenderedFeatures({ layers: ['orders'] }).length,
      couriers: map.queryRenderedFeatures({ layers: ['couriers'] }).length,
      distinctColours: colours.size,
      dominantFraction: top / pixels,
      streetFraction: street / pixels,
      attribution,
      courierPoint: map.project([24.9414, 60.1699]),
    };
  });
  await page.screenshot({ path: screenshot });

  check(seen.loaded, 'map loaded');
  check(tiles.ok > 0, `basemap tiles served (200): ${JSON.stringify(tiles)}`);
  check(tiles.failed.length === 0, `no failed tile requests: ${tiles.failed.join('; ')}`);
  check(seen.roadFeatures >= 50, `streets rendered from the tiles: ${seen.roadFeatures} road features`);
  check(seen.streetNames.length >= 5, `named streets among them: ${seen.streetNames}`);
  check(seen.distinctColours >= 20, `a drawn map, not a blank canvas: ${seen.distinctColours} colours`);
  check(seen.dominantFraction < 0.9, `no single colour covers the canvas: ${seen.dominantFraction}`);
  check(seen.streetFraction > 0.02, `street-coloured pixels drawn: ${seen.streetFraction}`);
  check(seen.attribution.includes('© OpenStreetMap contributors'), `attribution shown: ${seen.attribution}`);
  check(seen.orders === 8, `all 8 orders (one per status) drawn: ${seen.orders}`);
  check(seen.couriers === 2, `both couriers drawn: ${seen.couriers}`);

  // Clicking a courier reports it through onSelect.
  await page.mouse.click(seen.courierPoint.x, seen.courierPoint.y);
  await page.waitForFunction(() => window.mapCheck.selected.length > 0);
  const selected = await page.evaluate(() => window.mapCheck.selected);
  check(JSON.stringify(selected[0]) === JSON.stringify(['courier', 'aki']), `courier click: ${JSON.stringify(selected)}`);

  // The zone filter keeps one zone's orders (the first four are in Kamppi), then all again.
  const filtered = await page.evaluate(async () => {
    const count = () => window.rutaMap.map.queryRenderedFeatures({ layers: ['orders'] }).length;
    window.rutaMap.filterZone('kamppi');
    await window.rutaMap.idle();
    const kamppi = count();
    window.rutaMap.filterZone(null);
    // filterZone fitted the view to Kamppi; go back to where all orders are in view.
    window.rutaMap.map.jumpTo({ center: [24.9445, 60.1712], zoom: 15 });
    await window.rutaMap.idle();
    return { kamppi, all: count() };
  });
  check(filtered.kamppi === 4 && filtered.all === 8, `zone filter: ${JSON.stringify(filtered)}`);

  check(problems.length === 0, `no page or console errors: ${problems.join('; ')}`);
  delete seen.courierPoint;
  console.log(JSON.stringify({ ...seen, tiles, selected, filtered }));
} finally {
  await browser.close();
}
