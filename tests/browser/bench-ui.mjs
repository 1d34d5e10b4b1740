// UI benchmark (BENCHMARKS.md, "UI (browser)"): the web UI served by real device hosts, in
// Debian's Chromium, timed inside the page with performance marks and performance.now():
//
//   dispatcher  a device whose store holds 100,000 orders (imported once through the API as CSV):
//               - navigation start → first table rows rendered (`.vt-row.order`) and the first
//                 `ruta:table-page` mark, over several page loads;
//               - per-scroll cost of `#orders-table`: scrollTop moved in steps (default 200 of
//                 3,000 px) and a few long jumps (middle, end, back to the top...); per step the
//                 time to the second animation frame and until every visible row is filled (no
//                 `.vt-row.loading` left and each row of the viewport present); median / p95;
//               - the largest number of `.vt-row` elements in the DOM at any sampled frame;
//               - ArrowDown ×50 on the focused table, each to the second animation frame;
//               all of it twice: as shipped, then with the page's 2-second `sync_status` poll
//               answered inside the page (empty, unlinked), which isolates the table's own cost
//               (as shipped, that poll costs the device minutes per call at 100k pending orders).
//               Every API call the page makes is timed by op.
//   courier     a second device whose store holds 300 orders assigned to courier "aki", session
//               aki/courier: navigation start → `#queue .stop` count reaching 300 and the
//               `ruta:queue-ready` mark, and the frame after it; median of several loads.
//
// usage: node tests/browser/bench-ui.mjs [--orders N] [--stops N] [--steps N] [--step-px N]
//                                        [--loads N] [--timeout-min N] [--device PATH]
//                                        [--keep-data DIR]  (keep and reuse the 100k store)
// Needs `cargo xtask ui` and `cargo build -p device-host --bins` first (the device hosts are
// target/debug/ruta-device unless --device or RUTA_DEVICE says otherwise). Everything runs on
// 127.0.0.1 in temporary data directories, removed at the end. Prints a readable table, then one
// JSON summary. The whole run is bounded by --timeout-min (default 20 minutes: importing 100,000
// orders into a debug build of the device host alone takes minutes); past it the run stops with a
// message saying which phase it was in.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, loadavg, cpus } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchChromium } from './chromium.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const opts = { orders: 100000, stops: 300, steps: 200, 'step-px': 3000, loads: 5, 'timeout-min': 20,
  chunk: 20000, 'keep-data': '', device: process.env.RUTA_DEVICE || join(root, 'target/debug/ruta-device') };
{
  const args = process.argv.slice(2);
  for (let i = 0; i < args.length; i++) {
    const m = args[i].match(/^--([a-z-]+)$/);
    if (!m || !(m[1] in opts) || i + 1 >= args.length) {
      console.error(`unknown or incomplete argument: ${args[i]}\n` +
        'usage: node tests/browser/bench-ui.mjs [--orders N] [--stops N] [--steps N] [--step-px N] ' +
        '[--loads N] [--timeout-min N] [--chunk N] [--device PATH] [--keep-data DIR]');
      process.exit(2);
    }
    opts[m[1]] = ['device', 'keep-data'].includes(m[1]) ? args[++i] : Number(args[++i]);
  }
}

// ---------------------------------------------------------------------------------------------
// Bounded run: everything started is stopped and every temp dir removed, on success, on failure
// and when the deadline passes.
let phase = 'starting';
const hosts = [];
const dirs = [];
let browser = null;
const t0 = Date.now();
const log = (msg) => console.error(`[bench-ui ${((Date.now() - t0) / 1000).toFixed(1)} s] ${msg}`);
function setPhase(p) { phase = p; log(p); }

let stopping = null;
function cleanup() {
  stopping ??= doCleanup();
  return stopping;
}
async function doCleanup() {
  if (browser) { const b = browser; browser = null; await b.close().catch(() => {}); }
  // SIGTERM asks a host for a clean stop (its store closed); one that has not exited after 10 s
  // is killed. Only then do the data directories go.
  await Promise.all(hosts.splice(0).map((h) => new Promise((resolve) => {
    if (h.exitCode !== null || h.signalCode !== null) { resolve(); return; }
    const hard = setTimeout(() => { log(`ruta-device ${h.pid} still running 10 s after SIGTERM: SIGKILL`); h.kill('SIGKILL'); }, 10_000);
    h.on('exit', () => { clearTimeout(hard); resolve(); });
    h.kill('SIGTERM');
  })));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}
