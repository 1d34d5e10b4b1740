// Chat in two browsers (driven from tests/tests/e2e/chat.rs, which takes the server down
// and up and checks both devices through their APIs). Phases:
//   courier-write: offline, the courier opens the stop's chat and writes; the message is in
//                  the conversation at once, waiting to be sent; prints {at}.
//   desk-read:     the dispatcher's header counts it unread (and the notification centre,
//                  emptied by "mark all read"); the conversation shows it with
//                  its capture time; the dispatcher replies with a quick reply; prints {at}.
//   courier-read:  the courier's header counts the reply; opening reads it; their own
//                  message says the dispatcher read it; prints {receipt}.
//   desk-receipt:  the dispatcher's reply says the courier read it; prints {receipt}.
//
// usage: node chat.mjs <phase> <device url> <artifacts dir> '<json args>'
import { launchChromium } from './chromium.mjs';

const [phase, url, artifacts, argText] = process.argv.slice(2);
const args = JSON.parse(argText || '{}');
const check = (cond, message) => { if (!cond) throw new Error(`assertion failed: ${message}`); };

const browser = await launchChromium();
const problems = [];
const mobile = phase.startsWith('courier');
const page = await browser.newPage({ viewport: mobile ? { width: 412, height: 915 } : { width: 1280, height: 900 } });
page.on('pageerror', (e) => problems.push(`page error: ${e}`));
page.setDefaultTimeout(20000);
let result = {};
const lastReceipt = () => page.$$eval('#chat-messages li.msg', (ls) => ls.map((l) => l.querySelector('.receipt')?.textContent.trim()));
try {
  await page.goto(url);
  if (phase === 'courier-write') {
    await page.waitForSelector('#stop-scan-code');
    await page.fill('#stop-scan-code', args.reference);
    await page.click('#stop-scan button[type=submit]');
    await page.waitForSelector('#stop-chat');
    await page.click('#stop-chat');
    await page.waitForSelector('#chat-drawer #chat-messages .empty');
    await page.fill('#chat-input', args.text);
    await page.keyboard.press('Enter');
    await page.waitForSelector('#chat-messages li.msg.mine.pending');
    const receipt = await page.textContent('#chat-messages li.msg .receipt');
    check(receipt.includes('sending when online'), `receipt: ${receipt}`);
    check((await page.inputValue('#chat-input')) === '', 'the composer is cleared');
    await page.screenshot({ path: `${artifacts}/chat-courier-offline.png` });
    result = { at: (await page.textContent('#chat-messages li.msg .at')).trim() };
  } else if (phase === 'desk-read') {
    await page.waitForSelector('#chat-unread');
    const unread = (await page.textContent('#chat-unread')).trim();
    check(unread === '1', `unread: ${unread}`);
    await page.screenshot({ path: `${artifacts}/chat-desk-unread.png` });
    // The notification centre has the message too; marking all read empties its count.
    await page.waitForSelector('#notice-unread');
    await page.click('#notice-button');
    await page.waitForSelector('#notice-centre li.notice.unread[data-kind="message"]');
    const notice = await page.textContent('#notice-centre li.notice.unread');
    check(notice.includes(args.text), `notice: ${notice}`);
    await page.screenshot({ path: `${artifacts}/notices-desk.png` });
    await page.click('#notice-all-read');
    await page.waitForFunction(() => !document.querySelector('#notice-unread'));
    await page.click('#notice-button');
    await page.click('#chat-button');
    await page.waitForSelector('#chat-list li.chat-row.unread');
    await page.click('#chat-list li.chat-row.unread');
    await page.waitForSelector('#chat-messages li.msg');
    const text = await page.textContent('#chat-messages li.msg .body');
    check(text.includes(args.text), `message: ${text}`);
    const at = (await page.textContent('#chat-messages li.msg .at')).trim();
    check(at === args.at, `capture time ${at}, written at ${args.at}`);
    // Opening read it: the header's count goes.
    await page.waitForFunction(() => !document.querySelector('#chat-unread'));
    await page.click(`.quick-replies button.chip:has-text("${args.reply}")`);
    await page.waitForFunction((n) => document.querySelectorAll('#chat-messages li.msg').length === n, 2);
    await page.screenshot({ path: `${artifacts}/chat-desk-replied.png` });
    result = { at };
  } else if (phase === 'courier-read') {
    await page.waitForSelector('#chat-unread');
    await page.click('#chat-button');
    await page.waitForSelector('#chat-list li.chat-row.unread');
    await page.click('#chat-list li.chat-row.unread');
    await page.waitForFunction((n) => document.querySelectorAll('#chat-messages li.msg').length === n, 2);
    const reply = await page.textContent('#chat-messages li.msg:nth-child(2) .body');
    check(reply.includes(args.reply), `reply: ${reply}`);
    await page.waitForFunction(() => document.querySelector('#chat-messages li.msg .receipt')?.textContent.includes('read by'));
    await page.waitForFunction(() => !document.querySelector('#chat-unread'));
    await page.screenshot({ path: `${artifacts}/chat-courier-reply.png` });
    result = { receipt: (await lastReceipt())[0] };
  } else if (phase === 'desk-receipt') {
    await page.click('#chat-button');
    await page.waitForSelector('#chat-list li.chat-row');
    await page.waitForSelector('#chat-start-dispatch-team');
    await page.screenshot({ path: `${artifacts}/chat-desk-list.png` });
    await page.click('#chat-list li.chat-row');
    await page.waitForFunction(() => document.querySelector('#chat-messages li.msg:nth-child(2) .receipt')?.textContent.includes('read by'), null, { timeout: 30000 });
    await page.screenshot({ path: `${artifacts}/chat-desk-read.png` });
    result = { receipt: (await lastReceipt())[1] };
  } else {
    throw new Error(`unknown phase ${phase}`);
  }
} catch (e) {
  problems.push(String(e?.stack || e));
  await page.screenshot({ path: `${artifacts}/chat-${phase}-failure.png`, fullPage: true }).catch(() => {});
}
await browser.close();
if (problems.length) {
  console.error(problems.join('\n'));
  process.exit(1);
}
console.log(JSON.stringify(result));
