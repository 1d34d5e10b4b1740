// Support tickets in the console and the portal (driven from tests/tests/e2e/tickets.rs,
// which posts the storefront's ticket, runs the server and checks every device through
// its API). Phases:
//   desk-work:   the Support tab lists the storefront's ticket (unassigned); the keyboard
//                opens it; "Assign to me", an answer in its conversation, "Mark pending";
//                the status filter hides and shows it; order status changes go to the
//                digest in the centre's settings; prints {assignee, status}.
//   client-ask:  the portal's support card refuses an empty ticket by field, then sends
//                one about the client's order, and a photo in its conversation;
//                prints {reference, status}.
//   desk-notice: the notification centre's "new ticket" opens that ticket in the Support
//                tab; the desk answers and marks it solved, then quotes the order (typed
//                in lower case), whose quote opens the order's panel; prints {status}.
//   client-read: the portal counts the reply, shows it in the ticket, and closes the
//                ticket (after the confirm); prints {status, reply}.
//
// usage: node tickets.mjs <phase> <device url> <artifacts dir> '<json args>'
import { launchChromium } from './chromium.mjs';

const [phase, url, artifacts, argText] = process.argv.slice(2);
const args = JSON.parse(argText || '{}');
const check = (cond, message) => { if (!cond) throw new Error(`assertion failed: ${message}`); };