const deadline = setTimeout(async () => {
  console.error(`bench-ui: FAILED, time limit of ${opts['timeout-min']} min reached during: ${phase}`);
  await cleanup();
  process.exit(3);
}, opts['timeout-min'] * 60_000);
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, async () => { await cleanup(); process.exit(130); });
}

// ---------------------------------------------------------------------------------------------
// Device hosts and their API.
async function startHost(name, keep = '') {
  let data = keep;
  if (data) mkdirSync(data, { recursive: true });
  else {
    data = mkdtempSync(join(tmpdir(), `ruta-bench-ui-${name}-`));
    dirs.push(data);
  }
  const host = spawn(opts.device,
    ['serve', '--listen', '127.0.0.1:0', '--data', data, '--ui', join(root, 'app-ui/dist')],
    { env: { ...process.env, RUTA_TILES: join(root, 'data/tiles/helsinki.mbtiles') },
      stdio: ['ignore', 'pipe', 'pipe'] });
  hosts.push(host);
  let stderr = '';
  host.stderr.on('data', (c) => { stderr = (stderr + c).slice(-4000); });
  host.on('exit', (code, signal) => { if (!stopping) log(`ruta-device (${name}) exited: ${code ?? signal}\n${stderr}`); });
  const url = await new Promise((resolve, reject) => {
    let buf = '';
    host.stdout.on('data', (chunk) => {
      buf += chunk;
      const m = buf.match(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
      if (m) resolve(`${m[1]}/`);
    });
    host.on('error', reject);
    host.on('exit', (code) => reject(new Error(`ruta-device (${name}) exited (${code}): ${stderr}`)));
  });
  return { url, data };
}

async function call(url, req) {
  const res = await fetch(new URL('api/call', url), {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(req),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${req.op}: HTTP ${res.status}: ${text.slice(0, 500)}`);
  return JSON.parse(text);
}

// Deterministic varied rows: Helsinki-like street names, no commas or quotes.
const streets = ['Mannerheimintie', 'Aleksanterinkatu', 'Fredrikinkatu', 'Bulevardi', 'Hämeentie',
  'Runeberginkatu', 'Topeliuksenkatu', 'Mechelininkatu', 'Sörnäisten rantatie', 'Itämerenkatu',
  'Lapinlahdenkatu', 'Kalevankatu', 'Annankatu', 'Eerikinkatu', 'Porthaninkatu', 'Vilhonkatu'];
const first = ['Aino', 'Eero', 'Helmi', 'Juho', 'Kaisa', 'Lauri', 'Mikko', 'Noora', 'Olli', 'Pia',
  'Sanna', 'Tuomas', 'Ville', 'Aki', 'Elina', 'Riku'];
const last = ['Virtanen', 'Korhonen', 'Mäkinen', 'Nieminen', 'Hämäläinen', 'Laine', 'Heikkinen',
  'Koskinen', 'Järvinen', 'Lehtonen', 'Saarinen', 'Salminen'];
function csvRows(from, n) {
  const lines = ['customer_name,pickup_address,dropoff_address'];
  for (let i = from; i < from + n; i++) {
    lines.push(`${first[i % 16]} ${last[(i >> 4) % 12]} ${i},` +
      `${streets[(i * 7) % 16]} ${1 + (i % 97)},${streets[(i * 11 + 3) % 16]} ${1 + ((i * 13) % 89)}`);
  }
  return `${lines.join('\n')}\n`;
}
async function importOrders(url, n, label) {
  const started = Date.now();
  for (let done = 0; done < n;) {
    const k = Math.min(opts.chunk, n - done);
    const r = await call(url, { op: 'import_orders_csv', csv: csvRows(done, k), partial: false });
    if (r.kind !== 'import_report' || r.imported !== k || !r.committed) {
      throw new Error(`${label}: import of rows ${done}..${done + k} failed: ${JSON.stringify(r).slice(0, 500)}`);
    }
    done += k;
    log(`${label}: ${done} / ${n} orders imported`);
  }
  return (Date.now() - started) / 1000;
}

// ---------------------------------------------------------------------------------------------
// Statistics.
const sorted = (xs) => [...xs].sort((a, b) => a - b);
const q = (xs, p) => { const s = sorted(xs); return s.length ? s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)] : null; };
const r1 = (x) => (x == null ? null : Math.round(x * 10) / 10);
const stats = (xs) => ({ n: xs.length, median: r1(q(xs, 0.5)), p95: r1(q(xs, 0.95)), min: r1(sorted(xs)[0]),
  max: r1(sorted(xs)[xs.length - 1]) });

// Recorded from the first byte of every page load: when the first order row and when the whole
// courier queue appeared (MutationObserver; times are performance.now(), i.e. ms since navigation
// start), and the largest `.vt-row` count seen at any animation frame.
const pageProbe = ({ stops, stubSync }) => {
  const probe = window.__bench = { firstRow: null, queueFull: null, queueFrame: null, maxRows: 0, frames: 0,
    calls: {}, inFlight: {}, maxInFlight: {} };
  // Every API call the page makes is timed by op (gloo-net calls window.fetch with a Request).
  // With stubSync, `sync_status` is answered here at once with an empty, unlinked status instead
  // of by the device (see BENCHMARKS.md: the real one does not scale to 100k pending orders).
  const realFetch = window.fetch.bind(window);
  window.fetch = async (input, init) => {
    let op = 'other';
    try {
      const body = input instanceof Request ? await input.clone().text() : init?.body;
      if (typeof body === 'string') op = JSON.parse(body).op ?? 'other';
    } catch { /* not JSON */ }
    if (stubSync && op === 'sync_status') {
      return new Response(JSON.stringify({ kind: 'sync_status', link: 'not_configured', server: null,
        last_contact_ms: null, pending: [], revision: 0 }), { headers: { 'content-type': 'application/json' } });
    }
    const start = performance.now();
    probe.inFlight[op] = (probe.inFlight[op] ?? 0) + 1;
    probe.maxInFlight[op] = Math.max(probe.maxInFlight[op] ?? 0, probe.inFlight[op]);
    try {
      return await realFetch(input, init);
    } finally {
      probe.inFlight[op]--;
      (probe.calls[op] ??= []).push(performance.now() - start);
    }
  };
  const check = () => {
    if (probe.firstRow === null && document.querySelector('.vt-row.order')) probe.firstRow = performance.now();
    if (probe.queueFull === null && document.querySelectorAll('#queue .stop').length >= stops) {
      probe.queueFull = performance.now();
      requestAnimationFrame(() => requestAnimationFrame(() => { probe.queueFrame = performance.now(); }));
    }
  };
  new MutationObserver(check).observe(document, { childList: true, subtree: true });
  const frame = () => {
    probe.frames++;
    const n = document.querySelectorAll('.vt-row').length;
    if (n > probe.maxRows) probe.maxRows = n;
    requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
};

async function newPage(context, problems) {
  const page = await context.newPage();
  page.on('pageerror', (e) => problems.push(`page error: ${e}`));
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console error: ${m.text()}`); });
  page.setDefaultTimeout(120_000);
  return page;
}

