// Side by side in one run: Ruta's `sync-server` (release binary, its own process) against the
// stock automerge-repo sync server on node (scripts/bench/automerge-repo-sync-server.mjs), with
// the same workload and the same client: stock JS `@automerge/automerge-repo` 2.x Repos with the
// stock WebSocket client adapter, in this process. Everything on 127.0.0.1.
//
// usage: node scripts/bench/sync-side-by-side.mjs [--sync-server PATH] [--loadgen PATH] [--orders 2000]
//          [--clients 8] [--fetch 250] [--in-flight 16] [--edits 500] [--edit-docs 50]
//          [--only ruta|stock] [--out DIR]
// (`cargo xtask bench-sync-peers` builds the release binary and runs this.)
//
// Per server, in order:
//  1. seed: one client creates N order documents shaped like Ruta's (`order_doc`: schema 1, the
//     order's UUID under `order`, one `created` event by the dispatcher as a JSON scalar under its
//     HLC id, and the document id is the UUID's bytes); a document counts when the server's sync
//     messages announce heads that include the client's.
//  2. fetch (warm): K fresh clients (new peers, no storage) each `find` M documents, at most
//     `in-flight` at a time per client → documents synced per second, p50/p99 per `find`.
//  3. restart the server on the same data, then fetch again (cold: from the server's storage).
//  4. latency: clients A and B open `edit-docs` documents; A appends a permitted `note_added`
//     event, one edit at a time, E edits round-robin → time until B's handle shows the event.
// Ruta's server is set up through its CLI (tenant, one dispatcher user, one token); each client
// is its own peer (`?device=`), as the server binds peer ids to token + device. The stock server
// takes any peer id and ignores the query. Server CPU (utime+stime from /proc) and peak RSS
// (VmHWM) are read per phase; the load average is recorded before and after each server.
// Every step is bounded (--timeout ms per step); a step that times out is reported, not hung on.
import { spawn, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import * as A from '@automerge/automerge';
import { Repo, ImmutableString, cbor, decodeHeads } from '@automerge/automerge-repo';
import { WebSocketClientAdapter } from '@automerge/automerge-repo-network-websocket';
import WebSocket from 'ws';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const { values: opt } = parseArgs({
  options: {
    'sync-server': { type: 'string' },
    loadgen: { type: 'string' },
    orders: { type: 'string', default: '2000' },
    clients: { type: 'string', default: '8' },
    fetch: { type: 'string', default: '250' },
    'in-flight': { type: 'string', default: '16' },
    'seed-in-flight': { type: 'string', default: '64' },
    edits: { type: 'string', default: '500' },
    'edit-docs': { type: 'string', default: '50' },
    timeout: { type: 'string', default: '120000' },
    only: { type: 'string' },
    out: { type: 'string', default: path.join(root, 'target/bench-sync-peers') },
  },
});
const N = Number(opt.orders);
const K = Number(opt.clients);
const M = Math.min(Number(opt.fetch), N);
const IN_FLIGHT = Number(opt['in-flight']);
const SEED_IN_FLIGHT = Number(opt['seed-in-flight']);
const E = Number(opt.edits);
const EDIT_DOCS = Math.min(Number(opt['edit-docs']), N);
const STEP_MS = Number(opt.timeout);
const targetDir = process.env.CARGO_TARGET_DIR || path.join(root, 'target');
const rutaBin = opt['sync-server'] || path.join(targetDir, 'release/sync-server');
const loadgenBin = opt.loadgen || path.join(path.dirname(rutaBin), 'sync-loadgen');
const log = (...m) => console.error('[bench]', ...m);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const CLK_TCK = 100; // getconf CLK_TCK on Linux x86_64

function within(ms, promise, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function quantile(sorted, q) {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
}
function stats(samples) {
  const s = [...samples].sort((a, b) => a - b);
  return { n: s.length, p50: quantile(s, 0.5), p99: quantile(s, 0.99), max: s.at(-1) };
}
const load = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');

// --- server processes ------------------------------------------------------------------------

function procCpuMs(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK; // utime, stime
}
function procPeakRssMiB(pid) {
  const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** Starts a server process; resolves with its base URL from the first stdout line. */
async function startProcess(name, cmd, args, logFile) {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], cwd: root });
  const errLog = fs.createWriteStream(logFile, { flags: 'a' });
  child.stderr.pipe(errLog);
  const lines = readline.createInterface({ input: child.stdout });
  const first = await within(30000, new Promise((resolve, reject) => {
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`${name} exited (${code}); see ${logFile}`)));
  }), `${name} start`);
  lines.on('line', (l) => errLog.write(`${l}\n`));
  const url = /listening on (http:\/\/\S+)/.exec(first)?.[1];
  if (!url) throw new Error(`${name}: unexpected first line ${JSON.stringify(first)}`);
  return { child, url, pid: child.pid };
}

