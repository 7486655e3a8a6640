// app.js - the dashboard's wiring: one live stream feeds the cards, the
// charts and the timeline; the status endpoint supplies what the stream
// does not carry (running or not, the health summary), and the config
// endpoint the thresholds in force, each fetched when something happened
// rather than on a timer.

import { $, setText } from './dom.js';
import { getJSON, token } from './api.js';
import { openLiveStream } from './stream.js';
import { renderSample } from './health.js';
import { initCharts, setHistory, addSample, setEvents, setThresholds } from './charts.js';
import { initEvents, resetEvents, addEvent, renderSummary, renderStore, renderSelf } from './events.js';
import { initControls, setRunning } from './controls.js';
import { initScripts, openScript, setOs } from './scripts.js';
import { initRemedies, proposeForEvent } from './remedies.js';
import { NO_THRESHOLDS, fetchThresholds, settingsInForce } from './thresholds.js';
import { initRange, setStore } from './range.js';
import { renderNotify, initNotify } from './notify.js';
import { initConditions, refreshConditions, conditionsOnSample } from './conditions.js';
import { initWhatIf, setWhatIfSettings } from './whatif.js';

let latest = null; // the newest reading
let thresholds = NO_THRESHOLDS;

function showSample(s) {
  latest = s;
  setOs(s.os);
  renderSample(s, thresholds);
  addSample(s);
  conditionsOnSample();
}

// On every (re)connection and on the stream's "config" event: a reload or
// a restart may have changed them.
async function refreshThresholds() {
  try {
    const t = await fetchThresholds();
    if (!t) return; // a newer fetch is under way
    thresholds = t;
    setThresholds(t);
    setWhatIfSettings(settingsInForce());
    if (latest) renderSample(latest, t);
  } catch { /* no lines rather than guessed ones; the next reload or reconnection asks again */ }
}

async function refreshStatus() {
  try {
    const st = await getJSON('/api/agent/monitor/status');
    renderSummary(st.health);
    renderStore(st.store);
    renderSelf(st.health.self);
    setStore(st.store);
    renderNotify(st.notify);
    setRunning(st.running);
    // Before the first reading arrives on the stream, the status has one.
    if (!latest && st.snapshot) showSample(st.snapshot);
  } catch { /* the stream's indicator already says kotod is unreachable */ }
}

// What changes without an event (the store's size, the channels' queues,
// kotod's own use) is fetched again every few seconds while the page is open.
setInterval(() => { if (!document.hidden) refreshStatus(); }, 5000);

let soon = 0;
function refreshStatusSoon() {
  clearTimeout(soon);
  soon = setTimeout(refreshStatus, 200); // one fetch for a burst of events
}

async function loadHistory() {
  try {
    const h = await getJSON('/api/agent/history');
    setHistory(h.points ?? []);
    if (latest) addSample(latest);
  } catch { /* charts fill from the stream instead */ }
}

function setConnection(state) {
  const c = $('#conn');
  c.className = `conn conn-${state}`;
  setText($('#conn-text'), { connecting: 'Connecting…', live: 'Live', reconnecting: 'Reconnecting…' }[state]);
  c.title = state === 'live' ? 'Receiving readings and events from kotod as they happen'
    : 'kotod is not answering; the page keeps trying and catches up by itself';
}

// Loaded after a login (a listener that needs the token for everything),
// the page works by session cookie: its CSRF token goes with every change.
async function loadSession() {
  try {
    const s = await getJSON('/api/agent/session');
    if (s.session) token.setSession(s);
  } catch { /* an older kotod, or none: the bearer token still works */ }
}

loadSession();
initCharts($('#charts'));
initEvents({ fixScript: openScript, proposeFix: proposeForEvent, changed: setEvents });
initControls({ changed: refreshStatus, cleared: () => { resetEvents(); refreshStatus(); } });
initScripts();
initRange({ live: loadHistory });
initNotify();
initRemedies();
initWhatIf();
initConditions($('#conditions'));

openLiveStream({
  onState: setConnection,
  onOpen: () => {
    resetEvents();
    refreshStatus();
    loadHistory();
    refreshThresholds();
    refreshConditions();
  },
  onSample: showSample,
  onConfig: () => {
    refreshThresholds();
    refreshConditions(); // a reload brings another set of conditions
  },
  onEvent: (e) => {
    addEvent(e);
    refreshStatusSoon();
  },
});
