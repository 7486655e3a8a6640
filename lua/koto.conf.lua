-- koto.conf.lua: kotod's settings. Assign only what you want to change;
-- everything else keeps its default. `kotod --help-config` lists every
-- setting with its bounds, `kotod -t` checks this file, and SIGHUP (or
-- POST /api/agent/reload) applies it to a running kotod, except the
-- settings marked "restart to change".
--
-- A mistake never stops a running kotod: the reload is refused, the error
-- names this file and the line, and the old settings stay.

-- Milliseconds between readings (the seed's 30 s).
interval_ms = 30000

-- Events kept in memory, and readings kept for the dashboard's charts.
event_log_size = 100
history_size = 1440

-- When a condition starts (threshold, in %), when it ends (below threshold
-- minus clear_margin) and how many readings in a row it must hold first.
thresholds = {
  cpu = { threshold = 85, clear_margin = 5, hold_samples = 2 },
  memory = { threshold = 90, clear_margin = 5, hold_samples = 2 },
  disk = { threshold = 85, clear_margin = 2, hold_samples = 1 },
  process_memory = { threshold = 50, clear_margin = 5, hold_samples = 2 },
  cpu_spike = { threshold = 20, clear_margin = 5, hold_samples = 1, warmup = 5, window = 10 },
  -- Per filesystem, by mount point; unset fields inherit `disk`.
  filesystems = {
    -- ["/var/lib/docker"] = { threshold = 95 },
  },
}

-- Generated fix scripts: "auto" follows the machine kotod runs on.
script_os = "auto"

-- GET /metrics: "koto" (koto_* only), "node" (node_exporter's node_* only,
-- for a Prometheus that scraped node_exporter) or "both".
metrics = "both"

-- Checks: what must be so, judged at each reading from that reading's
-- process table (events process_down, process_count).
checks = {
  -- { name = "nginx", process = "nginx", min = 1 },
  -- { name = "db", pidfile = "/run/postgresql/15-main.pid", process = "postgres" },
}

-- Which fix an event gets. Nothing runs unless a person approves it by its
-- hash, or an entry says auto = true (still proposed and audited, approved
-- by the configuration, at most max_runs times within window_s).
remediate = {
  -- { event = "process_down", subject = "nginx", template = "service_restart",
  --   params = { service_name = "nginx" }, auto = true, max_runs = 3, window_s = 600 },
}
