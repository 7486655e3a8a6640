// health.js - the "Now" cards: the latest reading from the stream drawn as
// numbers, bars and small tables. Called once per reading; it rewrites only
// text that changed and rebuilds the small lists (cores, filesystems,
// interfaces, processes) whole, which is cheaper than diffing a dozen rows.

import { $, el, fill, setText, bar, setBar } from './dom.js';
import { DASH, known, pct, bytes, rate, duration, count, number, time } from './format.js';
import { diskThreshold } from './thresholds.js';

const sum = (list, key) => {
  const vals = list.map((x) => x[key]).filter(known);
  return vals.length ? vals.reduce((a, b) => a + b, 0) : null;
};

// thresholds: as thresholds.js gives them (the bars turn "near" and "over").
export function renderSample(s, thresholds) {
  renderHost(s);
  renderCpu(s, thresholds.cpu);
  renderMemory(s, thresholds.memory);
  renderSystem(s);
  renderFilesystems(s.filesystems ?? [], thresholds);
  renderNetwork(s.network ?? [], s.disks ?? []);
  renderProcesses(s.processes ?? {}, s.memory?.total_bytes);
}

function renderHost(s) {
  const os = s.os ? s.os.charAt(0).toUpperCase() + s.os.slice(1) : null;
  const parts = [s.hostname, [os, s.kernel].filter(Boolean).join(' '),
    known(s.ncpu) ? `${s.ncpu} CPU${s.ncpu === 1 ? '' : 's'}` : null].filter(Boolean);
  setText($('#host'), parts.join(' · '));
  setText($('#last-reading'), `reading ${time(s.time)}`);
  $('#last-reading').dateTime = new Date(s.time).toISOString();
}

function renderCpu(s, threshold) {
  const c = s.cpu ?? {};
  setText($('#cpu-total'), pct(c.busy_pct));
  setBar($('#cpu-bar'), c.busy_pct, threshold);
  $('#cpu-bar').setAttribute('aria-label', `CPU busy ${pct(c.busy_pct)}`);
  setText($('#cpu-user'), pct(c.user_pct));
  setText($('#cpu-system'), pct(c.system_pct));
  setText($('#cpu-iowait'), pct(c.iowait_pct));
  setText($('#cpu-steal'), pct(c.steal_pct));
  const cores = s.cores ?? [];
  const list = $('#cpu-cores');
  if (list.children.length !== cores.length) {
    fill(list, cores.map((_, i) => el('li', { className: 'core' },
      el('span', { className: 'core-name' }, `cpu${i}`),
      bar(null, { label: `cpu${i} busy` }),
      el('span', { className: 'core-val num' }, DASH))));
  }
  cores.forEach((core, i) => {
    const li = list.children[i];
    setBar(li.children[1], core.busy_pct, threshold);
    li.children[1].setAttribute('aria-label', `cpu${i} busy ${pct(core.busy_pct)}`);
    setText(li.children[2], pct(core.busy_pct, 0));
  });
}

function renderMemory(s, threshold) {
  const m = s.memory ?? {};
  setText($('#mem-total'), pct(m.used_pct));
  setBar($('#mem-bar'), m.used_pct, threshold);
  $('#mem-bar').setAttribute('aria-label', `memory used ${pct(m.used_pct)}`);
  setText($('#mem-used'), `${bytes(m.used_bytes)} of ${bytes(m.total_bytes)}`);
  setText($('#mem-avail'), bytes(m.available_bytes));
  setText($('#mem-cached'), bytes(m.cached_bytes));
  setText($('#swap-total'), m.swap_total_bytes === 0 ? 'none' : pct(m.swap_used_pct));
  setBar($('#swap-bar'), m.swap_used_pct, null);
  $('#swap-bar').setAttribute('aria-label', `swap used ${pct(m.swap_used_pct)}`);
  setText($('#swap-used'), `${bytes(m.swap_used_bytes)} of ${bytes(m.swap_total_bytes)}`);
  setText($('#swap-io'), known(m.swap_in_pages_ps) || known(m.swap_out_pages_ps)
    ? `${number(m.swap_in_pages_ps)} in · ${number(m.swap_out_pages_ps)} out pages/s` : DASH);
}

function renderSystem(s) {
  const load = s.load ?? {};
  setText($('#load-1'), number(load['1'], 2));
  setText($('#load-5'), number(load['5'], 2));
  setText($('#load-15'), number(load['15'], 2));
  setText($('#load-per-cpu'), known(load['1']) && known(s.ncpu) && s.ncpu > 0
    ? `${number(load['1'] / s.ncpu, 2)} per CPU` : DASH);
  setText($('#uptime'), duration(s.uptime_s));
  setText($('#boot-time'), known(s.boot_time) && s.boot_time > 0 ? `since ${time(s.boot_time * 1000)}` : '');
  const p = s.processes ?? {};
  setText($('#procs-total'), count(p.total));
  setText($('#procs-threads'), count(p.threads));
  setText($('#procs-states'), [
    [p.running, 'running'], [p.sleeping, 'sleeping'], [p.blocked, 'blocked'],
    [p.zombie, 'zombie'], [p.stopped, 'stopped'],
  ].filter(([n]) => known(n) && n > 0).map(([n, w]) => `${count(n)} ${w}`).join(' · ') || DASH);
}

