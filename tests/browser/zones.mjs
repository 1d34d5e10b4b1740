// An admin draws a zone on the map in Chromium (driven from tests/tests/e2e/tenant_config.rs,
// which owns the server and checks the dispatcher's device): four clicks around the map's
// centre, one corner dragged, a name, save. Prints one JSON line.
//
// usage: node zones.mjs draw <admin device url> <artifacts dir> '<json args: {name}>'
import { launchChromium } from './chromium.mjs';

const [, url, artifacts, argText] = process.argv.slice(2); // phase: draw
const args = JSON.parse(argText || '{}');
const check = (cond, message) => { if (!cond) throw new Error(`assertion failed: ${message}`); };

const browser = await launchChromium({ webgl: true });
const problems = [];
const page = await browser.newPage({ viewport: { width: 1100, height: 800 } });
page.on('pageerror', (e) => problems.push(`page error: ${e}`));
page.setDefaultTimeout(20000);
let result = {};
try {
  await page.goto(url);
  await page.click('#tab-map');
  await page.waitForFunction(() => window.rutaMap?.map?.loaded());
  await page.click('#zone-draw');
  const box = await page.locator('#map canvas').boundingBox();
  const cx = box.x + box.width / 2;
  const cy = box.y + box.height / 2;
  const corners = [[-120, -90], [120, -90], [120, 90], [-120, 90]];
  for (const [dx, dy] of corners) {
    await page.mouse.click(cx + dx, cy + dy);
    await page.waitForTimeout(150);
  }
  // An extra corner, then a click on it removes it again.
  await page.mouse.click(cx, cy + 150);
  await page.waitForTimeout(200);
  check(await page.getAttribute('#zone-draft-corners', 'data-corners') === '5', 'five corners');
  await page.mouse.click(cx, cy + 150);
  await page.waitForTimeout(200);
  check(await page.getAttribute('#zone-draft-corners', 'data-corners') === '4', 'a click removes one');
  // Drag the top-left corner further out.
  await page.mouse.move(cx - 120, cy - 90);
  await page.mouse.down();
  await page.mouse.move(cx - 150, cy - 110, { steps: 6 });
  await page.mouse.up();
  await page.waitForTimeout(300);
  const ring = await page.evaluate(() => window.rutaMap.draft);
  check(ring.length === 4, `four corners drawn: ${JSON.stringify(ring)}`);
  await page.fill('#zone-draft-name', args.name);
  await page.screenshot({ path: `${artifacts}/zone-drawn.png` });
  await page.click('#zone-draft-save');
  await page.waitForSelector('#zone-saved');
  const saved = await page.locator('#zone-saved').textContent();
  result = { saved, ring };
} catch (e) {
  problems.push(String(e));
}
await browser.close();
console.log(JSON.stringify({ ...result, problems }));
process.exit(problems.length ? 1 : 0);
