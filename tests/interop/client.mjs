// Interop client: a stock JS automerge-repo 2.x Repo (npm `@automerge/automerge-repo` and
// `@automerge/automerge-repo-network-websocket`, nothing of Ruta's) against Ruta's sync server.
// Driven by tests/tests/e2e/interop.rs; runnable by hand against any server.
//
// usage: RUTA_TOKEN=<token> node client.mjs --server http://127.0.0.1:PORT
//          [--read automerge:...]...        find these documents, print each as one JSON line
//          [--forbidden automerge:...]...   these must be answered as unavailable
//          [--note automerge:... --text T]  append a valid `note_added` event as the signed-in user
//          [--forge automerge:...]          append a `price_set` event; the server must refuse it
//          [--timeout MS]                   per step (default 15000)
//
// Steps run in that order. It signs in with GET /v1/me, then opens one Repo whose peer id is the
// one the server binds to the token, and prints the user's index document first. Progress goes to
// stderr; stdout gets one JSON line per document read and, last, one JSON result line. Any
// failure (a read that does not arrive, a forbidden document that does, a note the server does
// not confirm, a forged write it accepts, an `error` message from the server when none is
// expected) exits non-zero with a message naming the step.
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { Repo, ImmutableString, cbor, decodeHeads } from '@automerge/automerge-repo';
import { WebSocketClientAdapter } from '@automerge/automerge-repo-network-websocket';

const { values: args } = parseArgs({
  options: {
    server: { type: 'string', default: process.env.RUTA_SERVER },
    read: { type: 'string', multiple: true, default: [] },
    forbidden: { type: 'string', multiple: true, default: [] },
    note: { type: 'string' },
    text: { type: 'string', default: 'note from the JS automerge-repo client' },
    forge: { type: 'string' },
    timeout: { type: 'string', default: '15000' },
  },
});
const token = process.env.RUTA_TOKEN;
const timeoutMs = Number(args.timeout);
if (!args.server || !token || !(timeoutMs > 0)) {
  console.error('usage: RUTA_TOKEN=<token> node client.mjs --server <http url> [--read URL]... '
    + '[--forbidden URL]... [--note URL [--text T]] [--forge URL] [--timeout MS]');
  process.exit(2);
}

const log = (...m) => console.error('[interop]', ...m);
let step = 'start';
function fail(message) {
  console.error(`interop client FAILED at step "${step}": ${message}`);
  process.exit(1);
}
process.on('uncaughtException', (e) => fail(`uncaught: ${e?.stack || e}`));
process.on('unhandledRejection', (e) => fail(`unhandled rejection: ${e?.stack || e}`));

function within(ms, promise, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Ruta stores strings as scalars; automerge 3 hands those to JS as ImmutableString.
function plain(value) {
  if (value instanceof ImmutableString) return value.toString();
  if (Array.isArray(value)) return value.map(plain);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  }
  return value;
}

/**
 * The stock WebSocket adapter, watched: every message the server sends and every close is
 * recorded, so the script can see the server's `error` messages (the stock adapter only logs
 * them) and the sync messages that confirm a write.
 */
class WatchedAdapter extends WebSocketClientAdapter {
  errors = [];
  refusals = []; // { documentId, message }: doc-unavailable naming a refused write
  closes = [];
  syncs = []; // { documentId, heads: [hex] }

  constructor(url) {
    super(url);
    const onClose = this.onClose;
    this.onClose = (event) => {
      this.closes.push({ code: event?.code, reason: String(event?.reason ?? '') });
      log(`socket closed: code ${event?.code} ${event?.reason ?? ''}`);
      onClose(event);
    };
  }

  receiveMessage(bytes) {
    try {
      const message = cbor.decode(new Uint8Array(bytes));
      if (message?.type === 'error') {
        this.errors.push(String(message.message));
        log(`server error message: ${message.message}`);
      } else if (message?.type === 'doc-unavailable' && message.message) {
        this.refusals.push({ documentId: message.documentId, message: String(message.message) });
        log(`server refused a write on ${message.documentId}: ${message.message}`);
      } else if (message?.type === 'sync' && message.data) {
        this.syncs.push({ documentId: message.documentId, heads: syncHeads(message.data) });
      }
    } catch (e) {
      log(`cannot decode an inbound message: ${e}`);
    }
    super.receiveMessage(bytes);
  }
}

