// A dispatcher builds a trip in the Trips tab, moves a stop and publishes it (driven from
// tests/tests/e2e/trips.rs, which checks the trip through the device's API). Prints one JSON
// line: the stop references in the order the sheet shows them.
//
// usage: node trips.mjs build <device url> <artifacts dir> '<json args: {courier, references}>'
import { launchChromium } from './chromium.mjs';

const [, url, artifacts, argText] = process.argv.slice(2); // phase: build
const args = JSON.parse(argText || '{}');
const check = (cond, message) => { if (!cond) throw new Error(`assertion failed: ${message}`); };

const browser = await launchChromium();
const problems = [];
const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
page.on('pageerror', (e) => problems.push(`page error: ${e}`));
page.setDefaultTimeout(20000);
let result = {};
const keys = () => page.$$eval('#trip-stops li', (ls) => ls.map((l) => l.dataset.key));
try {
  await page.goto(url);
  await page.click('#tab-trips');
  await page.waitForSelector('#trips-empty');
  await page.screenshot({ path: `${artifacts}/trips-empty.png` });
  await page.click('#new-trip');
  await page.fill('#trip-courier', args.courier);
  await page.fill('#trip-name', 'Morning west');
  await page.uncheck('#trip-optimise');
  for (const r of args.references) {
    await page.check(`#trip-orders li[data-reference="${r}"] input`);
  }
  await page.click('#trip-build');
  await page.waitForFunction(() => document.querySelector('#trip-status')?.textContent === 'Draft');
  await page.waitForFunction((n) => document.querySelectorAll('#trip-stops li').length === n, args.references.length * 2);
  const before = await keys();
  // A drop-off is never put before its own pickup: refused, with the reason.
  await page.click('#trip-stops li:nth-child(1) button.down');
  await page.waitForSelector('#trip-sheet-error');
  check((await page.textContent('#trip-sheet-error')).includes('after its pickup'), 'the reason is shown');
  // The second stop (the first order's drop-off) one place down: after the next pickup.
  await page.click('#trip-stops li:nth-child(2) button.down');
  await page.waitForFunction((k) => document.querySelector('#trip-stops li:nth-child(3)')?.dataset.key === k, before[1]);
  const moved = await keys();
  check(moved[1] === before[2] && moved[2] === before[1], `moved: ${moved}`);
  // Dragged: the last stop dropped on the third goes before it.
  await page.dragAndDrop('#trip-stops li:nth-child(4)', '#trip-stops li:nth-child(3)');
  await page.waitForFunction((k) => document.querySelector('#trip-stops li:nth-child(3)')?.dataset.key === k, moved[3]);
  const dragged = await keys();
  check(dragged[2] === moved[3] && dragged[3] === moved[2], `dragged: ${dragged}`);
  await page.click('#trip-publish');
  await page.waitForFunction(() => document.querySelector('#trip-status')?.textContent === 'Published');
  await page.waitForFunction(() => (document.querySelector('#trips')?.textContent || '').includes('Published'));
  const listed = await page.textContent('#trips');
  check(listed.includes('Morning west') && !listed.includes('Draft'), `listed: ${listed}`);
  await page.screenshot({ path: `${artifacts}/trips-published.png` });
  const shownKeys = await keys();
  // The driver monitor shows the courier's trip under way and opens its sequence.
  await page.click('#tab-drivers');
  await page.click(`tr.driver-row[data-courier="${args.courier}"]`);
  await page.waitForFunction(() => (document.querySelector('#courier-trip-progress')?.textContent || '').includes('0/6 stops done'));
  await page.click('#courier-trip-toggle');
  await page.waitForFunction(() => document.querySelectorAll('#courier-work #trip-stops li').length === 6);
  await page.screenshot({ path: `${artifacts}/drivers-trip.png` });
  result = { keys: shownKeys };
} catch (e) {
  problems.push(String(e?.stack || e));
  await page.screenshot({ path: `${artifacts}/trips-failure.png`, fullPage: true }).catch(() => {});
}
await browser.close();
if (problems.length) {
  console.error(problems.join('\n'));
  process.exit(1);
}
console.log(JSON.stringify(result));