async function stopProcess(proc) {
  if (proc.child.exitCode !== null) return;
  const exited = new Promise((r) => proc.child.once('exit', r));
  proc.child.kill('SIGTERM');
  await within(30000, exited, 'server stop').catch(() => proc.child.kill('SIGKILL'));
}

/** Ruta's server: tenant, one dispatcher user and one token through its CLI. */
function rutaTarget(dataDir, logFile) {
  const cli = (...a) => execFileSync(rutaBin, ['--data', dataDir, ...a], {
    encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'],
  }).trim();
  cli('tenant', 'create', 'bench');
  cli('user', 'add', '--tenant', 'bench', '--id', 'disp', '--role', 'dispatcher', '--name', 'Bench');
  const token = cli('token', 'issue', '--tenant', 'bench', '--user', 'disp');
  return {
    name: 'ruta sync-server',
    start: () => startProcess('sync-server', rutaBin,
      ['--data', dataDir, 'serve', '--listen', '127.0.0.1:0'], logFile),
    async client(base, device) {
      const me = await (await fetch(`${base}/v1/me?device=${device}`, {
        headers: { Authorization: `Bearer ${token}` },
      })).json();
      if (!me.peer_id) throw new Error(`/v1/me: ${JSON.stringify(me)}`);
      return {
        url: `${base.replace(/^http/, 'ws')}/v1/sync?token=${encodeURIComponent(token)}&device=${device}`,
        peerId: me.peer_id,
        user: me.user,
        role: me.role,
      };
    },
  };
}

/** The stock server: any peer id, no authentication. */
function stockTarget(dataDir, logFile) {
  return {
    name: 'automerge-repo sync server (node)',
    start: () => startProcess('automerge-repo-sync-server', process.execPath,
      [path.join(here, 'automerge-repo-sync-server.mjs'), '--dir', dataDir], logFile),
    async client(base, device) {
      return { url: base.replace(/^http/, 'ws'), peerId: `bench-${device}`, user: 'disp', role: 'dispatcher' };
    },
  };
}

// --- clients -----------------------------------------------------------------------------------

/** Heads a binary automerge sync message announces (type byte, uLEB128 count, 32-byte hashes). */
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

/** The stock client adapter, watched: server `error` messages and announced heads per document. */
class WatchedAdapter extends WebSocketClientAdapter {
  errors = [];
  /** Messages and bytes per direction and type ("rx sync", "tx request", ...). */
  traffic = new Map();

  count(dir, type, bytes) {
    const k = `${dir} ${type}`;
    const t = this.traffic.get(k) ?? { n: 0, bytes: 0 };
    t.n++;
    t.bytes += bytes;
    this.traffic.set(k, t);
  }

  send(message) {
    this.count('tx', message.type, message.data?.byteLength ?? 0);
    super.send(message);
  }

  serverHeads = new Map(); // documentId -> Set(hex)
  waiters = new Map(); // documentId -> [() => bool (true: done, drop it)]