/**
 * The heads a binary automerge sync message announces: its type byte (0x42, or 0x43 for the
 * version automerge 3 sends), a uLEB128 count, then that many 32-byte hashes.
 */
function syncHeads(data) {
  const bytes = new Uint8Array(data);
  if (bytes[0] !== 0x42 && bytes[0] !== 0x43) return [];
  let i = 1;
  let count = 0;
  for (let shift = 0; ; shift += 7) {
    const b = bytes[i++];
    count |= (b & 0x7f) << shift;
    if (!(b & 0x80)) break;
  }
  const heads = [];
  for (let n = 0; n < count && i + 32 <= bytes.length; n++, i += 32) {
    heads.push(Buffer.from(bytes.subarray(i, i + 32)).toString('hex'));
  }
  return heads;
}

// --- sign in -------------------------------------------------------------------------------
step = 'GET /v1/me';
const base = args.server.replace(/\/+$/, '');
const meResponse = await within(timeoutMs, fetch(`${base}/v1/me`, {
  headers: { Authorization: `Bearer ${token}` },
}), 'GET /v1/me');
if (!meResponse.ok) fail(`HTTP ${meResponse.status}: ${await meResponse.text()}`);
const me = await meResponse.json();
for (const field of ['user', 'role', 'peer_id', 'index_url']) {
  if (!me[field]) fail(`/v1/me has no ${field}: ${JSON.stringify(me)}`);
}
log(`signed in as ${me.user} (${me.role}) of ${me.tenant}, peer ${me.peer_id}`);

const wsUrl = `${base.replace(/^http/, 'ws')}/v1/sync?token=${encodeURIComponent(token)}`;
const adapter = new WatchedAdapter(wsUrl);
const repo = new Repo({ network: [adapter], peerId: me.peer_id });
const result = { me, index: null, read: {}, forbidden: {}, note: null, forged: null };

function noServerErrors() {
  if (adapter.errors.length) fail(`the server sent error: ${adapter.errors.join(' | ')}`);
}

async function open(url) {
  const handle = await within(timeoutMs, repo.find(url), `find ${url}`);
  return handle;
}

// --- the index: which documents this user may open -------------------------------------------
step = 'read index';
const index = plain((await open(me.index_url)).doc());
result.index = index.docs ?? {};
log(`index lists ${Object.keys(result.index).length} document(s)`);
noServerErrors();

// --- permitted reads -------------------------------------------------------------------------
function orderView(doc) {
  const events = {};
  for (const [key, raw] of Object.entries(doc.events ?? {})) {
    try {
      events[key] = JSON.parse(raw);
    } catch {
      events[key] = { unparsable: raw };
    }
  }
  return { schema: doc.schema, order: doc.order, events };
}

for (const url of args.read) {
  step = `read ${url}`;
  const doc = plain((await open(url)).doc());
  if (doc.schema !== 1 || typeof doc.order !== 'string' || !doc.events) {
    fail(`not an order document: ${JSON.stringify(doc)}`);
  }
  const view = orderView(doc);
  result.read[url] = {
    order: view.order,
    kinds: Object.keys(view.events).sort().map((k) => view.events[k].body?.type),
  };
  console.log(JSON.stringify({ url, doc: view }));
  noServerErrors();
}

// --- forbidden reads -------------------------------------------------------------------------
for (const url of args.forbidden) {
  step = `forbidden ${url}`;
  try {
    const handle = await within(timeoutMs, repo.find(url), `find ${url}`);
    fail(`expected unavailable, but got ${JSON.stringify(plain(handle.doc()))}`);
  } catch (e) {
    if (!/unavailable/i.test(String(e?.message))) fail(`expected "unavailable", got: ${e}`);
    log(`${url}: ${e.message}`);
    result.forbidden[url] = 'unavailable';
  }
  noServerErrors();
}

// --- appending events --------------------------------------------------------------------------
const device = randomBytes(16).toString('hex');
const node = device.slice(0, 16); // what Ruta's hlc::node_of takes from a hex device id

