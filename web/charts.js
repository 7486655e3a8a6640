// charts.js - the trend charts: CPU, memory, disk, network and pressure
// stall over the history kotod keeps, extended by every reading from the
// stream. Drawn with uPlot (vendor/uPlot.iife.min.js, copied from
// node_modules by the build), which is small and made for live time series
// on a canvas.
//
// On top of each plot: the threshold in force (thresholds.js) as a dashed
// line, and the events of the matching types as markers on the time axis
// (a tick and a band from start to resolution, coloured by severity).
//
// Two modes: live (the default: the readings in memory, extended by the
// stream) and a range (range.js fetches it from the store): then every
// series has its min and max per bucket too, drawn as a band around the
// average, and the plots stand still until the range is fetched again.

import { el, fill } from './dom.js';
import { DASH, known, pct, rate, axisTime, fullTime, typeLabel } from './format.js';
import { NO_THRESHOLDS, diskThreshold } from './thresholds.js';

const MAX_POINTS = 1440; // kotod's history capacity
const HEIGHT = 170;

const data = { t: [], cpu: [], mem: [], swap: [], disk: [], rx: [], tx: [], pcpu: [], pmem: [], pio: [] };
const KEYS = ['cpu', 'mem', 'swap', 'disk', 'rx', 'tx', 'pcpu', 'pmem', 'pio'];
let events = [];
// null: live. Else the range shown: { from, to, tier, bucket, min: {key: []}, max: {key: []}, events }.
let range = null;
let thresholds = NO_THRESHOLDS;
let fullest = null; // mount point of the fullest filesystem in the newest reading

// key: the data arrays a chart plots; types: the events it marks. floor:
// the y axis grows from 0 to at least this, instead of 0-100 %. optional:
// hidden while its series have no value (pressure stall: Linux 4.20 and
// later, not Windows).
const DEFS = [
  { id: 'cpu', title: 'CPU busy', unit: 'pct', threshold: 'cpu', types: ['cpu_high', 'cpu_spike'],
    series: [{ key: 'cpu', label: 'Busy', color: '--chart-1' }] },
  { id: 'memory', title: 'Memory and swap used', unit: 'pct', threshold: 'memory', types: ['memory_high', 'process_memory_high'],
    series: [{ key: 'mem', label: 'Memory', color: '--chart-2' }, { key: 'swap', label: 'Swap', color: '--chart-3' }] },
  { id: 'disk', title: 'Fullest filesystem', unit: 'pct', threshold: 'disk', types: ['disk_full', 'disk_fill'],
    series: [{ key: 'disk', label: 'Used', color: '--chart-4' }] },
  { id: 'network', title: 'Network (all interfaces but lo)', unit: 'rate', threshold: null, types: [],
    series: [{ key: 'rx', label: 'Received', color: '--chart-1' }, { key: 'tx', label: 'Sent', color: '--chart-5' }] },
  { id: 'pressure', title: 'Time tasks waited (pressure stall, 1 min)', unit: 'pct', floor: 10, optional: true,
    threshold: null, types: [],
    series: [{ key: 'pcpu', label: 'CPU', color: '--chart-1' }, { key: 'pmem', label: 'Memory', color: '--chart-2' },
      { key: 'pio', label: 'I/O', color: '--chart-4' }] },
];

const charts = new Map(); // id -> { def, plot, figure, now }
let frame = 0;

