// A dispatcher records every step of an external carrier's order from the order panel (driven
// from tests/tests/e2e/address_search.rs, which checks the order's history through the device's
// API): picked up, in transit, a failed attempt (its reason asked for first), again in transit,
// delivered. Prints one JSON line.
//
// usage: node carrier.mjs steps <device url> <artifacts dir> '<json args: {reference}>'
import { launchChromium } from './chromium.mjs';

const [, url, artifacts, argText] = process.argv.slice(2); // phase: steps
const args = JSON.parse(argText || '{}');
const check = (cond, message) => { if (!cond) throw new Error(`assertion failed: ${message}`); };

const browser = await launchChromium();
const problems = [];
const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
page.on('pageerror', (e) => problems.push(`page error: ${e}`));
page.setDefaultTimeout(20000);
const status = async (want) => {
  await page.waitForFunction((w) => document.querySelector('#panel-status')?.textContent === w, want);
};
let result = {};
try {
  await page.goto(url);
  await page.click(`text=${args.reference}`);
  await page.click('#carrier-picked-up');
  await status('Picked Up');
  await page.click('#carrier-in-transit');
  await status('In Transit');
  await page.click('#carrier-failed');
  const asked = await page.textContent('#panel-error');
  check(asked.includes('reason'), `the reason is asked for: ${asked}`);
  await page.fill('#reason', 'nobody home');
  await page.click('#carrier-failed');
  await status('Attempt Failed');
  await page.click('#carrier-in-transit');
  await status('In Transit');
  await page.click('#carrier-delivered');
  await status('Delivered');
  await page.screenshot({ path: `${artifacts}/carrier-steps.png` });
  result = { asked };
} catch (e) {
  problems.push(String(e?.stack || e));
  await page.screenshot({ path: `${artifacts}/carrier-failure.png`, fullPage: true }).catch(() => {});
}
await browser.close();
if (problems.length) {
  console.error(problems.join('\n'));
  process.exit(1);
}
console.log(JSON.stringify(result));