const browser = await launchChromium();
const problems = [];
const page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
page.on('pageerror', (e) => problems.push(`page error: ${e}`));
page.on('dialog', (d) => d.accept());
page.setDefaultTimeout(20000);
const text = async (sel) => (await page.textContent(sel)).trim();
let result = {};
try {
  await page.goto(url);
  if (phase === 'desk-work') {
    await page.click('#tab-support');
    const row = `#tickets tr.ticket-row[data-reference="${args.reference}"]`;
    await page.waitForSelector(row);
    check((await text('#tickets-unassigned')) === '1 unassigned', `unassigned: ${await text('#tickets-unassigned')}`);
    const requester = await text(`${row} td:nth-child(3)`);
    check(requester.includes('Greta Guest') && requester.endsWith('· web shop'), `requester from the web shop: ${requester}`);
    // The keyboard opens the ticket under the cursor.
    await page.focus('#ticket-queue');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#ticket-panel #ticket-title');
    check((await text('#ticket-title')).includes(args.subject), `title: ${await text('#ticket-title')}`);
    check((await text('#ticket-message')).includes(args.message), 'what the requester wrote');
    await page.click('#ticket-assign-me');
    await page.waitForFunction(() => document.querySelector('#ticket-assignee-name')?.textContent.trim() !== 'nobody yet');
    await page.waitForFunction(() => document.querySelector('#tickets-mine')?.textContent.trim() === '1 mine');
    await page.fill('#ticket-chat-input', args.answer);
    await page.keyboard.press('Enter');
    await page.waitForSelector('#ticket-chat-messages li.msg.mine');
    await page.click('#ticket-set-pending');
    await page.waitForFunction(() => document.querySelector('#ticket-status')?.textContent.trim() === 'Pending');
    await page.screenshot({ path: `${artifacts}/tickets-desk.png` });
    // Filters: without "Pending" it is gone (with an empty state), and back with it.
    await page.uncheck('#ticket-status-pending');
    await page.waitForSelector('#tickets-empty');
    await page.check('#ticket-status-pending');
    await page.waitForSelector(row);
    // Subscriptions: order status changes into the digest; kept after a reload.
    await page.click('#notice-button');
    await page.click('#notice-settings');
    await page.selectOption('#notice-channel-status', 'digest');
    await page.waitForTimeout(500);
    await page.screenshot({ path: `${artifacts}/notices-settings.png` });
    await page.reload();
    await page.click('#notice-button');
    await page.click('#notice-settings');
    await page.waitForFunction(() => document.querySelector('#notice-channel-status')?.value === 'digest');
    await page.goto(url);
    await page.click('#tab-support');
    await page.waitForSelector(row);
    await page.click(row);
    await page.waitForSelector('#ticket-panel #ticket-status');
    result = { assignee: await text('#ticket-assignee-name'), status: await text('#ticket-status') };
  } else if (phase === 'client-ask') {
    await page.waitForSelector('#client-support');
    await page.waitForSelector('#tickets-empty');
    await page.click('#ticket-new');
    await page.click('#ticket-send');
    await page.waitForSelector('#ticket-subject-error');
    check((await text('#ticket-subject-error')).includes('required'), `subject: ${await text('#ticket-subject-error')}`);
    await page.screenshot({ path: `${artifacts}/tickets-client-refused.png` });
    await page.fill('#ticket-subject', args.subject);
    await page.selectOption('#ticket-category-new', 'damage');
    await page.selectOption('#ticket-order-new', args.order);
    await page.fill('#ticket-message-new', args.message);
    await page.click('#ticket-send');
    await page.waitForSelector('#ticket-panel #ticket-title');
    await page.waitForSelector('#my-tickets li.ticket-item');
    check((await text('#ticket-message')).includes(args.message), 'the message is in the ticket');
    check(!(await page.$('#ticket-assign-me')), 'a client does not assign');
    const reference = (await text('#ticket-title')).split(' · ')[0];
    // A photo of the damage, in the ticket's conversation.
    await page.fill('#ticket-chat-input', 'Photo of the box');
    await page.setInputFiles('#ticket-chat-photo', args.photo);
    await page.waitForSelector('#ticket-chat-messages li.msg.mine img.chat-photo');
    check((await text('#ticket-chat-messages li.msg.mine .text')) === 'Photo of the box', 'the draft is the caption');
    await page.screenshot({ path: `${artifacts}/tickets-client-sent.png` });
    result = { reference, status: await text('#ticket-status') };
  } else if (phase === 'desk-notice') {
    await page.waitForSelector('#notice-unread');
    await page.click('#notice-button');
    const notice = `#notice-centre li.notice[data-kind="ticket"]:has-text("${args.reference}")`;
    await page.waitForSelector(notice);
    await page.click(notice);
    await page.waitForSelector(`#ticket-panel #ticket-title:has-text("${args.reference}")`);
    check(await page.$('#tab-support.active'), 'the Support tab is shown');
    check((await text('#ticket-order')) === args.order_reference, `linked order: ${await text('#ticket-order')}`);
    // The client's photo came with their message.
    await page.waitForSelector('#ticket-chat-messages li.msg:not(.mine) img.chat-photo');
    await page.fill('#ticket-chat-input', args.answer);
    await page.keyboard.press('Enter');
    await page.waitForSelector('#ticket-chat-messages li.msg.mine');
    await page.click('#ticket-set-solved');
    await page.waitForFunction(() => document.querySelector('#ticket-status')?.textContent.trim() === 'Solved');
    await page.screenshot({ path: `${artifacts}/tickets-desk-solved.png` });
    const status = await text('#ticket-status');
    // Quote the order in the conversation; the quote opens the order's panel.
    await page.click('#ticket-chat-quote');
    await page.fill('#ticket-chat-input', 'This one:');
    await page.fill('#ticket-chat-quote-ref', args.order_reference.toLowerCase());
    await page.keyboard.press('Enter');
    const quoted = `#ticket-chat-messages li.msg.mine button.quoted:has-text("Order ${args.order_reference}")`;
    await page.waitForSelector(quoted);
    await page.click(quoted);
    await page.waitForSelector(`#order-panel h2:has-text("${args.order_reference}")`);
    check(await page.$('#tab-orders.active'), 'the Orders tab is shown');
    result = { status };
  } else if (phase === 'client-read') {
    const item = `#my-tickets li.ticket-item[data-reference="${args.reference}"]`;
    await page.waitForSelector(`${item} .count`);
    await page.click(item);
    await page.waitForSelector('#ticket-chat-messages li.msg:not(.mine)');
    const reply = await text('#ticket-chat-messages li.msg:not(.mine) .body');
    await page.waitForSelector('#ticket-chat-messages li.msg.mine img.chat-photo');
    check(await page.$('#ticket-reopen'), 'a solved ticket may be reopened');
    await page.screenshot({ path: `${artifacts}/tickets-client-reply.png` });
    await page.click('#ticket-close');
    await page.waitForFunction(() => document.querySelector('#ticket-status')?.textContent.trim() === 'Closed');
    check(!(await page.$('#ticket-close')), 'nothing more to close');
    result = { status: await text('#ticket-status'), reply };
  } else {
    throw new Error(`unknown phase ${phase}`);
  }
} catch (e) {
  problems.push(String(e?.stack || e));
  await page.screenshot({ path: `${artifacts}/tickets-${phase}-failure.png`, fullPage: true }).catch(() => {});
}
await browser.close();
if (problems.length) {
  console.error(problems.join('\n'));
  process.exit(1);
}
console.log(JSON.stringify(result));
