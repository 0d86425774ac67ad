// parley.js: a small browser client for parleyd, as one guest with a guest
// token (API.md sections 2 and 7).  One dependency-free ES module: copy it
// into a game's web client as it is.  No build step.
//
//   import { Parley } from './parley.js';
//   const parley = new Parley({ token, onSessionEnd: () => showLogin() });
//   const page = await parley.messages(cid);              // the newest 50
//   const sub = parley.subscribe(cid, {
//     after: page.messages.at(-1)?.seq ?? 0,              // resume point
//     onMessage: (m) => show(m),                          // once each, in seq order
//     onState: (s) => status(s),                          // 'connecting' | 'live' | 'reconnecting' | 'ended'
//   });
//   await parley.post(cid, 'hello');
//   sub.close();
//
// The stream: an EventSource on /v1/conversations/{cid}/events with the
// token in ?access_token= (EventSource cannot send headers).  When the
// connection drops, the browser reconnects by itself and sends
// Last-Event-ID, so parleyd replays every message after the last one seen.
// When the browser gives up (an HTTP error, e.g. 503 or 401), this module
// asks parleyd why: 401 ends the session (onSessionEnd), anything else is
// retried with exponential backoff from the last seq seen (?after=).
// Messages are delivered once each: a seq at or below the last one
// delivered is dropped.
//
// Types: the JSDoc below names the types that make clients generates from
// the OpenAPI document (clients/ts/generated/parley.ts), and make clients
// (so make test) runs tsc --checkJs over this file: a shape, field or
// route answer that changes under this module fails the build.  They are
// comments only; the browser loads the file as it is.

/** @typedef {import('../clients/ts/generated/parley').components['schemas']} Schemas */
/** @typedef {import('../clients/ts/generated/parley').operations} Operations */
/** @typedef {Schemas['Guest']} Guest */
/** @typedef {Schemas['Conversation']} Conversation */
/** @typedef {Schemas['ConversationPage']} ConversationPage */
/** @typedef {Schemas['Message']} Message */
/** @typedef {Schemas['MessagePage']} MessagePage */
/** @typedef {Schemas['ReadMarker']} ReadMarker */
/** @typedef {Schemas['Problem']} Problem */
/** @typedef {Schemas['Metadata']} Metadata */
/** @typedef {Schemas['Seq']} Seq */
/**
 * The JSON of an operation's success answer (its 200 and 201).
 * @template {keyof Operations} Op
 * @typedef {{ [S in 200 | 201]: S extends keyof Operations[Op]['responses']
 *   ? (Operations[Op]['responses'][S] extends { content: { 'application/json': infer J } } ? J : never)
 *   : never }[200 | 201]} Answer
 */
/**
 * The JSON body an operation takes.
 * @template {keyof Operations} Op
 * @typedef {NonNullable<Operations[Op]['requestBody']>['content']['application/json']} Body
 */
/** @typedef {'connecting' | 'live' | 'reconnecting' | 'ended'} StreamState */

/** An error answer of parleyd (application/problem+json). */
export class ParleyError extends Error {
  /**
   * @param {number} status
   * @param {Partial<Problem> | null} [problem]
   */
  constructor(status, problem) {
    super((problem && (problem.detail || problem.title)) || `HTTP ${status}`);
    this.name = 'ParleyError';
    this.status = status;             // HTTP status; 0 for a network failure
    this.code = problem && problem.code; // stable code, e.g. 'token_expired'
    this.problem = problem || null;
  }
}

const BACKOFF_MIN_MS = 1000;
const BACKOFF_MAX_MS = 30000;

// The guest id (sub) of a JWT, without verifying it (parleyd does that).
/** @param {string} token @returns {string | undefined} */
function tokenSubject(token) {
  try {
    const part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const bin = atob(part + '='.repeat((4 - part.length % 4) % 4));
    const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
    return JSON.parse(new TextDecoder().decode(bytes)).sub;
  } catch (e) {
    return undefined;
  }
}

