// format.js - numbers and times as a person reads them: bytes in binary
// units (GiB, as free(1) and the daemon's own messages use), rates in
// decimal units per second (MB/s, as network and disk speeds are quoted),
// percentages and times in the browser's own locale.

export const DASH = '—'; // a value kotod could not measure (null in the API)

export const known = (v) => typeof v === 'number' && Number.isFinite(v);

const cache = new Map();
function nf(opts) {
  const key = JSON.stringify(opts);
  if (!cache.has(key)) cache.set(key, new Intl.NumberFormat(undefined, opts));
  return cache.get(key);
}

// Fewer decimals as numbers grow: 1.07, 15.3, 254.
function digitsFor(v) {
  const a = Math.abs(v);
  return a === 0 || a >= 100 ? 0 : a >= 10 ? 1 : 2;
}

export function number(v, maxDigits = digitsFor(v)) {
  return known(v) ? nf({ maximumFractionDigits: maxDigits }).format(v) : DASH;
}

export function count(v) {
  return known(v) ? nf({ maximumFractionDigits: 0 }).format(v) : DASH;
}

// 93 -> "93%" (en), "93 %" (fr, de): the locale decides the spacing.
export function pct(v, maxDigits = 1) {
  return known(v) ? nf({ style: 'percent', maximumFractionDigits: maxDigits }).format(v / 100) : DASH;
}

function scaled(v, base, units, suffix = '') {
  if (!known(v)) return DASH;
  let u = 0;
  let x = v;
  while (Math.abs(x) >= base && u < units.length - 1) {
    x /= base;
    u++;
  }
  return `${nf({ maximumFractionDigits: u === 0 ? 0 : digitsFor(x) }).format(x)} ${units[u]}${suffix}`;
}

export const bytes = (v) => scaled(v, 1024, ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB']);
export const rate = (v) => scaled(v, 1000, ['B', 'kB', 'MB', 'GB', 'TB'], '/s');

// Seconds -> "13 min 20 s", "5 h 2 min", "3 d 4 h": the two largest parts.
export function duration(s) {
  if (!known(s) || s < 0) return DASH;
  const parts = [
    [Math.floor(s / 86400), 'd'],
    [Math.floor(s / 3600) % 24, 'h'],
    [Math.floor(s / 60) % 60, 'min'],
    [Math.floor(s) % 60, 's'],
  ];
  const first = parts.findIndex(([n]) => n > 0);
  if (first < 0) return s > 0 ? `${number(s, 1)} s` : '0 s';
  return parts.slice(first, first + 2).filter(([n]) => n > 0).map(([n, u]) => `${count(n)} ${u}`).join(' ');
}

const timeOnly = new Intl.DateTimeFormat(undefined, { timeStyle: 'medium' });
const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
const hm = new Intl.DateTimeFormat(undefined, { hour: 'numeric', minute: '2-digit' });
const hms = new Intl.DateTimeFormat(undefined, { hour: 'numeric', minute: '2-digit', second: '2-digit' });

// Milliseconds since the epoch -> the time alone when it is today, else date and time.
export function time(ms) {
  if (!known(ms)) return DASH;
  const d = new Date(ms);
  return d.toDateString() === new Date().toDateString() ? timeOnly.format(d) : dateTime.format(d);
}

export const fullTime = (ms) => (known(ms) ? dateTime.format(new Date(ms)) : DASH);

const dayHour = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', hour: 'numeric' });
const day = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric' });

// For chart axes, by the span shown: seconds only when it is short enough
// to need them, the day once it is longer than one.
export function axisTime(ms, span) {
  const d = new Date(ms);
  if (span > 4 * 86400000) return day.format(d);
  if (span > 86400000) return dayHour.format(d);
  return (span < 10 * 60 * 1000 ? hms : hm).format(d);
}

// Labels people read for the API's names.
export const TYPE_LABELS = {
  cpu_high: 'CPU high',
  cpu_spike: 'CPU spike',
  memory_high: 'Memory high',
  process_memory_high: 'Process memory high',
  process_down: 'Process down',
  process_count: 'Too many processes',
  service_failed: 'Service failed',
  remediation_failed: 'Fix did not work',
  remediation_gave_up: 'Automatic fix stopped',
  koto_over_budget: 'kotod over its budget',
  disk_full: 'Disk full',
  disk_fill: 'Disk filling up',
};
export const typeLabel = (t) => TYPE_LABELS[t] ?? t.replaceAll('_', ' ');

// Formats an API value by the unit its key names (busy_pct, rss_bytes, ...).
export function byKey(key, v) {
  if (v === null || v === undefined) return DASH;
  if (typeof v !== 'number') return String(v);
  if (key.endsWith('_pct')) return pct(v);
  if (key.endsWith('_bytes_ps')) return rate(v);
  if (key.endsWith('_bytes')) return bytes(v);
  if (key.endsWith('_pages_ps')) return `${number(v)} pages/s`;
  if (key.endsWith('_ps')) return `${number(v)}/s`;
  if (key === 'since' || key === 'time') return time(v);
  if (key === 'pid' || key.endsWith('_id')) return String(v);
  return number(v);
}

// busy_pct -> "Busy", load1_per_cpu -> "Load (1 min) per CPU".
const KEY_LABELS = {
  busy_pct: 'Busy', iowait_pct: 'I/O wait', steal_pct: 'Steal', load1: 'Load (1 min)',
  load1_per_cpu: 'Load (1 min) per CPU', used_pct: 'Used', available_bytes: 'Available',
  swap_used_pct: 'Swap used', swap_in_pages_ps: 'Swap in', swap_out_pages_ps: 'Swap out',
  top_processes: 'Top processes', fullest_filesystems: 'Fullest filesystems', disks: 'Disks',
  total: 'Total', running: 'Running', blocked: 'Blocked (D)', zombie: 'Zombie', run_queue: 'Run queue',
  status: 'Status', active: 'Active conditions', mount_point: 'Mount', avail_bytes: 'Free',
  inodes_used_pct: 'Inodes used', queue_length: 'Queue', rss_bytes: 'Memory', cpu_pct: 'CPU',
  name: 'Name', pid: 'PID', type: 'Type', severity: 'Severity', started_id: 'Event',
  value: 'Value', threshold: 'Threshold', subject: 'Subject', cmdline: 'Command line',
};
export function keyLabel(key) {
  if (KEY_LABELS[key]) return KEY_LABELS[key];
  const s = key.replace(/_(pct|bytes|ps)$/, '').replaceAll('_', ' ')
    .replace(/\b(cpu|rss|pid|io)\b/gi, (w) => w.toUpperCase()).replace(/^ncpu$/, 'CPUs');
  return s.charAt(0).toUpperCase() + s.slice(1);
}
