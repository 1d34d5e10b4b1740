// A dispatcher makes a waybill in the Waybills tab from two orders, scans its number to hand
// it over, and sees the step recorded on every order (driven from tests/tests/e2e/waybills.rs,
// which checks the device through its API). Prints {number}.
//
// usage: node waybills.mjs make <device url> <artifacts dir> '<json args: {references}>'
import { launchChromium } from './chromium.mjs';

const [, url, artifacts, argText] = process.argv.slice(2);
const args = JSON.parse(argText || '{}');
const check = (cond, message) => { if (!cond) throw new Error(`assertion failed: ${message}`); };

const browser = await launchChromium();
const problems = [];
const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
page.on('pageerror', (e) => problems.push(`page error: ${e}`));
page.setDefaultTimeout(20000);
let result = {};
try {
  await page.goto(url);
  await page.click('#tab-waybills');
  await page.waitForSelector('#waybills-empty');
  await page.click('#new-waybill');
  // Without a destination: refused with the field named.
  await page.fill('#waybill-origin', 'Vantaa hub');
  for (const r of args.references) {
    await page.check(`#waybill-orders li[data-reference="${r}"] input`);
  }
  await page.click('#waybill-make');
  await page.waitForSelector('#waybill-new-error');
  check((await page.textContent('#waybill-new-error')).toLowerCase().includes('destination'), 'the field is named');
  await page.fill('#waybill-destination', 'Linehaul Oy terminal');
  await page.fill('#waybill-carrier', 'Linehaul Oy');
  await page.fill('#waybill-seal', 'S-42');
  await page.click('#waybill-make');
  await page.waitForSelector('#waybill-sheet');
  const number = await page.getAttribute('#waybill-sheet', 'data-number');
  check((await page.$$('#waybill-manifest li')).length === args.references.length, 'the manifest lists the orders');
  // Scanned at the dock: handed over.
  await page.fill('#waybill-code', number);
  await page.click('#waybill-scan button[type=submit]');
  await page.waitForFunction(() => document.querySelector('#waybill-status')?.textContent === 'Dispatched');
  const step = await page.textContent('#waybill-step-result');
  check(step.includes(`Recorded on ${args.references.length} of ${args.references.length}`), `step: ${step}`);
  await page.waitForFunction((n) => (document.querySelector('#waybills')?.textContent || '').includes(n), number);
  await page.screenshot({ path: `${artifacts}/waybills-dispatched.png` });
  result = { number };
} catch (e) {
  problems.push(String(e?.stack || e));
  await page.screenshot({ path: `${artifacts}/waybills-failure.png`, fullPage: true }).catch(() => {});
}
await browser.close();
if (problems.length) {
  console.error(problems.join('\n'));
  process.exit(1);
}
console.log(JSON.stringify(result));