export class Parley {
  /**
   * @param {object} o
   * @param {string} o.token         the guest token (from your game server)
   * @param {string} [o.baseUrl]     parleyd's URL; '' = this page's origin
   * @param {(err: ParleyError) => void} [o.onSessionEnd]  called once
   *                                 when parleyd refuses the token (401:
   *                                 expired or revoked)
   */
  constructor({ token, baseUrl = '', onSessionEnd = () => {} }) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
    this.onSessionEnd = onSessionEnd;
    this.setToken(token);
  }

  /**
   * A fresh token for the same guest (e.g. before the old one expires).
   * @param {string} token
   */
  setToken(token) {
    this.token = token;
    this.guestId = tokenSubject(token);
    this.ended = false;
  }

  /** @param {ParleyError} err */
  _sessionEnded(err) {
    if (this.ended)
      return;
    this.ended = true;
    this.onSessionEnd(err);
  }

  /**
   * One API call.  Answers the parsed JSON (null for 204); throws a
   * ParleyError for an error answer or a network failure.  (The methods
   * below name the type of each answer.)
   * @param {string} method
   * @param {string} path
   * @param {{ query?: Record<string, string | number | null | undefined>, body?: unknown }} [o]
   * @returns {Promise<any>}
   */
  async request(method, path, { query, body } = {}) {
    const url = new URL(this.baseUrl + path, location.href);
    for (const [k, v] of Object.entries(query || {}))
      if (v !== undefined && v !== null)
        url.searchParams.set(k, String(v));
    /** @type {RequestInit & { headers: Record<string, string> }} */
    const init = { method, headers: { Authorization: `Bearer ${this.token}` } };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(url, init);
    } catch (e) {
      throw new ParleyError(0, { detail: `network error: ${/** @type {Error} */ (e).message}` });
    }
    const text = await res.text();
    let json = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch (e) {
      json = null;
    }
    if (!res.ok) {
      const err = new ParleyError(res.status, json);
      if (res.status === 401)
        this._sessionEnded(err);
      throw err;
    }
    return json;
  }

  // --- the API, as the token's guest --------------------------------------

  /** @param {string} guestId @returns {Promise<Answer<'guest_get'>>} */
  getGuest(guestId) {
    return this.request('GET', `/v1/guests/${encodeURIComponent(guestId)}`);
  }

  /**
   * Create or update this guest's own profile.
   * @param {string} displayName
   * @param {Metadata} [metadata]
   * @returns {Promise<Answer<'guest_upsert'>>}
   */
  putMe(displayName, metadata) {
    return this.request('PUT', `/v1/guests/${encodeURIComponent(/** @type {string} */ (this.guestId))}`,
      { body: /** @satisfies {Body<'guest_upsert'>} */ (metadata === undefined ? { display_name: displayName } : { display_name: displayName, metadata }) });
  }

  /**
   * {conversations: [...], has_more, next_before}; latest activity first.
   * @param {{ before?: string, limit?: number }} [o]
   * @returns {Promise<Answer<'conversation_list'>>}
   */
  conversations({ before, limit } = {}) {
    return this.request('GET', `/v1/guests/${encodeURIComponent(/** @type {string} */ (this.guestId))}/conversations`,
      { query: { before, limit } });
  }

  /**
   * The direct conversation with another guest (the same one every time).
   * @param {string} otherGuestId
   * @returns {Promise<Answer<'conversation_create'>>}
   */
  openDirect(otherGuestId) {
    return this.request('POST', '/v1/conversations',
      { body: /** @satisfies {Body<'conversation_create'>} */ ({ kind: 'direct', participants: [otherGuestId] }) });
  }

  /**
   * @param {string[]} guestIds
   * @param {string} [title]
   * @returns {Promise<Answer<'conversation_create'>>}
   */
  createGroup(guestIds, title) {
    return this.request('POST', '/v1/conversations',
      { body: /** @satisfies {Body<'conversation_create'>} */ ({ kind: 'group', participants: guestIds, title }) });
  }

  /** @param {string} cid @returns {Promise<Answer<'conversation_get'>>} */
  conversation(cid) {
    return this.request('GET', `/v1/conversations/${encodeURIComponent(cid)}`);
  }

  /**
   * {messages: [... ascending seq ...], has_more}; the newest without a cursor.
   * @param {string} cid
   * @param {{ before?: Seq, after?: Seq, limit?: number }} [o]
   * @returns {Promise<Answer<'message_list'>>}
   */
  messages(cid, { before, after, limit } = {}) {
    return this.request('GET', `/v1/conversations/${encodeURIComponent(cid)}/messages`,
      { query: { before, after, limit } });
  }

  /**
   * Post a message.  client_msg_id makes a retry safe: the same id and
   * body answer the message already stored (200), never a second one.
   * @param {string} cid
   * @param {string} body
   * @param {{ clientMsgId?: string, metadata?: Metadata }} [o]
   * @returns {Promise<Answer<'message_post'>>}
   */
  post(cid, body, { clientMsgId = crypto.randomUUID(), metadata } = {}) {
    /** @type {Body<'message_post'>} */
    const b = { body, client_msg_id: clientMsgId };
    if (metadata !== undefined)
      b.metadata = metadata;
    return this.request('POST', `/v1/conversations/${encodeURIComponent(cid)}/messages`, { body: b });
  }

  /** @param {string} cid @param {Seq} seq @returns {Promise<Answer<'read_mark'>>} */
  markRead(cid, seq) {
    return this.request('POST', `/v1/conversations/${encodeURIComponent(cid)}/read`,
      { body: /** @satisfies {Body<'read_mark'>} */ ({ seq }) });
  }

  // --- the live stream ----------------------------------------------------

  /**
   * Live events of a conversation from seq `after` on (0: from the first
   * message; undefined: live only).  Handlers: onMessage(m) once per
   * message in seq order, onEdit(m), onDelete(m), onState(state) with
   * 'connecting', 'live', 'reconnecting' or 'ended', onError(err) when
   * the stream ends for good (403/404: not a participant, or the session
   * ended).  Returns {close(), lastSeq()}.
   * @param {string} cid
   * @param {{ after?: Seq, onMessage?: (m: Message) => void, onEdit?: (m: Message) => void,
   *   onDelete?: (m: Message) => void, onState?: (s: StreamState) => void,
   *   onError?: (err: ParleyError) => void }} [o]
   * @returns {{ close: () => void, lastSeq: () => Seq | undefined }}
   */
  subscribe(cid, { after, onMessage = () => {}, onEdit = () => {}, onDelete = () => {},
    onState = () => {}, onError = () => {} } = {}) {
    let lastSeq = after;
    /** @type {EventSource | null} */
    let es = null;
    /** @type {any} setTimeout's id */
    let timer = null;
    let backoff = BACKOFF_MIN_MS;
    let closed = false;

    /** @param {StreamState} s */
    const setState = (s) => { if (!closed || s === 'ended') onState(s); };

    /** @param {ParleyError} [err] */
    const end = (err) => {
      if (closed)
        return;
      closed = true;
      if (es) es.close();
      clearTimeout(timer);
      onState('ended');
      if (err) onError(err);
    };

    /** @param {MessageEvent} ev @returns {Message | null} */
    const parse = (ev) => {
      try {
        return JSON.parse(ev.data);
      } catch (e) {
        return null;
      }
    };

    const connect = () => {
      const url = new URL(`${this.baseUrl}/v1/conversations/${encodeURIComponent(cid)}/events`,
        location.href);
      url.searchParams.set('access_token', /** @type {string} */ (this.token));
      if (lastSeq !== undefined)
        url.searchParams.set('after', String(lastSeq));
      es = new EventSource(url);
      es.onopen = () => {
        backoff = BACKOFF_MIN_MS;
        setState('live');
      };
      es.addEventListener('message', (ev) => {
        const m = parse(ev);
        if (m === null || typeof m.seq !== 'number')
          return;
        if (lastSeq !== undefined && m.seq <= lastSeq)
          return;                    // seen already: a replay overlap
        lastSeq = m.seq;
        onMessage(m);
      });
      es.addEventListener('message_edited', (ev) => { const m = parse(ev); if (m) onEdit(m); });
      es.addEventListener('message_deleted', (ev) => { const m = parse(ev); if (m) onDelete(m); });
      es.onerror = () => {
        if (closed)
          return;
        if (/** @type {EventSource} */ (es).readyState === EventSource.CONNECTING) {
          // The browser reconnects by itself, with Last-Event-ID.
          setState('reconnecting');
          return;
        }
        // The browser gave up (an HTTP error): find out why.
        /** @type {EventSource} */ (es).close();
        es = null;
        setState('reconnecting');
        this.conversation(cid).then(
          () => retry(),                 // reachable again: reconnect
          (err) => {
            if (err.status === 401 || err.status === 403 || err.status === 404)
              end(err);                  // the session or the membership ended
            else
              retry();                   // 0 (network), 429, 503: later
          });
      };
    };

    const retry = () => {
      if (closed)
        return;
      const wait = backoff / 2 + Math.random() * backoff / 2;
      backoff = Math.min(backoff * 2, BACKOFF_MAX_MS);
      timer = setTimeout(connect, wait);
    };

    setState('connecting');
    connect();
    return {
      close: () => { if (!closed) { closed = true; clearTimeout(timer); if (es) es.close(); } },
      lastSeq: () => lastSeq,
    };
  }
}
