// chat.mjs: the demo page (demo/) in headless Chromium, driven by
// puppeteer-core; run by test/tap/019_browser.pl against a parleyd with
// PARLEY_DEMO=1, guest tokens and PARLEY_CORS_ORIGINS=http://allowed.test:PORT.
//
//   PARLEY_URL    parleyd's URL (http://127.0.0.1:P)
//   PARLEY_KEY    a service key (revocation, minting)
//   CORS_PORT     a free port for the pages of the CORS checks
//   OUT_DIR       where screenshots go
//   CHROMIUM      the browser (default /usr/bin/chromium)
//
// Each check prints one line "check<TAB>ok|not ok<TAB>what" for the TAP
// suite; the exit status is 0 only when every check passed.  Waits are on
// conditions with generous deadlines (a busy machine), never on time.
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import puppeteer from 'puppeteer-core';

const base = process.env.PARLEY_URL;
const key = process.env.PARLEY_KEY;
const corsPort = Number(process.env.CORS_PORT);
const outDir = process.env.OUT_DIR || '.';
const WAIT = 90_000;
const parleydPort = Number(new URL(base).port);

let failures = 0;
function check(ok, what, detail) {
  if (!ok) failures++;
  console.log(`check\t${ok ? 'ok' : 'not ok'}\t${what}`);
  if (!ok && detail !== undefined) console.log(`# ${what}: ${JSON.stringify(detail)}`);
  return ok;
}

// A TCP proxy in front of parleyd, one per page: drop() closes the page's
// connections (its event stream with them) and refuses new ones until
// restore(), as a lost network would.
class Proxy {
  constructor() {
    this.sockets = new Set();
    this.refusing = false;
    this.server = net.createServer((client) => {
      if (this.refusing) { client.destroy(); return; }
      const upstream = net.connect(parleydPort, '127.0.0.1');
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => {});
      }
      client.pipe(upstream);
      upstream.pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
  }
  listen() {
    return new Promise((resolve) => this.server.listen(0, '127.0.0.1', () => {
      this.port = this.server.address().port;
      resolve(this);
    }));
  }
  drop() {
    this.refusing = true;
    for (const s of this.sockets) s.destroy();
  }
  restore() { this.refusing = false; }
  close() { this.drop(); this.server.close(); }
}