async function measureDispatcher(context, url, mode, { fillTimeout, giveUpAfter }) {
  const out = { mode };
  setPhase(`dispatcher (${mode}): first render over ${opts.loads} page loads`);
  const page = await newPage(context, problems);
  const firstRender = [];
  const firstPage = [];
  for (let i = 0; i < opts.loads; i++) {
    await page.goto(url);
    await page.waitForFunction(() => window.__bench.firstRow !== null
      && performance.getEntriesByName('ruta:table-page').length > 0);
    const m = await page.evaluate(() => ({
      firstRow: window.__bench.firstRow,
      tablePage: performance.getEntriesByName('ruta:table-page')[0].startTime,
    }));
    firstRender.push(m.firstRow);
    firstPage.push(m.tablePage);
  }
  out.navigationToFirstRowsMs = stats(firstRender);
  out.navigationToFirstTablePageMarkMs = stats(firstPage);
  out.footBefore = (await page.textContent('#table-foot')).trim();

  setPhase(`dispatcher (${mode}): ${opts.steps} scroll steps of ${opts['step-px']} px, then long jumps`);
  await page.waitForFunction(() => !document.querySelector('.vt-row.loading'));
  await page.exposeFunction('__benchProgress', (msg) => log(`dispatcher (${mode}): ${msg}`)).catch(() => {});
  const scroll = await page.evaluate(async ({ steps, stepPx, fillTimeout, giveUpAfter }) => {
    const ROW_H = 34;
    const el = document.getElementById('orders-table');
    const frame = () => new Promise((r) => requestAnimationFrame(() => r()));
    const total = () => {
      const m = document.getElementById('table-foot')?.textContent.match(/^(\d+)/);
      return m ? Number(m[1]) : null;
    };
    // The viewport is filled when no placeholder row is left and every row index that the
    // viewport shows (up to the table's total) has an order row at its place.
    const filled = () => {
      if (el.querySelector('.vt-row.loading')) return false;
      const tops = new Set([...el.querySelectorAll('.vt-row.order')].map((r) => parseFloat(r.style.top)));
      const firstRow = Math.floor(el.scrollTop / ROW_H);
      const lastRow = Math.min(Math.ceil((el.scrollTop + el.clientHeight) / ROW_H), total() ?? 0);
      for (let i = firstRow; i < lastRow; i++) if (!tops.has(i * ROW_H)) return false;
      return true;
    };
    let unfilledInARow = 0;
    const step = async (target, label) => {
      const start = performance.now();
      el.scrollTop = target;
      await frame();
      await frame();
      const twoFrames = performance.now() - start;
      let rows = el.querySelectorAll('.vt-row').length;
      let maxRows = rows;
      let fill = null;
      while (performance.now() - start < fillTimeout) {
        rows = el.querySelectorAll('.vt-row').length;
        if (rows > maxRows) maxRows = rows;
        if (filled()) { fill = performance.now() - start; break; }
        await frame();
      }
      unfilledInARow = fill === null ? unfilledInARow + 1 : 0;
      return { label, target: Math.round(target), scrollTop: Math.round(el.scrollTop),
        scrollHeight: el.scrollHeight, total: total(), twoFrames, fill, maxRows,
        loadingLeft: el.querySelectorAll('.vt-row.loading').length,
        inFlight: { ...window.__bench.inFlight } };
    };
    const out = { steps: [], jumps: [], gaveUp: null, idleTwoFrames: [] };
    el.scrollTop = 0;
    await frame();
    // Baseline: two animation frames with nothing changed (what the machine's load alone costs).
    for (let i = 0; i < 30; i++) {
      const start = performance.now();
      await frame();
      await frame();
      out.idleTwoFrames.push(performance.now() - start);
    }
    for (let i = 1; i <= steps; i++) {
      out.steps.push(await step(el.scrollTop + stepPx, `step ${i}`));
      if (i % 25 === 0) await window.__benchProgress?.(`${i} steps`);
      if (unfilledInARow >= giveUpAfter) {
        out.gaveUp = `after step ${i}: ${giveUpAfter} steps in a row not filled within ${fillTimeout} ms`;
        break;
      }
    }
    const jump = async (fraction, label) =>
      out.jumps.push(await step(fraction * (el.scrollHeight - el.clientHeight), label));
    if (!out.gaveUp) {
      await jump(0, 'top');
      await jump(0.5, 'middle');
      await jump(1, 'end');
      await jump(0.25, 'quarter');
      await jump(0.75, 'three quarters');
      await jump(1, 'end again');
      await jump(0, 'top again');
    }
    return out;
  }, { steps: opts.steps, stepPx: opts['step-px'], fillTimeout, giveUpAfter });
  const allSteps = [...scroll.steps, ...scroll.jumps];
  const unfilled = allSteps.filter((x) => x.fill === null);
  if (unfilled.length) {
    const x = unfilled[0];
    bugs.push(`${mode}: ${unfilled.length} of ${allSteps.length} scroll positions not filled within ` +
      `${fillTimeout / 1000} s (first: ${x.label}, scrollTop ${x.scrollTop}, ${x.loadingLeft} placeholder rows, ` +
      `API calls in flight ${JSON.stringify(x.inFlight)})${scroll.gaveUp ? `; scroll pass ended ${scroll.gaveUp}` : ''}`);
  }
  const filledSteps = scroll.steps.filter((x) => x.fill !== null);
  const hitEnd = scroll.steps.filter((x) => x.scrollTop < x.target - 1).length;
  out.scroll = {
    stepPx: opts['step-px'],
    steps: scroll.steps.length,
    gaveUp: scroll.gaveUp,
    idleTwoFramesMs: stats(scroll.idleTwoFrames),
    stepToTwoFramesMs: stats(scroll.steps.map((x) => x.twoFrames)),
    stepToRowsFilledMs: filledSteps.length ? stats(filledSteps.map((x) => x.fill)) : null,
    unfilledSteps: unfilled.length,
    stepsThatHitTheEnd: hitEnd,
    jumps: scroll.jumps.map((x) => ({ label: x.label, scrollTop: x.scrollTop, firstRow: Math.floor(x.scrollTop / 34),
      twoFramesMs: r1(x.twoFrames), rowsFilledMs: r1(x.fill), total: x.total })),
    tableTotalAfterScrolling: allSteps[allSteps.length - 1].total,
    scrollHeightMax: Math.max(...allSteps.map((x) => x.scrollHeight)),
  };

  setPhase(`dispatcher (${mode}): ArrowDown ×50 on the focused table`);
  const keys = await page.evaluate(async () => {
    const el = document.getElementById('orders-table');
    const frame = () => new Promise((r) => requestAnimationFrame(() => r()));
    el.scrollTop = 0;
    await frame();
    await frame();
    el.focus();
    const times = [];
    const cursorTop = () => parseFloat(el.querySelector('.vt-row.cursor')?.style.top ?? 'NaN');
    for (let i = 0; i < 50; i++) {
      const start = performance.now();
      el.dispatchEvent(new KeyboardEvent('keydown', { key: 'ArrowDown', code: 'ArrowDown', bubbles: true, cancelable: true }));
      await frame();
      await frame();
      times.push(performance.now() - start);
    }
    return { times, cursorRow: cursorTop() / 34, scrollTop: el.scrollTop };
  });
  out.keyboard = { arrowDownToTwoFramesMs: stats(keys.times), cursorRowAfter50: keys.cursorRow };
  if (keys.cursorRow !== 50) bugs.push(`${mode}: after 50 × ArrowDown from the top the cursor row is ${keys.cursorRow}, expected 50`);
  const probe = await page.evaluate(() => window.__bench);
  out.maxDomRows = Math.max(probe.maxRows, ...allSteps.map((x) => x.maxRows));
  out.apiCalls = Object.fromEntries(Object.entries(probe.calls).map(([op, xs]) => [op,
    { ...stats(xs), maxInFlight: probe.maxInFlight[op] }]));
  out.apiInFlightAtEnd = probe.inFlight;
  await page.close();
  return out;
}