  receiveMessage(bytes) {
    try {
      const m = cbor.decode(new Uint8Array(bytes));
      this.count('rx', m?.type, m?.data?.byteLength ?? 0);
      if (m?.type === 'error') this.errors.push(String(m.message));
      else if (m?.type === 'sync' && m.data) {
        const heads = syncHeads(m.data);
        if (heads.length) {
          this.serverHeads.set(m.documentId, new Set(heads));
          const list = this.waiters.get(m.documentId);
          if (list) this.waiters.set(m.documentId, list.filter((w) => !w()));
        }
      }
    } catch { /* the Repo reports what it cannot read */ }
    super.receiveMessage(bytes);
  }
}

let nextDocId = null;
async function connect(target, base, device) {
  const c = await target.client(base, device);
  const adapter = new WatchedAdapter(c.url);
  const repo = new Repo({
    network: [adapter],
    peerId: c.peerId,
    // Lets the seeding client choose each document's id (an order's UUID bytes), as Ruta does.
    idFactory: async () => nextDocId,
  });
  await within(STEP_MS, repo.networkSubsystem.whenReady(), `${device} connects`);
  return { repo, adapter, ...c, device: randomBytes(16).toString('hex') };
}

async function close(client) {
  await within(10000, client.repo.shutdown(), 'client shutdown').catch(() => {});
}

/**
 * A lean client of the same protocol (automerge-repo network protocol v1 over WebSocket, CBOR
 * messages, automerge sync messages from @automerge/automerge): join, then per document a
 * `request`, answering each `sync` until the document has arrived. None of the Repo's machinery
 * (handles, state machines, storage and share subsystems), so a client core serves far more
 * documents per second and the server, not the client, is what is measured.
 */
async function connectRaw(target, base, name) {
  const c = await target.client(base, name);
  const ws = new WebSocket(c.url);
  const docs = new Map(); // documentId -> { doc, state, resolve, reject, done }
  const errors = [];
  let serverId = null;
  const send = (m) => ws.send(cbor.encode({ senderId: c.peerId, targetId: serverId, ...m }));
  const joined = new Promise((resolve, reject) => {
    ws.on('error', reject);
    ws.on('close', (code, reason) => {
      const e = new Error(`socket closed: ${code} ${reason}`);
      reject(e);
      for (const d of docs.values()) if (!d.done) d.reject(e);
    });
    ws.on('message', (bytes) => {
      const m = cbor.decode(new Uint8Array(bytes));
      if (m.type === 'peer') {
        serverId = m.senderId;
        resolve();
      } else if (m.type === 'error') {
        errors.push(String(m.message));
      } else if (m.type === 'doc-unavailable') {
        docs.get(m.documentId)?.reject(new Error(`${m.documentId} unavailable`));
      } else if (m.type === 'sync' && docs.has(m.documentId)) {
        const d = docs.get(m.documentId);
        [d.doc, d.state] = A.receiveSyncMessage(d.doc, d.state, m.data);
        const [state, reply] = A.generateSyncMessage(d.doc, d.state);
        d.state = state;
        if (reply) send({ type: 'sync', documentId: m.documentId, data: reply });
        if (!d.done && d.doc.schema !== undefined) {
          d.done = true;
          d.resolve(d.doc);
        }
      }
    });
  });
  ws.on('open', () => ws.send(cbor.encode({
    type: 'join', senderId: c.peerId, supportedProtocolVersions: ['1'],
    peerMetadata: { isEphemeral: true },
  })));
  await within(STEP_MS, joined, `${name} joins`);
  return {
    adapter: { errors },
    find(url) {
      const documentId = url.replace(/^automerge:/, '');
      return new Promise((resolve, reject) => {
        const d = { doc: A.init(), state: A.initSyncState(), resolve, reject, done: false };
        docs.set(documentId, d);
        const [state, msg] = A.generateSyncMessage(d.doc, d.state);
        d.state = state;
        send({ type: 'request', documentId, data: msg });
      });
    },
    close: () => new Promise((resolve) => { ws.once('close', resolve); ws.close(); setTimeout(resolve, 2000); }),
  };
}