function renderFilesystems(fss, thresholds) {
  const rows = [...fss].sort((a, b) => a.mount_point.localeCompare(b.mount_point)).map((f) => el('tr', {},
    el('th', { scope: 'row', className: 'mono', title: `${f.device} (${f.fstype})` }, f.mount_point),
    el('td', { className: 'bar-cell' }, bar(f.used_pct, { warn: diskThreshold(thresholds, f.mount_point), label: `${f.mount_point} used ${pct(f.used_pct)}` })),
    el('td', { className: 'num' }, pct(f.used_pct)),
    el('td', { className: 'num hide-narrow' }, bytes(f.used_bytes)),
    el('td', { className: 'num' }, bytes(f.avail_bytes)),
    el('td', { className: 'num hide-narrow' }, bytes(f.size_bytes))));
  fill($('#fs-rows'), rows.length ? rows : el('tr', {}, el('td', { colSpan: 6, className: 'empty' }, 'No filesystems with data')));
}

function renderNetwork(nets, disks) {
  const busy = nets.filter((n) => n.name !== 'lo');
  setText($('#net-rx'), rate(sum(busy, 'rx_bytes_ps')));
  setText($('#net-tx'), rate(sum(busy, 'tx_bytes_ps')));
  fill($('#net-rows'), nets.map((n) => el('tr', {},
    el('th', { scope: 'row', className: 'mono' }, n.name),
    el('td', { className: 'num' }, rate(n.rx_bytes_ps)),
    el('td', { className: 'num' }, rate(n.tx_bytes_ps)))));
  fill($('#disk-rows'), disks.length ? disks.map((d) => el('tr', {},
    el('th', { scope: 'row', className: 'mono' }, d.name),
    el('td', { className: 'num' }, rate(d.read_bytes_ps)),
    el('td', { className: 'num' }, rate(d.write_bytes_ps)),
    el('td', { className: 'num' }, pct(d.busy_pct, 0)))) : el('tr', {}, el('td', { colSpan: 4, className: 'empty' }, 'No disks')));
}

function processRows(list, total) {
  return list.map((p) => el('tr', {},
    el('td', { className: 'num mono' }, String(p.pid)),
    el('th', { scope: 'row', className: 'proc-name', title: p.cmdline ?? p.name ?? '' }, p.name ?? '?'),
    el('td', { className: 'num' }, pct(p.cpu_pct)),
    el('td', { className: 'num' }, bytes(p.rss_bytes)),
    el('td', { className: 'num hide-narrow' }, known(p.rss_bytes) && known(total) && total > 0
      ? pct((100 * p.rss_bytes) / total) : DASH)));
}

// Processes that ended since the last reading (what their parents reaped):
// a row of its own when it used enough to matter beside the top list.
function exitedRow(exited) {
  if (!known(exited?.cpu_pct) || exited.cpu_pct < 1) return [];
  const by = exited.parent_name ? `reaped by ${exited.parent_name} (pid ${exited.parent_pid})` : '';
  return [el('tr', { className: 'exited', title: 'CPU used by processes that ended since the last reading' },
    el('td', { className: 'num mono' }, DASH),
    el('th', { scope: 'row', className: 'proc-name' }, 'ended since the last reading', by ? el('span', { className: 'muted' }, ` · ${by}`) : ''),
    el('td', { className: 'num' }, pct(exited.cpu_pct)),
    el('td', { className: 'num' }, DASH),
    el('td', { className: 'num hide-narrow' }, DASH))];
}

function renderProcesses(p, total) {
  $('#procs-carried').hidden = !p.carried;
  const rows = processRows(p.top_cpu ?? [], total);
  const extra = exitedRow(p.exited);
  if (!rows.length && !extra.length) {
    // The first reading has no CPU shares: they need a second one.
    fill($('#top-cpu-rows'), el('tr', {}, el('td', { colSpan: 5, className: 'empty' }, 'Measuring: CPU shares need a second reading')));
    fill($('#top-mem-rows'), processRows(p.top_memory ?? [], total));
    return;
  }
  // Placed by its share, so the list stays busiest first.
  const at = rows.length - (p.top_cpu ?? []).filter((x) => known(x.cpu_pct) && x.cpu_pct < (p.exited?.cpu_pct ?? 0)).length;
  fill($('#top-cpu-rows'), [...rows.slice(0, at), ...extra, ...rows.slice(at)]);
  fill($('#top-mem-rows'), processRows(p.top_memory ?? [], total));
}
