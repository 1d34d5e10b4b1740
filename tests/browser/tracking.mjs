// A client follows their parcel in the order panel (driven from tests/tests/e2e/order_types.rs,
// which has a courier on the way with live positions): the Tracking section shows the courier on
// a small map with the expected arrival and the recipient's link; the link's page shows the
// status and nothing else. Prints one JSON line.
//
// usage: node tracking.mjs follow <device url> <artifacts dir> '<json args: {reference, server}>'
import { launchChromium } from './chromium.mjs';

const [, url, artifacts, argText] = process.argv.slice(2); // phase: follow
const args = JSON.parse(argText || '{}');
const check = (cond, message) => { if (!cond) throw new Error(`assertion failed: ${message}`); };

const browser = await launchChromium({ webgl: true });
const problems = [];
const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
page.on('pageerror', (e) => problems.push(`page error: ${e}`));
page.setDefaultTimeout(30000);
let result = {};
try {
  await page.goto(url);
  await page.click(`text=${args.reference}`);
  await page.waitForSelector('#track-live');
  const live = await page.textContent('#track-live');
  check(/expected around \d\d:\d\d/.test(live), `an ETA is shown: ${live}`);
  await page.waitForSelector('#track-map canvas');
  const mapShown = await page.$eval('#track-map', (e) => e.offsetHeight > 100 && !e.classList.contains('hidden'));
  check(mapShown, 'the courier is on a map');
  const link = await page.inputValue('#track-link');
  check(link.startsWith(`${args.server}/t/`), `the link is the server's: ${link}`);
  await page.waitForTimeout(1500); // the map's tiles
  await page.screenshot({ path: `${artifacts}/tracking-client.png` });
  const recipient = await browser.newPage({ viewport: { width: 480, height: 640 } });
  await recipient.goto(link);
  const headline = await recipient.textContent('#headline');
  check(headline === 'On its way', `the recipient sees the status: ${headline}`);
  const body = await recipient.textContent('body');
  await recipient.screenshot({ path: `${artifacts}/tracking-recipient.png` });
  result = { live, link, headline, body };
} catch (e) {
  problems.push(String(e?.stack || e));
  await page.screenshot({ path: `${artifacts}/tracking-failure.png`, fullPage: true }).catch(() => {});
}
await browser.close();
if (problems.length) {
  console.error(problems.join('\n'));
  process.exit(1);
}
console.log(JSON.stringify(result));