function uuidOf(bytes) {
  const h = Buffer.from(bytes).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function hlc(wall, counter, device) {
  return `${String(wall).padStart(16, '0')}.${String(counter).padStart(5, '0')}.${device.slice(0, 16)}`;
}

/** A Ruta order document's content: what `OrderDoc::create` + `append(created)` make. */
function orderValue(client, uuid, i) {
  const at = hlc(Date.now(), i % 100000, client.device);
  const spec = {
    reference: `B-${String(i).padStart(6, '0')}`,
    order_type: 'pickup_and_delivery',
    carrier: 'internal',
    customer_name: `Bench Customer ${i}`,
    pickup: { address: { line1: `Mannerheimintie ${1 + (i % 100)}`, city: 'Helsinki', postcode: '00100' } },
    dropoff: { address: { line1: `Hämeentie ${1 + (i % 150)}`, city: 'Helsinki', postcode: '00530' } },
    packages: [{ count: 1, weight_g: 1200 }],
    price_cents: 990,
  };
  const event = {
    at,
    actor: { user: client.user, role: client.role, device: client.device },
    seen: { status: 'pending', assignee: null },
    location: null,
    body: { type: 'created', spec },
  };
  return {
    schema: 1,
    order: new ImmutableString(uuid),
    events: { [at]: new ImmutableString(JSON.stringify(event)) },
  };
}

/** Waits until the server announced heads that include `handle`'s for its document. */
function confirmedBy(adapter, handle) {
  const ours = decodeHeads(handle.heads());
  const id = handle.documentId;
  const done = () => {
    const s = adapter.serverHeads.get(id);
    return Boolean(s) && ours.every((h) => s.has(h));
  };
  if (done()) return Promise.resolve();
  return new Promise((resolve) => {
    const list = adapter.waiters.get(id) ?? [];
    list.push(() => (done() ? (resolve(), true) : false));
    adapter.waiters.set(id, list);
  });
}

async function pool(items, width, fn) {
  let next = 0;
  const run = async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, run));
}

function checkErrors(client, step) {
  if (client.adapter.errors.length) {
    throw new Error(`${step}: the server sent error: ${client.adapter.errors.join(' | ')}`);
  }
}

// --- phases ------------------------------------------------------------------------------------

async function seed(target, base) {
  const c = await connect(target, base, 'seeder');
  const urls = [];
  const t0 = performance.now();
  await within(STEP_MS * 5, pool(Array.from({ length: N }, (_, i) => i), SEED_IN_FLIGHT, async (i) => {
    const id = randomBytes(16);
    id[6] = (id[6] & 0x0f) | 0x40; // a v4 UUID, like Ruta's order ids
    id[8] = (id[8] & 0x3f) | 0x80;
    nextDocId = id;
    const handle = await c.repo.create2(orderValue(c, uuidOf(id), i));
    urls.push(handle.url);
    await within(STEP_MS, confirmedBy(c.adapter, handle), `server confirms ${handle.url}`);
    checkErrors(c, 'seed');
  }), 'seed');
  const ms = performance.now() - t0;
  await close(c);
  return { urls, ms };
}

/** Client k reads M documents starting at its own offset, so clients overlap only partly. */
function docsOf(urls, k, m) {
  const n = urls.length;
  return Array.from({ length: m }, (_, j) => urls[(k * Math.floor(n / K) + j) % n]);
}

/**
 * The same fetches as the lean node client, made by `sync-loadgen` (Rust, its own process; the
 * same protocol messages, automerge's Rust sync instead of its wasm build), so the load generator
 * costs less CPU per document than the servers it measures.
 */
