// Sign-in, the admin's enrolment codes, sign-out and revocation in Chromium,
// driven phase by phase from tests/tests/e2e/signin.rs (which owns the servers
// and the checks on the devices). Each phase prints one JSON line.
//
// usage: node signin.mjs <phase> <device url> <artifacts dir> '<json args>'
//   type     – a mistyped code is refused by name, then the right one signs in
//   admin    – the admin issues a code for args.user in the People tab (code + QR image)
//   qr       – sign in by choosing a photo of the QR code (args.qr_path)
//   signout  – the sign-out dialog names the unsynced changes; sign out keeping them
//   revoked  – the sign-in screen says why the device is signed out
import { launchChromium } from './chromium.mjs';

const [phase, url, artifacts, argText] = process.argv.slice(2);
const args = JSON.parse(argText || '{}');
const check = (cond, message) => { if (!cond) throw new Error(`assertion failed: ${message}`); };

const browser = await launchChromium();
const problems = [];
const context = await browser.newContext({ viewport: { width: 1100, height: 800 } });
const page = await context.newPage();
page.on('pageerror', (e) => problems.push(`page error: ${e}`));
page.setDefaultTimeout(20000);
let result = {};
try {
  await page.goto(url);
  if (phase === 'type') {
    await page.waitForSelector('#signin-server');
    await page.fill('#signin-server', args.server);
    await page.fill('#signin-code', args.bad_code);
    await page.click('#signin-submit');
    const refused = await page.locator('#signin-error').textContent();
    check(refused.includes(args.expect_error), `refusal names the problem: ${refused}`);
    await page.screenshot({ path: `${artifacts}/signin-refused.png` });
    await page.fill('#signin-code', args.code);
    await page.click('#signin-submit');
    await page.waitForSelector(args.workspace);
    const who = await page.locator('.who').textContent();
    await page.waitForTimeout(300);
    await page.screenshot({ path: `${artifacts}/signin-${args.shot}.png` });
    result = { refused, who };
  } else if (phase === 'admin') {
    await page.click('#tab-people');
    await page.waitForSelector(`#users tr[data-user="${args.user}"]`);
    await page.click(`#users tr[data-user="${args.user}"] button.enrol`);
    await page.waitForSelector('#enrolment-code');
    const code = (await page.locator('#enrolment-code').textContent()).trim();
    const qr = page.locator('#enrolment-qr');
    await page.waitForFunction(() => document.querySelector('#enrolment-qr').naturalWidth > 0);
    const src = await qr.getAttribute('src');
    await page.screenshot({ path: `${artifacts}/signin-admin-code.png` });
    const devices = await page.locator('#devices tbody tr').count();
    result = { code, qr_png_base64: src.replace(/^data:image\/png;base64,/, ''), devices };
  } else if (phase === 'qr') {
    await page.waitForSelector('#signin-qr');
    await page.setInputFiles('#signin-qr', args.qr_path);
    await page.waitForSelector(args.workspace);
    const who = await page.locator('.who').textContent();
    await page.waitForTimeout(300);
    await page.screenshot({ path: `${artifacts}/signin-qr.png` });
    result = { who };
  } else if (phase === 'signout') {
    await page.click('#account');
    await page.waitForSelector('#signout-dialog');
    const unsynced = await page.locator('#signout-unsynced').textContent();
    await page.screenshot({ path: `${artifacts}/signin-signout-dialog.png` });
    await page.click('#signout-keep');
    await page.waitForSelector('#signin-server');
    result = { unsynced };
  } else if (phase === 'revoked') {
    await page.waitForSelector('#signin-notice');
    const notice = await page.locator('#signin-notice').textContent();
    await page.screenshot({ path: `${artifacts}/signin-revoked.png` });
    result = { notice };
  } else {
    throw new Error(`unknown phase ${phase}`);
  }
  check(problems.length === 0, `no page errors: ${problems.join('; ')}`);
  console.log(JSON.stringify(result));
} catch (e) {
  await page.screenshot({ path: `${artifacts}/signin-${phase}-failure.png` }).catch(() => {});
  console.error(e.stack || String(e));
  console.error(problems.join('\n'));
  process.exitCode = 1;
} finally {
  await browser.close();
}
