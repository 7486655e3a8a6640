// api.js - talking to kotod: JSON requests, the bearer token or the login
// session, and reading a server-sent event stream that answers a POST
// (EventSource can only GET).
// Every URL is a path on this origin: the CSP allows nothing else
// (connect-src 'self'), and kotod refuses state changes from other origins.

const TOKEN_KEY = 'koto.token';

// Logged in through the login page, the browser sends the session cookie by
// itself (the page cannot read it); what changes state also carries the
// session's CSRF token, which the page asks kotod for (GET /api/agent/session).
let csrf = '';
let sessionScopes = [];
let sessionName = '';

// The token lives in sessionStorage: asked for once, kept until the tab
// closes, never written to disk by the page.
export const token = {
  events: new EventTarget(),
  get() {
    try {
      return sessionStorage.getItem(TOKEN_KEY) ?? '';
    } catch {
      return ''; // storage disabled: the page works read-only
    }
  },
  set(value) {
    try {
      if (value) sessionStorage.setItem(TOKEN_KEY, value);
      else sessionStorage.removeItem(TOKEN_KEY);
    } catch { /* storage disabled: nothing to keep */ }
    this.events.dispatchEvent(new Event('change'));
  },
  // A session's CSRF token: '' when the page works with a bearer token.
  csrf() {
    return csrf;
  },
  setCsrf(value) {
    csrf = value;
    this.events.dispatchEvent(new Event('change'));
  },
  // The page may change state: it has the token, or a session whose token
  // has the control scope (a read-only login only watches).
  usable() {
    return Boolean(this.get() || (csrf && sessionScopes.includes('control')));
  },
  setSession(s) {
    sessionScopes = (s.scopes ?? 'read,propose,control').split(',');
    sessionName = s.token ?? 'default';
    this.setCsrf(s.csrf_token);
  },
  // Why a logged-in page may not change state, or ''.
  sessionLimit() {
    return csrf && !this.get() && !sessionScopes.includes('control')
      ? `Logged in with the token '${sessionName}' (${sessionScopes.join(', ')}): it may watch but not change anything.` : '';
  },
};

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

function headers(method, extra = {}) {
  const h = { Accept: 'application/json', ...extra };
  const t = token.get();
  if (t) h.Authorization = `Bearer ${t}`;
  else if (csrf && method !== 'GET') h['X-CSRF-Token'] = csrf;
  return h;
}

// A session that kotod no longer knows (it expired, kotod restarted): the
// dashboard's page load answers the login page again.
function sessionLost(err) {
  if (err instanceof ApiError && err.status === 401 && csrf && !token.get()) location.reload();
}

// Every kotod error is {"error": {"code", "message"}}; anything else (a
// proxy's page, a dropped connection) still becomes an ApiError.
async function parse(res) {
  const text = await res.text();
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch { /* not JSON: reported below by status */ }
  if (!res.ok) {
    throw new ApiError(res.status, body?.error?.code ?? `http_${res.status}`,
      body?.error?.message ?? `kotod answered HTTP ${res.status}`);
  }
  return body;
}

async function request(method, path, body, signal) {
  let res;
  try {
    res = await fetch(path, {
      method,
      headers: headers(method, body === undefined ? {} : { 'Content-Type': 'application/json' }),
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
      credentials: 'same-origin',
    });
  } catch (err) {
    if (err.name === 'AbortError') throw err;
    throw new ApiError(0, 'unreachable', 'kotod cannot be reached');
  }
  return parse(res);
}

export async function getJSON(path, signal) {
  try {
    return await request('GET', path, undefined, signal);
  } catch (err) {
    sessionLost(err);
    throw err;
  }
}

// A refused token is forgotten, so the page asks again instead of sending
// the wrong one with every click.
export async function postJSON(path, body) {
  try {
    return await request('POST', path, body);
  } catch (err) {
    if (err instanceof ApiError && err.status === 401 && token.get()) token.set('');
    sessionLost(err);
    throw err;
  }
}

export async function deleteJSON(path) {
  try {
    return await request('DELETE', path);
  } catch (err) {
    if (err instanceof ApiError && err.status === 401 && token.get()) token.set('');
    sessionLost(err);
    throw err;
  }
}

// Ends the login session: kotod forgets it and clears the cookie.
export async function logout() {
  try {
    await request('DELETE', '/api/agent/session');
  } finally {
    csrf = '';
    location.replace('/monitoring-dashboard');
  }
}

// POSTs and calls onMessage({event, data, id}) for each server-sent event
// as it arrives; resolves when the server ends the stream.
export async function postEventStream(path, body, onMessage, signal) {
  let res;
  try {
    res = await fetch(path, {
      method: 'POST',
      headers: headers('POST', { Accept: 'text/event-stream', 'Content-Type': 'application/json' }),
      body: JSON.stringify(body ?? {}),
      signal,
      credentials: 'same-origin',
    });
  } catch (err) {
    if (err.name === 'AbortError') throw err;
    throw new ApiError(0, 'unreachable', 'kotod cannot be reached');
  }
  if (!res.ok) await parse(res); // throws the API's error
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (value) buf += value.replace(/\r\n?/g, '\n');
    let end;
    while ((end = buf.indexOf('\n\n')) >= 0) {
      const msg = parseEvent(buf.slice(0, end));
      buf = buf.slice(end + 2);
      if (msg) onMessage(msg);
    }
    if (done) break;
  }
}

// One block of "field: value" lines, as the SSE format defines them.
function parseEvent(block) {
  let event = 'message';
  let id = null;
  const data = [];
  for (const line of block.split('\n')) {
    if (!line || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
    else if (field === 'id') id = value;
  }
  if (!data.length) return null;
  const text = data.join('\n');
  let parsed = text;
  try {
    parsed = JSON.parse(text);
  } catch { /* plain text data stays text */ }
  return { event, id, data: parsed };
}