const css = (name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();
const fmt = (unit) => (unit === 'pct' ? (v) => pct(v) : (v) => rate(v));

function fullestOf(s) {
  return (s.filesystems ?? []).filter((f) => known(f.used_pct))
    .reduce((a, f) => (a && a.used_pct >= f.used_pct ? a : f), null)?.mount_point ?? null;
}

function pointOf(s) {
  const fs = (s.filesystems ?? []).map((f) => f.used_pct).filter(known);
  const nets = (s.network ?? []).filter((n) => n.name !== 'lo' && known(n.rx_bytes_ps));
  return {
    time: s.time,
    cpu_pct: s.cpu?.busy_pct ?? null,
    memory_pct: s.memory?.used_pct ?? null,
    swap_pct: s.memory?.swap_used_pct ?? null,
    disk_max_pct: fs.length ? Math.max(...fs) : null,
    net_rx_bytes_ps: nets.length ? nets.reduce((a, n) => a + n.rx_bytes_ps, 0) : null,
    net_tx_bytes_ps: nets.length ? nets.reduce((a, n) => a + (n.tx_bytes_ps ?? 0), 0) : null,
    cpu_pressure_pct: s.pressure?.cpu?.some_avg60_pct ?? null,
    memory_pressure_pct: s.pressure?.memory?.some_avg60_pct ?? null,
    io_pressure_pct: s.pressure?.io?.some_avg60_pct ?? null,
  };
}

function push(p) {
  data.t.push(p.time);
  data.cpu.push(p.cpu_pct);
  data.mem.push(p.memory_pct);
  data.swap.push(p.swap_pct);
  data.disk.push(p.disk_max_pct);
  data.rx.push(p.net_rx_bytes_ps);
  data.tx.push(p.net_tx_bytes_ps);
  data.pcpu.push(p.cpu_pressure_pct);
  data.pmem.push(p.memory_pressure_pct);
  data.pio.push(p.io_pressure_pct);
}

function trim() {
  const extra = data.t.length - MAX_POINTS;
  if (extra > 0) for (const k of Object.keys(data)) data[k].splice(0, extra);
}

// GET /api/agent/history answers with objects (time, cpu_pct, ...), oldest first.
export function setHistory(points) {
  if (range) return;
  for (const k of Object.keys(data)) data[k].length = 0;
  for (const p of points) push(p);
  trim();
  schedule();
}

export function addSample(s) {
  const was = fullest;
  fullest = fullestOf(s);
  if (fullest !== was) schedule(); // the disk chart's threshold may be another one
  if (range) return; // a range stands still
  if (data.t.length && s.time <= data.t[data.t.length - 1]) return; // already in the history
  push(pointOf(s));
  trim();
  schedule();
}

export function setEvents(list) {
  events = list;
  schedule();
}

const TIERS = { raw: 'each reading', '1m': '1-minute buckets', '1h': '1-hour buckets' };

// Shows a range from the store: t, and for each key {avg, min, max} arrays
// along t; rangeEvents the events in it. Plots are rebuilt with the bands.
export function showRange(r) {
  const wasLive = !range;
  range = r;
  data.t = r.t;
  for (const k of KEYS) data[k] = r.avg[k];
  for (const c of charts.values()) {
    c.figure.dataset.tier = r.tier;
    c.figure.dataset.points = String(c.def.series.reduce((n, s) => n + data[s.key].filter((v) => v !== null).length, 0));
  }
  if (wasLive || charts.size) for (const c of charts.values()) build(c);
  schedule();
}

// Back to the live view; the caller reloads the history in memory.
export function showLive() {
  if (!range) return;
  range = null;
  for (const k of Object.keys(data)) data[k] = [];
  for (const c of charts.values()) {
    delete c.figure.dataset.tier;
    delete c.figure.dataset.points;
    build(c);
  }
}

// The what-if view's replay (POST /api/agent/rules/replay), or null: its
// would-be spans are drawn along the top of each chart whose types they
// are, hatched, beside the real events along the bottom. A condition's
// type belongs to no chart: those go on the first (CPU) chart, with the
// host-wide load they mostly judge.
let whatIf = null;
export function setWhatIf(r) {
  whatIf = r;
  for (const c of charts.values()) {
    const n = r ? whatIfSpans(c.def).length : 0;
    if (r) c.figure.dataset.whatif = String(n);
    else delete c.figure.dataset.whatif;
    c.whatIfKey.hidden = !r;
    c.whatIfKey.textContent = r ? `What-if: ${n} would-be event${n === 1 ? '' : 's'} (hatched, top)` : '';
  }
  schedule();
  for (const c of charts.values()) c.plot?.redraw(false);
}

const CHARTED = new Set(DEFS.flatMap((d) => d.types));
function whatIfSpans(def) {
  if (!whatIf) return [];
  return whatIf.would_fire.filter((e) => def.types.includes(e.type) || (def === DEFS[0] && !CHARTED.has(e.type)));
}

// Hatched bands from each would-be start to its end (or the range's end),
// in the severity's colour, in a strip along the top.
function drawWhatIf(u, def) {
  const spans = whatIfSpans(def);
  if (!spans.length) return;
  const { ctx } = u;
  const { top } = u.bbox;
  const px = window.devicePixelRatio || 1;
  const [t0, t1] = [u.scales.x.min, u.scales.x.max];
  const strip = 10 * px;
  for (const e of spans) {
    const end = e.end_ms ?? whatIf.to;
    if (end < t0 || e.start_ms > t1) continue;
    const x0 = u.valToPos(Math.max(e.start_ms, t0), 'x', true);
    const x1 = Math.max(u.valToPos(Math.min(end, t1), 'x', true), x0 + 2 * px);
    const color = css(`--sev-${e.severity}`) || css('--threshold');
    ctx.globalAlpha = 0.08;
    ctx.fillStyle = color;
    ctx.fillRect(x0, top, x1 - x0, u.bbox.height);
    ctx.globalAlpha = 1;
    ctx.strokeStyle = color;
    ctx.lineWidth = 1 * px;
    ctx.strokeRect(x0, top, x1 - x0, strip);
    ctx.save();
    ctx.beginPath();
    ctx.rect(x0, top, x1 - x0, strip);
    ctx.clip();
    ctx.beginPath();
    for (let x = x0 - strip; x < x1; x += 5 * px) {
      ctx.moveTo(x, top + strip);
      ctx.lineTo(x + strip, top);
    }
    ctx.stroke();
    ctx.restore();
  }
  // The left edge of each would-be start: a dashed line down the plot.
  ctx.setLineDash([2 * px, 3 * px]);
  for (const e of spans) {
    if (e.start_ms < t0 || e.start_ms > t1) continue;
    const x = Math.round(u.valToPos(e.start_ms, 'x', true)) + 0.5;
    ctx.strokeStyle = css(`--sev-${e.severity}`);
    ctx.beginPath();
    ctx.moveTo(x, top);
    ctx.lineTo(x, top + u.bbox.height);
    ctx.stroke();
  }
  ctx.setLineDash([]);
}

export function setThresholds(t) {
  thresholds = t;
  schedule();
}

// The line a chart draws. The disk chart plots the fullest filesystem of
// each reading, so it gets the threshold of the one fullest now (its own
// thresholds.filesystems entry, else the general disk one). The history
// does not say which filesystem an older point was; should another have
// been fullest then, its point is drawn against this line all the same.
function thresholdOf(def) {
  if (def.threshold === 'disk') return diskThreshold(thresholds, fullest);
  return def.threshold ? thresholds[def.threshold] : null;
}

function schedule() {
  if (!frame) frame = requestAnimationFrame(redraw);
}

// Live: time and each series. A range: then each series' max and min, for its band.
function seriesData(def) {
  const main = [data.t, ...def.series.map((s) => data[s.key])];
  if (!range) return main;
  return [...main, ...def.series.flatMap((s) => [range.max[s.key], range.min[s.key]])];
}

function redraw() {
  frame = 0;
  for (const c of charts.values()) {
    if (c.def.optional) c.figure.hidden = !c.def.series.some((s) => data[s.key].some(known));
    c.plot?.setData(seriesData(c.def));
    const latest = c.def.series.map((s) => {
      const v = data[s.key].findLast((x) => x !== null);
      return `${s.label} ${v === undefined ? DASH : fmt(c.def.unit)(v)}`;
    });
    const th = thresholdOf(c.def);
    if (known(th)) latest.push(`threshold ${pct(th, 2)}`);
    if (range) latest.splice(0, latest.length, `${TIERS[range.tier] ?? range.tier}${range.tier === 'raw' ? '' : ', min–max band'}`);
    c.now.textContent = latest.join(' · ');
  }
}

// Threshold line and event markers, drawn after uPlot's own series.
function drawOverlays(u, def) {
  const { ctx } = u;
  const { left, top, width, height } = u.bbox;
  const px = window.devicePixelRatio || 1;
  ctx.save();
  ctx.beginPath();
  ctx.rect(left, top, width, height);
  ctx.clip();

  const th = thresholdOf(def);
  if (known(th)) {
    const y = Math.round(u.valToPos(th, 'y', true)) + 0.5;
    ctx.strokeStyle = css('--threshold');
    ctx.lineWidth = 1.5 * px;
    ctx.setLineDash([6 * px, 4 * px]);
    ctx.beginPath();
    ctx.moveTo(left, y);
    ctx.lineTo(left + width, y);
    ctx.stroke();
    ctx.setLineDash([]);
    // The label sits on a patch of the card's colour, so a series running
    // along the threshold cannot hide it.
    const label = `threshold ${pct(th, 2)}`;
    ctx.font = `${11 * px}px system-ui, sans-serif`;
    const w = ctx.measureText(label).width;
    const x = left + width - w - 6 * px;
    // Above the line, or below it when the line is too near the top.
    const below = y - 16 * px < top;
    ctx.globalAlpha = 0.85;
    ctx.fillStyle = css('--card');
    ctx.fillRect(x - 3 * px, below ? y + 1 * px : y - 14 * px, w + 6 * px, 13 * px);
    ctx.globalAlpha = 1;
    ctx.fillStyle = css('--threshold');
    ctx.textAlign = 'left';
    ctx.textBaseline = below ? 'top' : 'bottom';
    ctx.fillText(label, x, below ? y + 2 * px : y - 2 * px);
  }

  drawWhatIf(u, def);

  if (def.types.length && data.t.length) {
    const [t0, t1] = [u.scales.x.min, u.scales.x.max];
    const mine = (range ? range.events : events).filter((e) => def.types.includes(e.type));
    const resolvedBy = new Map(mine.filter((e) => e.state === 'resolved').map((e) => [e.started_id, e]));
    const bottom = top + height;
    for (const e of mine) {
      const color = css(`--sev-${e.severity}`);
      if (e.state === 'started') {
        // The band: from the start to its resolution, or to now while it lasts.
        const end = resolvedBy.get(e.id)?.time ?? t1;
        if (end >= t0 && e.time <= t1) {
          const x0 = u.valToPos(Math.max(e.time, t0), 'x', true);
          const x1 = u.valToPos(Math.min(end, t1), 'x', true);
          ctx.globalAlpha = 0.07;
          ctx.fillStyle = color;
          ctx.fillRect(x0, top, Math.max(x1 - x0, 1), height);
          ctx.globalAlpha = 1;
          ctx.fillRect(x0, bottom - 4 * px, Math.max(x1 - x0, 1), 4 * px);
        }
      }
      if (e.time < t0 || e.time > t1) continue;
      const x = Math.round(u.valToPos(e.time, 'x', true)) + 0.5;
      ctx.strokeStyle = color;
      ctx.fillStyle = color;
      ctx.lineWidth = 1.5 * px;
      ctx.setLineDash(e.state === 'resolved' ? [3 * px, 3 * px] : []);
      ctx.beginPath();
      ctx.moveTo(x, top);
      ctx.lineTo(x, bottom);
      ctx.stroke();
      ctx.setLineDash([]);
      // A triangle on the time axis: pointing up at a start or an
      // escalation, down at a resolution.
      const s = 6 * px;
      ctx.beginPath();
      if (e.state !== 'resolved') {
        ctx.moveTo(x - s, bottom);
        ctx.lineTo(x + s, bottom);
        ctx.lineTo(x, bottom - s * 1.4);
      } else {
        ctx.moveTo(x - s, bottom - s * 1.4);
        ctx.lineTo(x + s, bottom - s * 1.4);
        ctx.lineTo(x, bottom);
      }
      ctx.fill();
    }
  }
  ctx.restore();
}

function options(def, width) {
  const text = css('--text-muted');
  const grid = css('--grid');
  const valueFmt = fmt(def.unit);
  return {
    width,
    height: HEIGHT,
    ms: 1, // the API's times are milliseconds
    cursor: { drag: { x: false, y: false, setScale: false } },
    legend: { show: true, live: true },
    scales: {
      x: range ? { time: true, range: () => [range.from, range.to] } : { time: true },
      y: def.floor
        ? { range: (u, min, max) => [0, Math.min(100, Math.max(def.floor, (max ?? 0) * 1.15))] }
        : def.unit === 'pct' ? { range: [0, 100] }
        : { range: (u, min, max) => [0, Math.max(1000, (max ?? 0) * 1.15)] },
    },
    axes: [
      {
        stroke: text, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 },
        space: 90, // px between time labels, which are long in some locales ("6:25:32 PM")
        // Times in the browser's locale, seconds only for short spans.
        values: (u, splits) => {
          const span = (u.scales.x.max ?? 0) - (u.scales.x.min ?? 0);
          return splits.map((v) => axisTime(v, span));
        },
      },
      {
        stroke: text, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 },
        size: def.unit === 'pct' ? 48 : 78,
        values: (u, splits) => splits.map((v) => valueFmt(v)),
      },
    ],
    // The legend shows the point under the pointer, and the latest point
    // when the pointer is elsewhere (uPlot passes idx null then).
    series: [
      { value: (u, v, si, idx) => fullTime(idx === null ? data.t[data.t.length - 1] : v) },
      ...def.series.map((s) => ({
        label: s.label,
        stroke: css(s.color),
        fill: def.series.length === 1 ? css(`${s.color}-fill`) : undefined,
        width: 2,
        points: { show: false },
        value: (u, v, si, idx) => {
          const x = idx === null ? data[s.key].findLast((y) => y !== null) : v;
          return x === null || x === undefined ? DASH : valueFmt(x);
        },
      })),
      // A range: each series' max and min, invisible lines that bound its band.
      ...(range ? def.series.flatMap((s) => ['max', 'min'].map((m) => ({
        label: `${s.label} ${m}`, stroke: 'transparent', width: 0, points: { show: false },
      }))) : []),
    ],
    bands: range ? def.series.map((s, i) => ({
      series: [1 + def.series.length + 2 * i, 2 + def.series.length + 2 * i],
      fill: css(`${s.color}-band`),
    })) : [],
    hooks: {
      draw: [(u) => drawOverlays(u, def)],
      // The band's bounds stay out of the legend: the caption says what the band is.
      ready: [(u) => u.root.querySelectorAll('.u-legend .u-series').forEach((row, i) => {
        if (i > def.series.length) row.hidden = true;
      })],
    },
  };
}

