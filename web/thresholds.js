// thresholds.js - the detector's thresholds as kotod has them in force,
// from GET /api/agent/config: the page keeps no copy of the defaults, so a
// koto.conf.lua that changes them (per metric or per filesystem) shows on
// the bars and the charts. app.js fetches them when the stream opens and
// again on the stream's "config" event, which kotod sends after every
// reload, whoever asked for it (POST /api/agent/reload, SIGHUP).

import { getJSON } from './api.js';

// Each is a percentage, or null where there is nothing to draw: before the
// settings arrive, or where the detector does not judge (enabled = false).
// filesystems: mount point -> its own threshold (thresholds.filesystems).
export const NO_THRESHOLDS = Object.freeze({ cpu: null, memory: null, disk: null, filesystems: new Map() });

// settings: GET /api/agent/config's list of { key, value, ... }.
export function thresholdsOf(settings) {
  const v = new Map(settings.map((s) => [s.key, s.value]));
  const judged = (rule) => (rule.enabled === false || typeof rule.threshold !== 'number' ? null : rule.threshold);
  const rule = (name) => judged({ enabled: v.get(`thresholds.${name}.enabled`), threshold: v.get(`thresholds.${name}.threshold`) });
  // kotod lists each filesystem's rule whole: the fields it does not set are the disk rule's.
  const filesystems = new Map(Object.entries(v.get('thresholds.filesystems') ?? {})
    .map(([mount, r]) => [mount, judged(r)]));
  return { cpu: rule('cpu'), memory: rule('memory'), disk: rule('disk'), filesystems };
}

// The threshold a filesystem is judged by, picked as the detector picks it:
// the mount point's own, else the general disk one.
export function diskThreshold(t, mountPoint) {
  return t.filesystems.has(mountPoint) ? t.filesystems.get(mountPoint) : t.disk;
}

let asked = 0;
let inForce = []; // the settings of the newest answer

// Resolves to the thresholds in force, or to null when a later call was
// made meanwhile (two reloads in a row): only the newest answer counts.
// Throws the API's error (503 from a kotod without its rules engine).
export async function fetchThresholds() {
  const mine = ++asked;
  const body = await getJSON('/api/agent/config');
  if (mine !== asked) return null;
  inForce = body?.settings ?? [];
  return thresholdsOf(inForce);
}

// The whole list of that answer (the what-if form names its settings from
// it), so the page asks for the configuration once per change.
export const settingsInForce = () => inForce;