// ---------------------------------------------------------------------------------------------
const result = { machine: { cores: cpus().length, loadavgAtStart: loadavg().map(r1), device: opts.device } };
const problems = [];
const bugs = [];
try {
  setPhase('starting device hosts');
  const disp = await startHost('dispatcher', opts['keep-data']);
  const cour = await startHost('courier');

  setPhase(`dispatcher device: ${opts['keep-data'] ? `store in ${opts['keep-data']}, ` : ''}` +
    `${opts.orders} orders (imported in chunks of ${opts.chunk} unless already there)`);
  // With --keep-data DIR the dispatcher's store is kept there and reused by later runs.
  const had = (await call(disp.url, { op: 'device_status' })).order_count;
  if (had !== 0 && had !== opts.orders) throw new Error(`${opts['keep-data']} holds ${had} orders, not ${opts.orders}`);
  result.import = { orders: opts.orders,
    seconds: had ? 'reused' : r1(await importOrders(disp.url, opts.orders, 'dispatcher')) };
  const probeList = await call(disp.url, { op: 'list_orders', limit: 1, offset: 0 });
  result.import.apiTotal = probeList.total;

  setPhase(`preparing ${opts.stops} stops assigned to aki on the courier device`);
  const courierSetupStart = Date.now();
  await importOrders(cour.url, opts.stops, 'courier');
  const all = [];
  for (let offset = 0; offset < opts.stops; offset += 1000) {
    const r = await call(cour.url, { op: 'list_orders', limit: 1000, offset });
    all.push(...r.orders);
  }
  let assignErrors = 0;
  let assignError = null;
  for (const o of all) {
    try {
      await call(cour.url, { op: 'act', order_id: o.id, action: { action: 'assign', courier: 'aki' } });
    } catch (e) {
      // An error answer does not say the assignment was not stored (it can fail afterwards,
      // building the answer): counted here, and what was stored is checked below.
      assignErrors++;
      assignError ??= String(e.message);
    }
  }
  const mine = await call(cour.url, { op: 'list_orders', assignee: 'aki', limit: 1000, offset: 0 });
  if (mine.orders.length !== opts.stops) {
    throw new Error(`${mine.orders.length} of ${opts.stops} orders assigned to aki` +
      (assignError ? ` (${assignErrors} act calls failed, first: ${assignError})` : ''));
  }
  if (assignErrors) {
    bugs.push(`${assignErrors} of ${all.length} 'act' assign calls answered with an error although the ` +
      `assignment was stored: ${assignError}`);
    log(`warning: ${assignErrors} act calls failed although the assignments were stored: ${assignError}`);
  }
  const s = await call(cour.url, { op: 'set_session', user: 'aki', role: 'courier' });
  if (s.kind !== 'session' || s.role !== 'courier') throw new Error(`set_session: ${JSON.stringify(s)}`);
  result.courierSetupSeconds = r1((Date.now() - courierSetupStart) / 1000);

  setPhase('launching Chromium');
  browser = await launchChromium({ webgl: true });
  result.machine.chromium = browser.version();
  const newContext = async (stubSync) => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    await context.addInitScript(pageProbe, { stops: opts.stops, stubSync });
    return context;
  };

  // --- dispatcher ---------------------------------------------------------------------------
  // Twice: as shipped (the page polls the device's sync status every 2 s), then with that poll
  // answered inside the page, to see the table's own cost. As shipped, a step whose rows are not
  // filled within 10 s counts as unfilled, and three in a row end the scroll pass.
  const realCtx = await newContext(false);
  result.dispatcher = await measureDispatcher(realCtx, disp.url, 'as shipped', { fillTimeout: 10_000, giveUpAfter: 3 });
  await realCtx.close();
  const stubCtx = await newContext(true);
  result.dispatcherSyncStubbed = await measureDispatcher(stubCtx, disp.url, 'sync status stubbed', { fillTimeout: 30_000, giveUpAfter: 5 });

  // --- courier ------------------------------------------------------------------------------
  setPhase(`courier: ${opts.loads} page loads of a queue of ${opts.stops} stops`);
  const cpage = await newPage(await newContext(false), problems);
  const toStops = [];
  const toMark = [];
  const toFrame = [];
  for (let i = 0; i < opts.loads; i++) {
    await cpage.goto(cour.url);
    await cpage.waitForFunction(() => window.__bench.queueFrame !== null
      && performance.getEntriesByName('ruta:queue-ready').length > 0);
    const m = await cpage.evaluate(() => ({ stops: window.__bench.queueFull, frame: window.__bench.queueFrame,
      mark: performance.getEntriesByName('ruta:queue-ready')[0].startTime,
      count: document.querySelectorAll('#queue .stop').length }));
    if (m.count !== opts.stops) bugs.push(`courier queue shows ${m.count} stops, expected ${opts.stops}`);
    toStops.push(m.stops);
    toMark.push(m.mark);
    toFrame.push(m.frame);
  }
  result.courier = { stops: opts.stops, navigationToQueueReadyMarkMs: stats(toMark),
    navigationToAllStopsInDomMs: stats(toStops), navigationToFrameAfterAllStopsMs: stats(toFrame) };
  await cpage.close();

  result.machine.loadavgAtEnd = loadavg().map(r1);
  result.wallSeconds = r1((Date.now() - t0) / 1000);
  result.problems = problems;
  result.bugs = bugs;

  // --- report -------------------------------------------------------------------------------
  const mm = (x) => (x ? `${x.median} / ${x.p95}` : '—');
  const row = (a, b, c = '') => console.log(`${a.padEnd(66)} ${String(b).padStart(17)}  ${c}`);
  console.log(`\nUI benchmark — Chromium ${result.machine.chromium}, ${result.machine.cores} cores, ` +
    `load ${result.machine.loadavgAtStart.join(' ')} → ${result.machine.loadavgAtEnd.join(' ')}`);
  row('measure', 'median / p95 ms', 'note');
  row(`import ${opts.orders} orders via API (s)`, result.import.seconds, `API total ${result.import.apiTotal}`);
  for (const d of [result.dispatcher, result.dispatcherSyncStubbed]) {
    const sc = d.scroll;
    console.log(`-- dispatcher, ${d.mode}`);
    row('navigation → first order rows rendered', mm(d.navigationToFirstRowsMs), `${opts.loads} loads`);
    row('navigation → first ruta:table-page mark', mm(d.navigationToFirstTablePageMarkMs));
    row('baseline: two idle animation frames (nothing changed)', mm(sc.idleTwoFramesMs), '30 samples');
    row(`scroll step (${sc.stepPx} px) → 2nd frame`, mm(sc.stepToTwoFramesMs), `${sc.steps} steps, max ${sc.stepToTwoFramesMs.max}`);
    row(`scroll step (${sc.stepPx} px) → visible rows filled`, mm(sc.stepToRowsFilledMs),
      `max ${sc.stepToRowsFilledMs?.max}; ${sc.unfilledSteps} not filled${sc.gaveUp ? `; ended ${sc.gaveUp}` : ''}`);
    for (const j of sc.jumps) row(`jump to ${j.label} (row ${j.firstRow}) → 2nd frame / filled`, `${j.twoFramesMs} / ${j.rowsFilledMs}`, `total ${j.total}`);
    row('ArrowDown → 2nd frame', mm(d.keyboard.arrowDownToTwoFramesMs), `cursor at row ${d.keyboard.cursorRowAfter50}`);
    row('max .vt-row elements in the DOM', d.maxDomRows, 'goal ≤ 200');
    row('table total: foot before / after scrolling', `${d.footBefore.split(' ')[0]} / ${sc.tableTotalAfterScrolling}`,
      `${sc.stepsThatHitTheEnd} steps hit the end of the scroll range`);
    for (const [op, x] of Object.entries(d.apiCalls)) row(`API ${op} (${x.n} calls, max ${x.maxInFlight} in flight)`, mm(x));
  }
  console.log('-- courier');
  row(`navigation → ruta:queue-ready (${opts.stops} stops)`, mm(result.courier.navigationToQueueReadyMarkMs), `${opts.loads} loads`);
  row(`navigation → ${opts.stops} stops in the DOM`, mm(result.courier.navigationToAllStopsInDomMs));
  row('navigation → 2nd frame after all stops', mm(result.courier.navigationToFrameAfterAllStopsMs));
  if (problems.length) console.log(`page problems: ${problems.join('; ')}`);
  if (bugs.length) console.log(`suspected bugs: ${bugs.join('; ')}`);
  console.log(JSON.stringify(result, null, 1));
} catch (e) {
  console.error(`bench-ui: FAILED during ${phase} after ${((Date.now() - t0) / 1000).toFixed(1)} s: ` +
    `${e.stack || e}${e.cause ? `\ncause: ${e.cause.stack || e.cause}` : ''}`);
  if (problems.length) console.error(`page problems: ${problems.join('; ')}`);
  process.exitCode = 1;
} finally {
  clearTimeout(deadline);
  await cleanup();
}