async function api(method, p, body) {
  const res = await fetch(base + p, {
    method,
    headers: { Authorization: `Bearer ${key}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, json: text ? JSON.parse(text) : null };
}

// --- the page, as a user would use it ---------------------------------------

async function signIn(page, guest, name) {
  await page.waitForSelector('#guest-id', { visible: true, timeout: WAIT });
  await page.type('#guest-id', guest);
  await page.type('#display-name', name);
  await page.click('#login-form button[type=submit]');
  await page.waitForFunction((g) => document.querySelector('#me')?.textContent === g &&
    !document.querySelector('#who').hidden, { timeout: WAIT }, guest);
}

const waitState = (page, s) => page.waitForFunction(
  (want) => document.querySelector('#state')?.textContent === want, { timeout: WAIT, polling: 50 }, s);

async function post(page, text) {
  await page.type('#message', text);
  await page.click('#post button[type=submit]');
  await page.waitForFunction(() => document.querySelector('#message').value === '', { timeout: WAIT });
}

// The messages the page shows: [{seq, sender, body}] in display order.
const shown = (page) => page.$$eval('#messages li', (lis) => lis.map((li) => ({
  seq: Number(li.dataset.seq), sender: li.dataset.sender, body: li.querySelector('.body').textContent,
})));

const waitBody = (page, text) => page.waitForFunction(
  (t) => [...document.querySelectorAll('#messages li .body')].some((b) => b.textContent === t),
  { timeout: WAIT, polling: 50 }, text);

// Seqs 1..n, each once, in order.
function exactly(list, n) {
  return list.length === n && list.every((m, i) => m.seq === i + 1);
}

async function main() {
  const proxyA = await new Proxy().listen();
  const proxyB = await new Proxy().listen();
  // Pages of the CORS checks: one server, two origins (host names mapped
  // to 127.0.0.1 by Chromium): allowed.test is in PARLEY_CORS_ORIGINS,
  // foreign.test is not.
  const origins = http.createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end('<!doctype html><title>another site</title><p>another site</p>');
  });
  await new Promise((resolve) => origins.listen(corsPort, '127.0.0.1', resolve));

  const browser = await puppeteer.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    // --no-sandbox: the suite runs Chromium as the postgres user inside a
    // container, where the namespace sandbox cannot be set up (no user
    // namespaces, no setuid helper); the pages are the test's own.
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu',
      '--host-resolver-rules=MAP allowed.test 127.0.0.1, MAP foreign.test 127.0.0.1'],
  });
  try {
    // Two guests in two separate browser profiles (no shared storage).
    const pageA = await (await browser.createBrowserContext()).newPage();
    const pageB = await (await browser.createBrowserContext()).newPage();
    for (const p of [pageA, pageB]) {
      await p.setViewport({ width: 1000, height: 640 });
      p.on('pageerror', (e) => console.log(`# page error: ${e.message}`));
    }
    await pageA.goto(`http://127.0.0.1:${proxyA.port}/demo/`, { timeout: WAIT });
    await pageB.goto(`http://127.0.0.1:${proxyB.port}/demo/`, { timeout: WAIT });
    check(await pageA.title() === 'parley demo chat', 'the page loads from /demo/');

    // --- two guests chat -------------------------------------------------
    await signIn(pageA, 'alice', 'Alice');
    await signIn(pageB, 'bob', 'Bob');
    check(true, 'both guests signed in with tokens from POST /demo/token');

    await pageA.type('#peer-id', 'bob');
    await pageA.click('#new-conv button[type=submit]');
    await waitState(pageA, 'live');
    check(true, "alice opened the direct conversation with bob; her stream is live");

    // Bob sees it in his list (refreshed by the page) and opens it.
    await pageB.waitForSelector('#conversations li', { timeout: WAIT });
    await pageB.click('#conversations li');
    await waitState(pageB, 'live');

    await post(pageA, 'Hello Bob!');
    await waitBody(pageB, 'Hello Bob!');
    await post(pageB, 'Hi Alice, how are you?');
    await waitBody(pageA, 'Hi Alice, how are you?');
    await post(pageA, 'Fine, thanks.');
    await waitBody(pageB, 'Fine, thanks.');
    const a1 = await shown(pageA);
    const b1 = await shown(pageB);
    check(exactly(a1, 3) && exactly(b1, 3) && JSON.stringify(a1) === JSON.stringify(b1),
      'each sees the other\'s messages live, once each, in order', { a1, b1 });
    await pageA.screenshot({ path: path.join(outDir, 'chat-alice.png') });
    await pageB.screenshot({ path: path.join(outDir, 'chat-bob.png') });

    // --- a dropped stream resumes without loss or duplicates --------------
    proxyA.drop();
    await waitState(pageA, 'reconnecting');
    check(true, "alice's connection dropped: the page says it is reconnecting");
    for (let i = 1; i <= 3; i++)
      await post(pageB, `While you were away ${i}`);
    await waitBody(pageB, 'While you were away 3');
    proxyA.restore();
    await waitBody(pageA, 'While you were away 3');
    await waitState(pageA, 'live');
    await post(pageB, 'Welcome back');
    await waitBody(pageA, 'Welcome back');
    const a2 = await shown(pageA);
    check(exactly(a2, 7), 'after the drop alice has every message once, in seq order', a2);
    check(a2.slice(3, 6).every((m, i) => m.body === `While you were away ${i + 1}`),
      'the messages posted while she was away came on resume', a2);
    await pageA.screenshot({ path: path.join(outDir, 'chat-resumed.png') });

    // --- a revoked token ends the session ----------------------------------
    const rev = await api('DELETE', '/v1/guests/alice/tokens');
    check(rev.status === 204, 'DELETE /v1/guests/alice/tokens with the service key: 204', rev);
    await pageA.waitForFunction(() => document.body.dataset.session === 'ended' &&
      !document.querySelector('#banner').hidden, { timeout: WAIT, polling: 50 });
    check(await pageA.$eval('#state', (e) => e.textContent) === 'ended' &&
      await pageA.$eval('#post', (e) => e.offsetParent === null) &&
      await pageA.$eval('#guest-id', (e) => e.offsetParent !== null),
      "alice's page says her session ended: no more posting, the sign-in again");
    check(await pageB.$eval('#state', (e) => e.textContent) === 'live',
      "bob's session is untouched");
    await pageA.screenshot({ path: path.join(outDir, 'revoked.png') });

    // --- CORS: a listed origin may call, another may not ------------------
    const minted = await api('POST', '/v1/guests/bob/tokens', { ttl: 600 });
    check(minted.status === 201 && typeof minted.json.token === 'string', 'a token minted for bob', minted);
    const tryFetch = (page) => page.evaluate(async (url, token) => {
      try {
        const r = await fetch(url, { headers: { Authorization: `Bearer ${token}` } });
        return { status: r.status, body: await r.json() };
      } catch (e) {
        return { error: String(e) };
      }
    }, `${base}/v1/guests/bob`, minted.json.token);
    const pageC = await (await browser.createBrowserContext()).newPage();
    await pageC.goto(`http://allowed.test:${corsPort}/`, { timeout: WAIT });
    const allowed = await tryFetch(pageC);
    check(allowed.status === 200 && allowed.body.guest_id === 'bob',
      'a page of a listed origin calls the API (preflight and all)', allowed);
    await pageC.goto(`http://foreign.test:${corsPort}/`, { timeout: WAIT });
    const refused = await tryFetch(pageC);
    check(typeof refused.error === 'string' && refused.error.includes('TypeError'),
      'a page of another origin is refused by the browser (fetch fails)', refused);
    const raw = await fetch(`${base}/v1/guests/bob`, {
      headers: { Authorization: `Bearer ${minted.json.token}`, Origin: `http://foreign.test:${corsPort}` },
    });
    check(raw.headers.get('access-control-allow-origin') === null,
      'parleyd sends no Access-Control-Allow-Origin to another origin',
      Object.fromEntries(raw.headers));
  } finally {
    await browser.close();
    proxyA.close();
    proxyB.close();
    origins.close();
  }
}

try {
  await main();
} catch (e) {
  check(false, `the browser run went to the end (${e.message.split('\n')[0]})`, e.stack);
}
process.exit(failures === 0 ? 0 : 1);
