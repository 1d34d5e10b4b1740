// A dispatcher makes a route in the Routes tab (told which field is missing; points typed as
// addresses with suggestions), plans one day of it on the calendar, adds two orders to that
// session from the order table's bulk bar, and builds its trip (driven from
// tests/tests/e2e/routes.rs, which checks the device through its API). Prints {session}.
//
// usage: node routes.mjs plan <device url> <artifacts dir> '<json args: {references}>'
import { launchChromium } from './chromium.mjs';

const [, url, artifacts, argText] = process.argv.slice(2);
const args = JSON.parse(argText || '{}');
const check = (cond, message) => { if (!cond) throw new Error(`assertion failed: ${message}`); };

const browser = await launchChromium();
const problems = [];
const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
page.on('pageerror', (e) => problems.push(`page error: ${e}`));
page.setDefaultTimeout(20000);
let result = {};
const addPoint = async (typed, name) => {
  await page.locator('#route-point').pressSequentially(typed, { delay: 30 });
  await page.waitForSelector('#route-point-suggestions li');
  await page.keyboard.press('Enter');
  await page.fill('#route-point-name', name);
  await page.click('#route-add-address');
};
try {
  await page.goto(url);
  await page.click('#tab-routes');
  await page.waitForSelector('#routes-empty');
  await page.click('#new-route');
  await page.fill('#route-name', 'Bakery run');
  await page.fill('#route-drivers', 'c1');
  // No points yet: refused, the field named.
  await page.click('#route-save');
  await page.waitForSelector('#route-error');
  check((await page.textContent('#route-error')).toLowerCase().includes('point'), 'the points are named');
  await addPoint('Kaivokatu 1', 'Bakery');
  await addPoint('Bulevrdi 14', 'Cafe');
  check((await page.$$('#route-points li')).length === 2, 'two points');
  await page.click('#route-save');
  await page.waitForSelector('#route-saved');
  await page.waitForSelector('#routes li[data-route="bakery-run"]');
  // Next week's Monday, a scheduled day: planned from the calendar.
  await page.click('#week-next');
  const cell = '#route-calendar tr[data-route="bakery-run"] td.scheduled';
  await page.waitForSelector(`${cell} .plan-day`);
  await page.locator(`${cell} .plan-day`).first().click();
  await page.waitForSelector('#session-sheet');
  check((await page.textContent('#session-status')) === 'Planned', 'planned');
  check(await page.isVisible('#session-no-orders'), 'an empty session says what to do');
  const session = await page.getAttribute('#session-sheet', 'data-session');
  await page.waitForSelector(`${cell} .session-chip`);
  await page.screenshot({ path: `${artifacts}/routes-planned.png` });
  // The orders join it from the table's bulk bar.
  await page.click('#tab-orders');
  for (const r of args.references) {
    await page.check(`.vt-row[data-reference="${r}"] input.rowcheck`);
  }
  await page.waitForSelector(`#bulk-session option[value="${session}"]`, { state: 'attached' });
  await page.selectOption('#bulk-session', session);
  await page.screenshot({ path: `${artifacts}/routes-bulk-bar.png` });
  await page.click('#bulk-to-session');
  await page.waitForFunction((n) => (document.querySelector('#info')?.textContent || '').includes(`${n} of ${n} added`), args.references.length);
  // Back on the calendar: the session has them; its trip is built in the route's order.
  await page.click('#tab-routes');
  await page.click('#week-next');
  await page.click(`.session-chip[data-session="${session}"]`);
  await page.waitForFunction((n) => document.querySelectorAll('#session-orders li').length === n, args.references.length);
  await page.click('#session-build');
  await page.waitForSelector('#session-trip');
  await page.screenshot({ path: `${artifacts}/routes-session.png` });
  result = { session };
} catch (e) {
  problems.push(String(e?.stack || e));
  await page.screenshot({ path: `${artifacts}/routes-failure.png`, fullPage: true }).catch(() => {});
}
await browser.close();
if (problems.length) {
  console.error(problems.join('\n'));
  process.exit(1);
}
console.log(JSON.stringify(result));