async function fetchRust(target, base, urls, label, m) {
  const clients = [];
  for (let k = 0; k < K; k++) {
    const c = await target.client(base, `${label}-rust-${k}`);
    clients.push({ url: c.url, peer_id: c.peerId, docs: docsOf(urls, k, m).map((u) => u.replace(/^automerge:/, '')) });
  }
  const child = spawn(loadgenBin, [], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => { stdout += d; });
  child.stderr.on('data', (d) => { stderr += d; });
  const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  child.stdin.end(JSON.stringify({ clients, in_flight: IN_FLIGHT, step_ms: STEP_MS }));
  const code = await within(STEP_MS * 5, exited, `${label}: sync-loadgen`);
  if (code !== 0) throw new Error(`${label}: sync-loadgen exited ${code}: ${stderr.trim()}`);
  const r = JSON.parse(stdout);
  if (r.without_events) throw new Error(`${label}: ${r.without_events} documents arrived without their content`);
  return {
    docs: K * m, ms: r.ms, perSecond: (K * m * 1000) / r.ms,
    find: stats(r.latencies_ms), loadgen_cpu_ms: r.cpu_ms,
    // Messages per find, on the document's own sync (the request counts as sent).
    per_find: { received: r.received / (K * m), sent: r.sent / (K * m) },
  };
}

async function fetchPhase(target, base, urls, label, kind, m = M) {
  if (kind === 'rust') return fetchRust(target, base, urls, label, m);
  const clients = [];
  for (let k = 0; k < K; k++) {
    const name = `${label}-${kind}-${k}`;
    if (kind === 'raw') clients.push(await connectRaw(target, base, name));
    else {
      const c = await connect(target, base, name);
      clients.push({ ...c, find: (url) => c.repo.find(url).then((h) => h.doc()), close: () => close(c) });
    }
  }
  const latencies = [];
  let bad = 0;
  const t0 = performance.now();
  await within(STEP_MS * 5, Promise.all(clients.map((c, k) => pool(docsOf(urls, k, m), IN_FLIGHT, async (url) => {
    const s = performance.now();
    const doc = await within(STEP_MS, c.find(url), `find ${url}`);
    latencies.push(performance.now() - s);
    if (doc?.schema !== 1 || Object.keys(doc.events ?? {}).length < 1) bad++;
  }))), label);
  const ms = performance.now() - t0;
  for (const c of clients) checkErrors(c, label);
  if (process.env.RUTA_BENCH_TRAFFIC && kind !== 'raw') {
    const all = new Map();
    for (const c of clients) {
      for (const [k, t] of c.adapter.traffic) {
        const a = all.get(k) ?? { n: 0, bytes: 0 };
        a.n += t.n;
        a.bytes += t.bytes;
        all.set(k, a);
      }
    }
    for (const [k, t] of [...all].sort()) {
      log(`${label}: ${k}: ${(t.n / (K * m)).toFixed(2)} messages, ${(t.bytes / (K * m)).toFixed(0)} bytes per find`);
    }
  }
  await Promise.all(clients.map((c) => c.close()));
  if (bad) throw new Error(`${label}: ${bad} documents arrived without their content`);
  return { docs: K * m, ms, perSecond: (K * m * 1000) / ms, find: stats(latencies) };
}

async function latencyPhase(target, base, urls) {
  const a = await connect(target, base, 'writer');
  const b = await connect(target, base, 'reader');
  const docs = urls.slice(0, EDIT_DOCS);
  const ha = [];
  const hb = [];
  for (const url of docs) {
    ha.push(await within(STEP_MS, a.repo.find(url), `writer finds ${url}`));
    hb.push(await within(STEP_MS, b.repo.find(url), `reader finds ${url}`));
  }
  const samples = [];
  let seen = null; // { key, resolve }
  for (const h of hb) {
    h.on('change', ({ doc }) => {
      if (seen && doc.events?.[seen.key] !== undefined) seen.resolve();
    });
  }
  const t0 = performance.now();
  for (let e = 0; e < E; e++) {
    const d = e % docs.length;
    const key = hlc(Date.now(), e % 100000, a.device);
    const event = {
      at: key,
      actor: { user: a.user, role: a.role, device: a.device },
      seen: { status: 'pending', assignee: null },
      location: null,
      body: { type: 'note_added', text: `bench note ${e}` },
    };
    const arrived = new Promise((resolve) => { seen = { key, resolve }; });
    const s = performance.now();
    ha[d].change((doc) => { doc.events[key] = new ImmutableString(JSON.stringify(event)); });
    await within(STEP_MS, arrived, `edit ${e} reaches the reader`);
    samples.push(performance.now() - s);
    checkErrors(a, 'latency');
  }
  const ms = performance.now() - t0;
  await close(a);
  await close(b);
  return { edits: E, ms, latency: stats(samples) };
}

