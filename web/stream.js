// stream.js - the live feed from GET /api/agent/monitor/stream: every
// reading ("sample") and every detector event ("event"), pushed by kotod,
// and "config" when a reload has put new settings in force.
//
// Each (re)connection asks for the whole event log (?since=0) and the page
// rebuilds its list from that replay. EventSource's own reconnect would send
// Last-Event-ID instead, which is wrong after kotod restarts: the new
// daemon numbers its events from 1 again, and it would skip every event
// whose id is below the old one. So on any error the page closes the
// EventSource and opens a fresh one itself, backing off up to 5 s.

const MIN_DELAY = 1000;
const MAX_DELAY = 5000;

// handlers: onState('connecting' | 'live' | 'reconnecting'), onOpen(),
// onSample(sample), onEvent(event), onConfig(). Returns { close }.
export function openLiveStream(handlers) {
  let es = null;
  let timer = 0;
  let delay = MIN_DELAY;
  let everOpen = false;

  function connect() {
    timer = 0;
    handlers.onState(everOpen ? 'reconnecting' : 'connecting');
    es = new EventSource('/api/agent/monitor/stream?since=0');
    es.addEventListener('open', () => {
      delay = MIN_DELAY;
      everOpen = true;
      handlers.onOpen();
      handlers.onState('live');
    });
    es.addEventListener('sample', (m) => handlers.onSample(JSON.parse(m.data)));
    es.addEventListener('event', (m) => handlers.onEvent(JSON.parse(m.data)));
    es.addEventListener('config', () => handlers.onConfig());
    es.addEventListener('error', () => {
      es.close();
      everOpen = true; // from now on every attempt is a reconnect
      handlers.onState('reconnecting');
      if (!timer) timer = setTimeout(connect, delay);
      delay = Math.min(delay * 2, MAX_DELAY);
    });
  }

  connect();
  return {
    close() {
      clearTimeout(timer);
      es?.close();
    },
  };
}
