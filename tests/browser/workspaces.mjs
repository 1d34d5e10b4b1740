// The three-workspace flow in Chromium, driven phase by phase from
// tests/tests/e2e/workspaces.rs (which owns the servers, the network cut and the checks
// on the devices' stores). Each phase prints one JSON line.
//
// usage: node workspaces.mjs <phase> <device url> <artifacts dir> '<json args>'
//   dispatch  – the dispatcher creates an order needing photo, signature and QR, and assigns it
//   deliver   – the courier (offline) picks up and delivers with photo, signature and QR image
//   review    – the dispatcher sees Delivered, the POD and downloads the invoice
import { launchChromium } from './chromium.mjs';

const [phase, url, artifacts, argText] = process.argv.slice(2);
const args = JSON.parse(argText || '{}');
const check = (cond, message) => { if (!cond) throw new Error(`assertion failed: ${message}`); };

const browser = await launchChromium();
const problems = [];
const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, acceptDownloads: true });
const page = await context.newPage();
page.on('pageerror', (e) => problems.push(`page error: ${e}`));
page.setDefaultTimeout(20000);
let result = {};
try {
  await page.goto(url);
  if (phase === 'dispatch') {
    await page.waitForSelector('#orders-table');
    await page.click('#tab-new');
    await page.fill('#customer-name', args.customer);
    await page.fill('#pickup-address', 'Kaivokatu 1');
    await page.fill('#dropoff-address', 'Fredrikinkatu 32');
    await page.fill('#dropoff-contact', 'Aino Virtanen');
    await page.fill('#dropoff-phone', '+358 40 123 4567');
    await page.check('#need-photo');
    await page.check('#need-signature');
    await page.check('#need-qr');
    await page.click('#create-order');
    const panel = page.locator('#order-panel');
    await panel.waitFor();
    // The panel opens at once and fills in when the order's detail has loaded
    // (CI once read an empty title here).
    await page.waitForFunction((customer) => document.querySelector('.panel-head h2')
      ?.textContent.includes(customer), args.customer).catch(() => {});
    const orderId = await panel.getAttribute('data-order');
    const title = (await page.textContent('.panel-head h2')).trim();
    const reference = title.split(' · ')[0];
    check(title.includes(args.customer), `panel shows the new order: ${title}`);
    // The row is in the table, with keyboard focus working: Enter opens it.
    await page.locator(`.vt-row[data-reference="${reference}"]`).waitFor();
    await page.fill('#assign-courier', args.courier);
    await page.click('#assign');
    await page.waitForFunction(() => document.querySelector('#panel-courier')?.textContent.trim().length > 0);
    check((await page.textContent('#panel-courier')).trim() === args.courier, 'assigned in the panel');
    check((await page.textContent('#panel-status')).trim() === 'Assigned', 'status Assigned');
    await page.click('#show-code');
    await page.waitForSelector('#recipient-pin');
    await page.screenshot({ path: `${artifacts}/workspaces-dispatch.png` });
    result = { orderId, reference };
  } else if (phase === 'deliver') {
    await page.waitForFunction(() => document.querySelector('#link')?.textContent.includes('Offline'));
    const stop = page.locator(`.stop[data-reference="${args.reference}"]`);
    await stop.waitFor();
    await page.screenshot({ path: `${artifacts}/workspaces-courier-queue.png` });
    await stop.locator('.stop-main').click();
    await page.waitForSelector('#stop-view');
    await page.screenshot({ path: `${artifacts}/workspaces-courier-stop.png`, fullPage: true });
    // Only what the lifecycle allows a courier: no cancel, no assign.
    const actions = await page.locator('#stop-actions button').allTextContents();
    check(!actions.some((a) => /Cancel|Assign/.test(a)), `courier actions: ${actions}`);
    check(await page.locator('a.call').count() === 1, 'tap-to-call link');
    await page.click('#act-pick_up');
    await page.waitForFunction(() => document.querySelector('#stop-status')?.textContent.trim() === 'Picked Up');
    await page.click('#act-start_transit');
    await page.waitForFunction(() => document.querySelector('#stop-status')?.textContent.trim() === 'In Transit');
    await page.click('#act-deliver');
    await page.waitForSelector('#pod-capture');
    const missingBefore = await page.locator('#pod-needs li.missing').count();
    check(missingBefore === 3, `photo, signature and QR listed as missing (${missingBefore})`);
    await page.screenshot({ path: `${artifacts}/workspaces-courier-pod.png`, fullPage: true });
    await page.setInputFiles('#pod-photo', args.photo);
    await page.waitForSelector('img.preview');
    await page.locator('#signature-pad').scrollIntoViewIfNeeded();
    const pad = await page.locator('#signature-pad').boundingBox();
    for (const [y0, t] of [[0.4, 0], [0.65, 1]]) {
      await page.mouse.move(pad.x + 20, pad.y + pad.height * y0);
      await page.mouse.down();
      for (let i = 1; i <= 30; i++) {
        await page.mouse.move(pad.x + 20 + i * (pad.width - 40) / 30,
          pad.y + pad.height * y0 + Math.sin(i / 3 + t) * 25, { steps: 2 });
      }
      await page.mouse.up();
    }
    await page.setInputFiles('#pod-qr', args.qr);
    await page.click('#pod-submit');
    await page.waitForSelector('#stop-done');
    const done = (await page.textContent('#stop-done')).trim();
    check(done.startsWith('Delivered'), `delivered: ${done}`);
    check((await page.locator('#stop-error').count()) === 0, 'no error');
    await page.waitForFunction(() => document.querySelector('#stop-status')?.textContent.trim() === 'Delivered');
    const badge = (await page.textContent('#stop-view .sync')).trim();
    check(badge.startsWith('pending '), `sync badge while offline: ${badge}`);
    await page.screenshot({ path: `${artifacts}/workspaces-courier-delivered.png`, fullPage: true });
    result = { done, badge };
  } else if (phase === 'review') {
    const row = page.locator(`.vt-row[data-reference="${args.reference}"]`);
    await row.waitFor();
    await page.waitForFunction((r) => document.querySelector(`.vt-row[data-reference="${r}"] .c-status`)?.textContent.trim() === 'Delivered', args.reference);
    await row.click();
    await page.waitForSelector('#order-panel .pod');
    await page.waitForFunction(() => {
      const img = document.querySelector('.pod-photo');
      const sig = document.querySelector('.pod-signature');
      return img && img.naturalWidth > 0 && sig && sig.naturalWidth > 0;
    });
    const meta = (await page.textContent('.pod-meta')).trim();
    check(meta.includes('QR verified'), `verification shown: ${meta}`);
    check(/captured .* by c1/.test(meta), `provenance shown: ${meta}`);
    await page.waitForFunction(() => document.querySelector('.pod-meta .chain')?.textContent.includes('intact'));
    const timeline = await page.locator('#timeline li').allTextContents();
    check(timeline.some((t) => t.includes('delivered')) && timeline.some((t) => t.includes('pod captured')),
      `timeline: ${timeline.join(' | ')}`);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#doc-invoice')]);
    const invoice = `${artifacts}/workspaces-invoice.pdf`;
    await download.saveAs(invoice);
    await page.screenshot({ path: `${artifacts}/workspaces-review.png` });
    result = { meta, invoice, filename: download.suggestedFilename() };
  } else {
    throw new Error(`unknown phase ${phase}`);
  }
  check(problems.length === 0, `no page errors: ${problems.join('; ')}`);
  console.log(JSON.stringify(result));
} catch (e) {
  await page.screenshot({ path: `${artifacts}/workspaces-${phase}-failure.png`, fullPage: true }).catch(() => {});
  throw e;
} finally {
  await browser.close();
}
