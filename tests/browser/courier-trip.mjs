// The courier's phone follows the published trip: its queue is in the trip's order, and a
// move in the queue is a move on the trip (driven from tests/tests/e2e/trips.rs, which
// checks the trip on both devices through their APIs). Prints {before, after} (references).
//
// usage: node courier-trip.mjs follow <device url> <artifacts dir> '<json args: {references}>'
import { launchChromium } from './chromium.mjs';

const [, url, artifacts, argText] = process.argv.slice(2);
const args = JSON.parse(argText || '{}');
const check = (cond, message) => { if (!cond) throw new Error(`assertion failed: ${message}`); };

const browser = await launchChromium();
const problems = [];
const page = await browser.newPage({ viewport: { width: 412, height: 915 } });
page.on('pageerror', (e) => problems.push(`page error: ${e}`));
page.setDefaultTimeout(20000);
let result = {};
const refs = () => page.$$eval('#queue li', (ls) => ls.map((l) => l.dataset.reference));
try {
  await page.goto(url);
  await page.waitForFunction((n) => document.querySelectorAll('#queue li').length === n, args.references.length);
  // The queue follows the trip's sequence, not the window order.
  await page.waitForFunction((want) => JSON.stringify([...document.querySelectorAll('#queue li')].map((l) => l.dataset.reference)) === JSON.stringify(want), args.references);
  const before = await refs();
  await page.screenshot({ path: `${artifacts}/courier-trip-before.png` });
  // The courier moves the first stop one down: a move on the trip.
  await page.click('#queue li:nth-child(1) button.down');
  await page.waitForFunction((first) => document.querySelector('#queue li:nth-child(1)')?.dataset.reference !== first, before[0]);
  const after = await refs();
  check(after[0] === before[1] && after[1] === before[0], `after: ${after}`);
  await page.screenshot({ path: `${artifacts}/courier-trip-after.png` });
  // A code that is none of the courier's stops is refused; a stop's reference opens it.
  await page.fill('#stop-scan-code', 'RUTA1:not-an-order');
  await page.click('#stop-scan button[type=submit]');
  await page.waitForSelector('#stop-scan-error');
  await page.screenshot({ path: `${artifacts}/courier-stop-scan.png` });
  await page.fill('#stop-scan-code', after[1]);
  await page.click('#stop-scan button[type=submit]');
  await page.waitForSelector('#stop-view');
  // The stop's detail loads after the view opens.
  await page.waitForFunction((r) => document.querySelector('#stop-view')?.textContent.includes(r), after[1])
    .catch(() => {});
  check((await page.textContent('#stop-view')).includes(after[1]), 'the scanned stop is open');
  await page.click('#back');
  await page.waitForSelector('#queue li');
  result = { before, after };
} catch (e) {
  problems.push(String(e?.stack || e));
  await page.screenshot({ path: `${artifacts}/courier-trip-failure.png`, fullPage: true }).catch(() => {});
}
await browser.close();
if (problems.length) {
  console.error(problems.join('\n'));
  process.exit(1);
}
console.log(JSON.stringify(result));