async function runTarget(makeTarget, key) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `bench-sync-${key}-`));
  const logFile = path.join(opt.out, `${key}-server.log`);
  fs.rmSync(logFile, { force: true });
  const target = makeTarget(path.join(dir, 'data'), logFile);
  const result = { server: target.name, load_before: load() };
  let proc = await target.start();
  log(`${target.name} on ${proc.url} (load ${result.load_before})`);
  const cpu = () => procCpuMs(proc.pid);
  const clientCpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
  const phase = async (name, f) => {
    const [s0, c0] = [cpu(), clientCpu()];
    const r = await f();
    r.server_cpu_ms = Math.round(cpu() - s0);
    // The Rust load generator reports its own CPU; node's is then only the driver's.
    r.client_cpu_ms = r.loadgen_cpu_ms ?? Math.round(clientCpu() - c0);
    r.load = load();
    result[name] = r;
    log(name, JSON.stringify({ ...r, urls: undefined }));
    return r;
  };
  try {
    const { urls } = await phase('seed', async () => {
      const s = await seed(target, proc.url);
      return { urls: s.urls, docs: N, ms: s.ms, perSecond: (N * 1000) / s.ms };
    });
    // Not measured: one whole pass of each fetch brings node's JIT and wasm up to speed for the
    // client code and lets the server settle after seeding. A short warm-up (4 finds per client,
    // until session 7) left the Repo client's JIT cold for the first server of a run: against
    // ours it spent 6-8 ms of CPU per document in the warm phase and 3.6 in the cold phase of
    // the same run, with the same messages on the wire (RUTA_BENCH_TRAFFIC=1 prints them).
    await fetchPhase(target, proc.url, urls, 'warmup', 'repo');
    await fetchPhase(target, proc.url, urls, 'warmup', 'raw');
    await fetchPhase(target, proc.url, urls, 'warmup', 'rust');
    await phase('fetch_warm', () => fetchPhase(target, proc.url, urls, 'warm', 'repo'));
    await phase('fetch_warm_raw', () => fetchPhase(target, proc.url, urls, 'warm', 'raw'));
    await phase('fetch_warm_rust', () => fetchPhase(target, proc.url, urls, 'warm', 'rust'));
    result.peak_rss_mib_warm = procPeakRssMiB(proc.pid);
    await stopProcess(proc);
    proc = await target.start();
    await sleep(500);
    await phase('fetch_cold_raw', () => fetchPhase(target, proc.url, urls, 'cold', 'raw'));
    await stopProcess(proc);
    proc = await target.start();
    await sleep(500);
    await phase('fetch_cold_rust', () => fetchPhase(target, proc.url, urls, 'cold', 'rust'));
    await stopProcess(proc);
    proc = await target.start();
    await sleep(500);
    await phase('fetch_cold', () => fetchPhase(target, proc.url, urls, 'cold', 'repo'));
    await phase('latency', () => latencyPhase(target, proc.url, urls));
    result.peak_rss_mib = procPeakRssMiB(proc.pid);
    delete result.seed.urls;
  } catch (e) {
    result.error = String(e?.stack || e);
    log(`${target.name} FAILED: ${e}`);
  } finally {
    await stopProcess(proc);
    fs.rmSync(dir, { recursive: true, force: true });
  }
  result.load_after = load();
  return result;
}

// --- main --------------------------------------------------------------------------------------