// What the author saw: the status and assignee the events lead to (lifecycle::transition, for
// the kinds that move them). A note fits any state; this keeps `seen` honest anyway.
function seenOf(events) {
  let status = 'pending';
  let assignee = null;
  for (const key of Object.keys(events).sort()) {
    const e = events[key];
    const t = e.body?.type;
    if (t === 'assigned' && ['pending', 'assigned'].includes(status)) {
      [status, assignee] = ['assigned', e.body.courier];
    } else if (t === 'claimed' && status === 'pending') {
      [status, assignee] = ['assigned', e.actor.user];
    } else if ((t === 'unassigned' || t === 'declined') && status === 'assigned') {
      [status, assignee] = ['pending', null];
    } else if (t === 'picked_up' && status === 'assigned') status = 'picked_up';
    else if (t === 'in_transit' && ['picked_up', 'attempt_failed'].includes(status)) status = 'in_transit';
    else if (t === 'delivered' && ['picked_up', 'in_transit'].includes(status)) status = 'delivered';
    else if (t === 'attempt_failed' && ['picked_up', 'in_transit'].includes(status)) status = 'attempt_failed';
    else if (t === 'returned' && ['picked_up', 'in_transit', 'attempt_failed'].includes(status)) status = 'returned';
    else if (t === 'cancelled' && ['pending', 'assigned'].includes(status)) status = 'cancelled';
    else if (t === 'reopened' && status === 'cancelled') [status, assignee] = ['pending', null];
  }
  return { status, assignee };
}

/** Appends one event authored by the signed-in user; returns its id (the HLC text form). */
async function append(url, body) {
  const handle = await open(url);
  const view = orderView(plain(handle.doc()));
  // HLC after every stamp in the document: `{wall_ms:016}.{counter:05}.{node:016x}`.
  const latest = Object.keys(view.events).sort().at(-1);
  const wall = Math.max(Date.now(), latest ? Number(latest.split('.')[0]) + 1 : 0);
  const id = `${String(wall).padStart(16, '0')}.00000.${node}`;
  const event = {
    at: id,
    actor: { user: me.user, role: me.role, device },
    seen: seenOf(view.events),
    location: null,
    body,
  };
  handle.change((d) => {
    d.events[id] = new ImmutableString(JSON.stringify(event));
  });
  return { handle, id, event };
}

/** Waits until the server announces heads that include ours for this document. */
async function confirmed(handle) {
  const ours = decodeHeads(handle.heads());
  const documentId = handle.documentId;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    noServerErrors();
    if (adapter.syncs.some((s) => s.documentId === documentId
      && ours.every((h) => s.heads.includes(h)))) return;
    await sleep(50);
  }
  const seen = adapter.syncs.filter((s) => s.documentId === documentId).map((s) => s.heads.join(','));
  fail(`the server did not confirm heads ${ours.join(',')} within ${timeoutMs} ms; `
    + `its sync messages for ${documentId} announced heads: [${seen.join('] [')}]`);
}

if (args.note) {
  step = `note on ${args.note}`;
  const { handle, id, event } = await append(args.note, { type: 'note_added', text: args.text });
  await confirmed(handle);
  await sleep(300); // a refusal would arrive right behind the confirmation
  noServerErrors();
  result.note = { url: args.note, id, event };
  log(`note ${id} confirmed by the server`);
}

if (args.forge) {
  step = `forged price on ${args.forge}`;
  const { id } = await append(args.forge, { type: 'price_set', cents: 1 });
  const deadline = Date.now() + timeoutMs;
  while (!adapter.refusals.length && !adapter.errors.length && Date.now() < deadline) await sleep(50);
  if (!adapter.refusals.length) {
    fail(adapter.errors.length
      ? `the server ended the session instead of refusing the document: ${adapter.errors[0]}`
      : `the server accepted a forged price_set ${id}`);
  }
  await sleep(200); // a close frame would arrive right behind
  result.forged = {
    url: args.forge, id, error: adapter.refusals[0].message, closes: adapter.closes,
  };
  log(`forged ${id} refused: ${adapter.refusals[0].message}`);
}

step = 'shutdown';
console.log(JSON.stringify(result));
await within(5000, repo.shutdown(), 'repo shutdown').catch((e) => log(String(e)));
process.exit(0);
