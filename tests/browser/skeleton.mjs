// Walking-skeleton browser test, driven by tests/tests/e2e/browser.rs.
// Loads the web UI from a headless device host in Debian's Chromium, checks the empty state and a
// validation error, creates an order through the form, and prints one JSON line with what the
// page showed so the Rust side can cross-check the device's store.
//
// usage: node skeleton.mjs <url> <screenshot.png> <customer name>
import { launchChromium } from './chromium.mjs';

const [url, screenshot, customer] = process.argv.slice(2);
if (!url || !screenshot || !customer) {
  console.error('usage: node skeleton.mjs <url> <screenshot.png> <customer name>');
  process.exit(2);
}

function check(cond, message) {
  if (!cond) throw new Error(`assertion failed: ${message}`);
}

const browser = await launchChromium();
const problems = [];
try {
  const page = await browser.newPage({ viewport: { width: 1100, height: 800 } });
  page.on('pageerror', (e) => problems.push(`page error: ${e}`));
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console error: ${m.text()}`); });
  page.setDefaultTimeout(15000);

  await page.goto(url);
  const deviceId = (await page.textContent('#device-id')).trim();
  check(/^[0-9a-f]{32}$/.test(deviceId), `device id looks like one: ${deviceId}`);
  check((await page.textContent('#transport')).trim() === 'HTTP device host', 'transport badge');
  await page.waitForSelector('#orders-empty');
  check((await page.textContent('#order-count')).trim() === '0', 'starts empty');
  await page.click('#tab-new');

  // The core refuses an order without a customer; the page says so and stores nothing.
  // Chromium logs the HTTP 400 of that refusal as a console error: expected exactly once here.
  const before = problems.length;
  await page.click('#create-order');
  const error = (await page.textContent('#error')).trim();
  check(error.includes('Customer') && error.includes('must not be empty'), `validation message: ${error}`);
  const refusal = problems.splice(before);
  check(refusal.length === 1 && refusal[0].includes('status of 400'),
    `one expected 400 for the refused order, got: ${refusal.join('; ')}`);

  await page.fill('#customer-name', customer);
  await page.fill('#pickup-address', 'Aleksanterinkatu 52');
  await page.fill('#dropoff-address', 'Fredrikinkatu 34');
  await page.click('#create-order');
  const row = page.locator('.vt-row.order', { hasText: customer });
  await row.waitFor();
  await page.waitForFunction(() => document.querySelector('#order-count')?.textContent.trim() === '1');
  check(await page.locator('#error').count() === 0, 'error cleared after success');
  const reference = (await row.locator('.ref').textContent()).trim();
  const status = (await row.locator('.c-status').textContent()).trim();
  check(status === 'Pending', `new order is Pending, got ${status}`);
  await page.waitForSelector('#order-panel');
  await page.click('#tab-new');
  check((await page.inputValue('#customer-name')) === '', 'form cleared');
  await page.click('#tab-orders');

  // A reload reads everything back from the device's store.
  await page.reload();
  await page.locator('.vt-row.order', { hasText: customer }).waitFor();

  await page.screenshot({ path: screenshot, fullPage: true });
  check(problems.length === 0, `no page or console errors: ${problems.join('; ')}`);
  console.log(JSON.stringify({ deviceId, reference, status }));
} finally {
  await browser.close();
}
