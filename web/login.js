// login.js - the login page kotod serves for the dashboard on a listener
// that needs the token for everything: the token is exchanged for a session
// cookie (HttpOnly: this page never sees it), then the dashboard is loaded.

const form = document.getElementById('login-form');
const input = document.getElementById('login-token');
const error = document.getElementById('login-error');
const submit = document.getElementById('login-submit');

form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  error.textContent = '';
  submit.disabled = true;
  try {
    const res = await fetch('/api/agent/session', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify({ token: input.value.trim() }),
      credentials: 'same-origin',
    });
    if (res.ok) {
      // A browser keeps a Secure cookie only over HTTPS or on localhost:
      // over plain HTTP from another machine the login goes nowhere.
      const s = await (await fetch('/api/agent/session', { credentials: 'same-origin' })).json();
      if (s.session) {
        location.replace('/monitoring-dashboard');
        return;
      }
      error.textContent = 'The token is right, but this browser did not keep the session cookie: '
        + 'browsers keep it only over HTTPS (or on localhost). Serve kotod with TLS, or reach it '
        + 'through an SSH tunnel.';
      return;
    }
    let message = `kotod answered HTTP ${res.status}`;
    try {
      message = (await res.json()).error.message;
    } catch { /* not kotod's JSON: the status says enough */ }
    error.textContent = res.status === 401 ? 'That token is not valid.' : message;
    input.select();
  } catch {
    error.textContent = 'kotod cannot be reached.';
  } finally {
    submit.disabled = false;
  }
});
input.focus();
