// app.js - the dashboard's wiring: one live stream feeds the cards, the
// charts and the timeline; the status endpoint supplies what the stream
// does not carry (running or not, the health summary), fetched when
// something happened rather than on a timer.

import { $, setText } from './dom.js';
import { getJSON } from './api.js';
import { openLiveStream } from './stream.js';
import { renderSample } from './health.js';
import { initCharts, setHistory, addSample, setEvents, setThresholds } from './charts.js';
import { initEvents, resetEvents, addEvent, allEvents, renderSummary } from './events.js';
import { initControls, setRunning } from './controls.js';
import { initScripts, openScript, setOs } from './scripts.js';

// kotod has no endpoint for its configured thresholds yet (koto.conf.lua
// can change them, a filesystem's on its own). So the page starts from the
// detector's defaults, CPU 85 %, memory 90 %, disk 85 %, and takes the
// threshold each event and each active condition was judged by whenever
// there is one (thresholdsNow): the newest wins.
const DEFAULT_THRESHOLDS = { cpu: 85, memory: 90, disk: 85 };
const THRESHOLD_OF = { cpu_high: 'cpu', memory_high: 'memory', disk_full: 'disk' };

let latest = null; // the newest reading
let active = [];   // health.active from the last status

function thresholdsNow() {
  const t = { ...DEFAULT_THRESHOLDS };
  for (const e of [...allEvents(), ...active.map((a) => ({ ...a, time: a.since }))]
    .sort((a, b) => a.time - b.time)) {
    const k = THRESHOLD_OF[e.type];
    if (k && typeof e.threshold === 'number') t[k] = e.threshold;
  }
  return t;
}

function showSample(s) {
  latest = s;
  setOs(s.os);
  renderSample(s, thresholdsNow());
  addSample(s);
}

async function refreshStatus() {
  try {
    const st = await getJSON('/api/agent/monitor/status');
    active = st.health?.active ?? [];
    renderSummary(st.health);
    setRunning(st.running);
    setThresholds(thresholdsNow());
    // Before the first reading arrives on the stream, the status has one.
    if (!latest && st.snapshot) showSample(st.snapshot);
  } catch { /* the stream's indicator already says kotod is unreachable */ }
}

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

initCharts($('#charts'));
initEvents({
  fixScript: openScript,
  changed: (list) => {
    setEvents(list);
    setThresholds(thresholdsNow());
  },
});
initControls({ changed: refreshStatus, cleared: () => { resetEvents(); refreshStatus(); } });
initScripts();

openLiveStream({
  onState: setConnection,
  onOpen: () => {
    resetEvents();
    refreshStatus();
    loadHistory();
  },
  onSample: showSample,
  onEvent: (e) => {
    addEvent(e);
    refreshStatusSoon();
  },
});