function build(c) {
  c.plot?.destroy();
  const width = Math.max(c.box.clientWidth, 200);
  c.plot = new globalThis.uPlot(options(c.def, width), seriesData(c.def), c.box);
}

// Makes the figures inside container. Without uPlot (a build that
// skipped `npm ci`) the page still works; the charts say why they are missing.
export function initCharts(container) {
  for (const def of DEFS) {
    const box = el('div', { className: 'plot' });
    const now = el('span', { className: 'chart-now' }, DASH);
    const marks = def.types.length
      ? el('span', { className: 'chart-key' }, 'Markers: ', def.types.map(typeLabel).join(', '), ' events')
      : null;
    const whatIfKey = el('span', { className: 'chart-key chart-whatif', hidden: true });
    const figure = el('figure', { className: 'chart', id: `chart-${def.id}`, hidden: Boolean(def.optional) },
      el('figcaption', {}, el('span', { className: 'chart-title' }, def.title), now), box, marks, whatIfKey);
    container.append(figure);
    charts.set(def.id, { def, box, now, figure, whatIfKey, plot: null });
  }
  if (typeof globalThis.uPlot !== 'function') {
    fill(container, el('p', { className: 'notice' },
      'The charts need the uPlot library, which this build of the web root does not include. ',
      'Run npm ci and rebuild (./build.sh build).'));
    charts.clear();
    return;
  }
  for (const c of charts.values()) build(c);

  // Follow the container's width (a phone turned, a window resized).
  const ro = new ResizeObserver(() => {
    for (const c of charts.values()) {
      const w = Math.max(c.box.clientWidth, 200);
      if (c.plot && c.plot.width !== w) c.plot.setSize({ width: w, height: HEIGHT });
    }
  });
  for (const c of charts.values()) ro.observe(c.box);

  // Colours come from the theme's CSS variables; rebuild when it flips.
  matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => {
    for (const c of charts.values()) build(c);
  });
}
