// A dispatcher takes a parcel in at the hub from the order panel (driven from
// tests/tests/e2e/order_types.rs, which checks the order's history through the device's API):
// the panel offers "Received at hub" with the tenant's warehouses, the order goes to At Hub and
// its pickup becomes the hub (the last leg starts there). Prints one JSON line.
//
// usage: node hub.mjs receive <device url> <artifacts dir> '<json args: {reference, hub, hub_name}>'
import { launchChromium } from './chromium.mjs';

const [, url, artifacts, argText] = process.argv.slice(2); // phase: receive
const args = JSON.parse(argText || '{}');
const check = (cond, message) => { if (!cond) throw new Error(`assertion failed: ${message}`); };

const browser = await launchChromium();
const problems = [];
const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
page.on('pageerror', (e) => problems.push(`page error: ${e}`));
page.setDefaultTimeout(20000);
let result = {};
try {
  await page.goto(url);
  await page.click(`text=${args.reference}`);
  await page.waitForSelector('#receive-hub option', { state: 'attached' });
  const offered = await page.$$eval('#receive-hub option', (os) => os.map((o) => o.value));
  check(offered.includes(args.hub), `the hub is offered: ${offered}`);
  await page.selectOption('#receive-hub', args.hub);
  await page.click('#receive-at-hub');
  await page.waitForFunction(() => document.querySelector('#panel-status')?.textContent === 'At Hub');
  const stops = await page.textContent('.stops');
  check(stops.includes(args.hub_name), `the pickup is the hub now: ${stops}`);
  const receiveGone = (await page.$('#receive-at-hub')) === null;
  check(receiveGone, 'a parcel at the hub is not received again');
  await page.screenshot({ path: `${artifacts}/hub-received.png` });
  result = { offered, stops };
} catch (e) {
  problems.push(String(e?.stack || e));
  await page.screenshot({ path: `${artifacts}/hub-failure.png`, fullPage: true }).catch(() => {});
}
await browser.close();
if (problems.length) {
  console.error(problems.join('\n'));
  process.exit(1);
}
console.log(JSON.stringify(result));