fs.mkdirSync(opt.out, { recursive: true });
if (!fs.existsSync(loadgenBin)) {
  console.error(`no sync-loadgen binary at ${loadgenBin}: cargo build --release -p sync-server (or pass --loadgen)`);
  process.exit(2);
}
if (opt.only !== 'stock' && !fs.existsSync(rutaBin)) {
  console.error(`no sync-server binary at ${rutaBin}: cargo build --release -p sync-server (or pass --sync-server)`);
  process.exit(2);
}
log(`workload: ${N} orders; ${K} clients × ${M} finds (${IN_FLIGHT} in flight each); ${E} edits over ${EDIT_DOCS} documents`);
const results = {};
if (opt.only !== 'stock') results.ruta = await runTarget(rutaTarget, 'ruta');
if (opt.only !== 'ruta') results.stock = await runTarget(stockTarget, 'stock');

const f = (x, d = 0) => (Number.isFinite(x) ? x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }) : '—');
// [label, value of a result, higher is better?]
const fetchRows = (key, label) => [
  [`${label}: documents synced / s`, (r) => r[key]?.perSecond, true, 0],
  [`${label}: p99 per find (ms)`, (r) => r[key]?.find.p99, false, 1],
  [`${label}: p50 per find (ms)`, (r) => r[key]?.find.p50, false, 1],
  [`${label}: server CPU ms per document`, (r) => r[key]?.server_cpu_ms / r[key]?.docs, false, 2],
  [`${label}: client CPU ms per document`, (r) => r[key]?.client_cpu_ms / r[key]?.docs, false, 2],
];
const rows = [
  ['seed (Repo client): documents written / s', (r) => r.seed?.perSecond, true, 0],
  ['seed: server CPU ms per document', (r) => r.seed?.server_cpu_ms / r.seed?.docs, false, 2],
  ...fetchRows('fetch_warm', 'fetch, warm, Repo clients'),
  ...fetchRows('fetch_warm_raw', 'fetch, warm, lean clients'),
  ...fetchRows('fetch_warm_rust', 'fetch, warm, Rust lean clients'),
  ...fetchRows('fetch_cold', 'fetch, cold (restarted), Repo clients'),
  ...fetchRows('fetch_cold_raw', 'fetch, cold (restarted), lean clients'),
  ...fetchRows('fetch_cold_rust', 'fetch, cold (restarted), Rust lean clients'),
  ['edit → other client (Repo clients): p50 (ms)', (r) => r.latency?.latency.p50, false, 1],
  ['edit → other client: p99 (ms)', (r) => r.latency?.latency.p99, false, 1],
  ['edit → other client: max (ms)', (r) => r.latency?.latency.max, false, 1],
  ['server peak RSS (MiB)', (r) => Math.max(r.peak_rss_mib_warm ?? 0, r.peak_rss_mib ?? 0), false, 0],
];
const names = Object.keys(results);
const both = names.length === 2;
let md = `| measure | ${names.map((n) => results[n].server).join(' | ')} |${both ? ' Ruta vs stock |' : ''}\n`;
md += `|---|${names.map(() => '---:').join('|')}|${both ? '---:|' : ''}\n`;
for (const [label, get, higher, digits] of rows) {
  const v = names.map((n) => get(results[n]));
  md += `| ${label} | ${v.map((x) => f(x, digits)).join(' | ')} |`;
  if (both) {
    const [r, st] = v;
    const x = higher ? r / st : st / r;
    md += Number.isFinite(x) && x > 0 ? ` ${x.toFixed(2)}× ${x >= 1 ? 'better' : 'worse'} |` : ' — |';
  }
  md += '\n';
}
md += `| load average before → after | ${names.map((n) => `${results[n].load_before} → ${results[n].load_after}`).join(' | ')} |${both ? ' |' : ''}\n`;
const header = `${N} orders; ${K} clients × ${M} finds (${IN_FLIGHT} in flight each); ${E} edits over ${EDIT_DOCS} documents; node ${process.version}; ${os.cpus().length} cores\n\n`;
fs.writeFileSync(path.join(opt.out, 'report.json'), JSON.stringify(results, null, 2));
fs.writeFileSync(path.join(opt.out, 'report.md'), header + md);
console.log(header + md);
for (const n of names) if (results[n].error) console.log(`${results[n].server} failed: ${results[n].error}`);
process.exit(names.some((n) => results[n].error) ? 1 : 0);
