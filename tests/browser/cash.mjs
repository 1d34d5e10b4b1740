// Cash hand-over in two browsers (driven from tests/tests/e2e/cash.rs, which checks both
// devices through their APIs). Phases:
//   courier: the courier's phone shows cash in hand, declares a hand-over and shows its code;
//            prints {code, declared}.
//   desk:    the dispatcher's Cash tab records what was counted from that code (less than
//            declared) and sees the discrepancy; prints {status, difference}.
//   settled: the courier's phone shows the settled hand-over; prints {in_hand}.
//
// usage: node cash.mjs <phase> <device url> <artifacts dir> '<json args>'
import { launchChromium } from './chromium.mjs';

const [phase, url, artifacts, argText] = process.argv.slice(2);
const args = JSON.parse(argText || '{}');
const check = (cond, message) => { if (!cond) throw new Error(`assertion failed: ${message}`); };

const browser = await launchChromium();
const problems = [];
const mobile = phase !== 'desk';
const page = await browser.newPage({ viewport: mobile ? { width: 412, height: 915 } : { width: 1280, height: 900 } });
page.on('pageerror', (e) => problems.push(`page error: ${e}`));
page.setDefaultTimeout(20000);
let result = {};
try {
  await page.goto(url);
  if (phase === 'courier') {
    await page.waitForSelector('#courier-cash');
    const inHand = await page.textContent('#cash-in-hand');
    check(inHand.includes(args.in_hand), `in hand: ${inHand}`);
    await page.click('#cash-handover');
    // The amount offered is what they hold.
    check((await page.inputValue('#cash-amount')) === args.amount, `the amount in hand is offered: ${await page.inputValue('#cash-amount')}`);
    await page.click('#cash-declare');
    await page.waitForSelector('#courier-cash .handover-code img.qr');
    const code = (await page.textContent('#courier-cash .handover-code .mono')).trim();
    check(code.startsWith('ruta-cash:1:'), `code: ${code}`);
    await page.screenshot({ path: `${artifacts}/cash-courier-code.png` });
    result = { code };
  } else if (phase === 'desk') {
    await page.click('#tab-cash');
    await page.waitForSelector('#cash-receive');
    await page.fill('#cash-code', args.code);
    await page.fill('#cash-counted', args.counted);
    await page.click('#cash-record');
    await page.waitForSelector('#cash-ledger li.handover[data-status="discrepancy"]');
    const item = await page.textContent('#cash-ledger li.handover');
    await page.waitForSelector(`#cash-positions tr[data-courier="${args.courier}"]`);
    const row = await page.textContent(`#cash-positions tr[data-courier="${args.courier}"]`);
    check(row.includes('discrepancy'), `positions row: ${row}`);
    await page.screenshot({ path: `${artifacts}/cash-desk-discrepancy.png` });
    // A bad count is refused with the field named; nothing is recorded.
    await page.fill('#cash-courier', args.courier);
    await page.fill('#cash-counted', 'lots');
    await page.click('#cash-record');
    await page.waitForSelector('#cash-receive .error');
    check((await page.textContent('#cash-receive .error')).includes('Counted'), 'the field is named');
    // Charged to the courier: settled.
    await page.click('#cash-ledger li.handover .settle-charge');
    await page.waitForSelector('#cash-ledger li.handover[data-status="settled"]');
    await page.screenshot({ path: `${artifacts}/cash-desk-settled.png` });
    result = { item, difference: (await page.textContent('#cash-ledger li.handover .diff'))?.trim() };
  } else if (phase === 'settled') {
    await page.waitForSelector('#courier-cash li.handover[data-status="settled"]', { timeout: 30000 });
    const inHand = (await page.textContent('#cash-in-hand')).trim();
    await page.screenshot({ path: `${artifacts}/cash-courier-settled.png` });
    result = { in_hand: inHand };
  } else {
    throw new Error(`unknown phase ${phase}`);
  }
} catch (e) {
  problems.push(String(e?.stack || e));
  await page.screenshot({ path: `${artifacts}/cash-${phase}-failure.png`, fullPage: true }).catch(() => {});
}
await browser.close();
if (problems.length) {
  console.error(problems.join('\n'));
  process.exit(1);
}
console.log(JSON.stringify(result));
