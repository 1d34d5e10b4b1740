// A client orders a delivery by typing addresses, as people do (driven from
// tests/tests/e2e/address_search.rs, which owns the server and checks the dispatcher's device):
// a partial address with a typo, a suggestion chosen with the keyboard, another with the mouse,
// the price shown before sending, the order created. Prints one JSON line.
//
// usage: node address.mjs order <client device url> <artifacts dir> '<json args: {recipient}>'
import { launchChromium } from './chromium.mjs';

const [, url, artifacts, argText] = process.argv.slice(2); // phase: order
const args = JSON.parse(argText || '{}');
const check = (cond, message) => { if (!cond) throw new Error(`assertion failed: ${message}`); };

const browser = await launchChromium({ webgl: true });
const problems = [];
const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
page.on('pageerror', (e) => problems.push(`page error: ${e}`));
page.setDefaultTimeout(20000);
let result = {};
try {
  await page.goto(url);
  await page.waitForSelector('#client-new-order');
  await page.fill('#customer-name', args.recipient);
  // Pickup: a typo ("Bulevrdi"), chosen with Enter (the first suggestion is active).
  await page.locator('#pickup-address').pressSequentially('Bulevrdi 14', { delay: 30 });
  await page.waitForSelector('#pickup-address-suggestions li');
  const first = await page.locator('#pickup-address-suggestions li').first().textContent();
  check(first.includes('Bulevardi 14') && first.includes('spelling corrected'), `typo corrected: ${first}`);
  await page.keyboard.press('Enter');
  check(await page.inputValue('#pickup-address') === 'Bulevardi 14, 00120 Helsinki', 'the suggestion replaced the text');
  // Drop-off: partial and transposed ("Yrjönktau 3"), chosen with the mouse.
  await page.locator('#dropoff-address').pressSequentially('Yrjönktau 3', { delay: 30 });
  const option = page.locator('#dropoff-address-suggestions li', { hasText: 'Yrjönkatu 30' });
  await option.waitFor();
  await page.screenshot({ path: `${artifacts}/address-suggestions.png` });
  await option.dispatchEvent('mousedown');
  check((await page.inputValue('#dropoff-address')).startsWith('Yrjönkatu 30'), 'chosen with the mouse');
  const position = await page.textContent('#dropoff-address-position');
  check(position.includes('Position 60.'), `the position is shown: ${position}`);
  // The price before sending, by road.
  await page.waitForFunction(() => document.querySelector('#price-distance')?.textContent.includes('by road'));
  const total = (await page.textContent('#price-total')).trim();
  const distance = (await page.textContent('#price-distance')).trim();
  // The small map shows the chosen position.
  await page.click('#dropoff-address-pin');
  await page.waitForSelector('#dropoff-address-map canvas');
  await page.waitForTimeout(1500);
  await page.screenshot({ path: `${artifacts}/address-chosen.png`, fullPage: true });
  await page.click('#create-order');
  await page.waitForSelector(`#orders li:has-text("${args.recipient}")`);
  check(await page.inputValue('#pickup-address') === '', 'the form is cleared');
  result = { total, distance, position };
} catch (e) {
  problems.push(String(e?.stack || e));
  await page.screenshot({ path: `${artifacts}/address-failure.png`, fullPage: true }).catch(() => {});
}
await browser.close();
if (problems.length) {
  console.error(problems.join('\n'));
  process.exit(1);
}
console.log(JSON.stringify(result));
