// app.js: the demo chat page (index.html) on parley.js.  Sign in as any
// guest (the dev-only POST /demo/token mints the token), list your
// conversations, open a direct one with another guest, post, and watch
// messages arrive live; a dropped stream resumes from the last seq.
import { Parley, ParleyError } from './parley.js';

const $ = (id) => document.getElementById(id);
const ui = {
  banner: $('banner'), login: $('login'), app: $('app'), who: $('who'), me: $('me'),
  state: $('state'), convs: $('conversations'), title: $('chat-title'),
  messages: $('messages'), post: $('post'), message: $('message'),
};

let parley = null;         // the client, once signed in
let openCid = null;        // the conversation shown
let sub = null;            // its stream
let refreshTimer = null;

function showBanner(text) {
  ui.banner.textContent = text;
  ui.banner.hidden = !text;
}

function setState(s) {
  ui.state.textContent = s;
  ui.state.className = `state ${s}`;
}

function errorText(e) {
  return e instanceof ParleyError ? `${e.code || e.status}: ${e.message}` : String(e);
}

// --- signing in and out ------------------------------------------------------

async function signIn(guestId, displayName) {
  const res = await fetch('/demo/token', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ guest_id: guestId, display_name: displayName || guestId }),
  });
  const json = await res.json().catch(() => null);
  if (!res.ok || !json || !json.token)
    throw new Error(`the demo token endpoint answered ${res.status}` +
      (json && json.detail ? `: ${json.detail}` : ''));
  start(json.token, displayName || guestId);
}

async function start(token, displayName) {
  sessionStorage.setItem('parley-demo-token', token);
  parley = new Parley({ token, onSessionEnd: sessionEnded });
  // The guest's own profile: created on first sign-in, a guest writes its own.
  if (displayName)
    await parley.putMe(displayName);
  ui.me.textContent = parley.guestId;
  ui.login.hidden = true;
  ui.app.hidden = false;
  ui.who.hidden = false;
  document.body.dataset.guest = parley.guestId;
  showBanner('');
  setState('idle');
  await refreshConversations();
  refreshTimer = setInterval(() => refreshConversations().catch(() => {}), 4000);
}

function stopSession() {
  if (sub) sub.close();
  sub = null;
  clearInterval(refreshTimer);
  sessionStorage.removeItem('parley-demo-token');
}

// The token was refused (expired or revoked): the session is over.
function sessionEnded(err) {
  stopSession();
  setState('ended');
  document.body.dataset.session = 'ended';
  ui.post.hidden = true;
  ui.app.hidden = true;
  openCid = null;
  showBanner(`Session ended: ${err && err.code === 'token_expired' ? 'the token expired' :
    'the token was refused (revoked?)'}. Sign in again.`);
  ui.login.hidden = false;
}

// --- conversations -----------------------------------------------------------

function otherIds(c) {
  const others = c.participants.map((p) => p.guest_id).filter((g) => g !== parley.guestId);
  return others.length ? others.join(', ') : parley.guestId;
}

async function refreshConversations() {
  if (!parley || parley.ended)
    return;
  const page = await parley.conversations({ limit: 50 });
  ui.convs.replaceChildren(...page.conversations.map((c) => {
    const li = document.createElement('li');
    li.dataset.cid = c.id;
    li.className = c.id === openCid ? 'open' : '';
    const name = document.createElement('span');
    name.textContent = c.title || otherIds(c);
    li.append(name);
    if (c.unread > 0 && c.id !== openCid) {
      const badge = document.createElement('span');
      badge.className = 'unread';
      badge.textContent = String(c.unread);
      li.append(badge);
    }
    li.addEventListener('click', () => openConversation(c.id).catch((e) => showBanner(errorText(e))));
    return li;
  }));
}

async function openConversation(cid) {
  if (sub) sub.close();
  openCid = cid;
  const c = await parley.conversation(cid);
  ui.title.textContent = c.title || `with ${otherIds(c)}`;
  ui.messages.replaceChildren();
  const page = await parley.messages(cid, { limit: 50 });
  page.messages.forEach(showMessage);
  const last = page.messages.length ? page.messages[page.messages.length - 1].seq : 0;
  ui.post.hidden = false;
  ui.message.focus();
  // Live from the last message shown: nothing between the page and the
  // stream is missed, nothing is shown twice.
  sub = parley.subscribe(cid, {
    after: last,
    onMessage: (m) => { showMessage(m); markRead(m); },
    onEdit: updateMessage,
    onDelete: updateMessage,
    onState: setState,
    onError: (e) => { if (e.status !== 401) showBanner(errorText(e)); },
  });
  if (page.messages.length)
    markRead(page.messages[page.messages.length - 1]);
  await refreshConversations();
}

function markRead(m) {
  parley.markRead(m.conversation_id, m.seq).catch(() => {});
}

// --- messages ----------------------------------------------------------------

function messageText(m) {
  return m.deleted ? '(deleted)' : m.body;
}

// Appends without looking for an earlier copy: a duplicate delivery would show.
function showMessage(m) {
  const li = document.createElement('li');
  li.dataset.seq = String(m.seq);
  li.dataset.sender = m.sender_id;
  if (m.sender_id === parley.guestId)
    li.classList.add('mine');
  const meta = document.createElement('span');
  meta.className = 'meta';
  meta.textContent = `${m.sender_id} · #${m.seq} · ${new Date(m.created_at).toLocaleTimeString()}`;
  const body = document.createElement('span');
  body.className = 'body';
  body.textContent = messageText(m);
  li.append(meta, body);
  ui.messages.append(li);
  li.scrollIntoView({ block: 'end' });
}

function updateMessage(m) {
  const li = ui.messages.querySelector(`li[data-seq="${m.seq}"] .body`);
  if (li) li.textContent = messageText(m);
}

// --- forms -------------------------------------------------------------------

$('login-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  showBanner('');
  signIn($('guest-id').value.trim(), $('display-name').value.trim())
    .catch((e) => showBanner(errorText(e)));
});

$('new-conv').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const peer = $('peer-id').value.trim();
  parley.openDirect(peer)
    .then((c) => { $('peer-id').value = ''; return openConversation(c.id); })
    .catch((e) => showBanner(e.code === 'guest_not_found' ?
      `No guest "${peer}" yet: they sign in once first.` : errorText(e)));
});

ui.post.addEventListener('submit', (ev) => {
  ev.preventDefault();
  const text = ui.message.value;
  if (!text.trim() || !openCid)
    return;
  // The message shows when the stream delivers it, like everyone else's.
  parley.post(openCid, text)
    .then(() => { ui.message.value = ''; })
    .catch((e) => showBanner(errorText(e)));
});

$('sign-out').addEventListener('click', () => {
  stopSession();
  location.reload();
});

// A reload keeps the tab's session.
const saved = sessionStorage.getItem('parley-demo-token');
if (saved)
  start(saved, null).catch((e) => { stopSession(); showBanner(errorText(e)); });
