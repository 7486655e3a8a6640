-- cpu.lua: the CPUs waiting on I/O, more work than CPUs, and CPU time the
-- hypervisor takes away.
--
-- Reads s.cpu, s.ncpu, s.load, s.disks and the process counts; a value that
-- is unknown (nil) makes the rule say nothing rather than guess.
--
-- None of these figures has a setting in koto.conf.lua: thresholds.cpu
-- judges CPU busy %, which the cpu_high events watch and no rule here does.

local IOWAIT_PCT = 20    -- % of CPU time spent waiting for I/O
local LOAD_PER_CPU = 1.5 -- 1-minute load average per logical CPU
local STEAL_PCT = 10     -- % of CPU time the hypervisor gave to other guests

-- The top CPU users as "nginx (pid 1) 74 %, ...": at most n of them, each
-- using at least 5 % of a core (below that they explain nothing).
local function busiest(s, n)
  local out = {}
  for _, p in ipairs(pick.list(s, "processes", "top_cpu")) do
    if #out >= n then
      break
    end
    local cpu = pick.num(p, "cpu_pct")
    if cpu and cpu >= 5 then
      out[#out + 1] = fmt.proc(p) .. " " .. fmt.pct(cpu)
    end
  end
  return out
end

return {
  {
    name = "iowait_bound",
    category = "io",
    description = "The CPUs spend more than 20 % of their time waiting for I/O",
    check = function(s)
      local iowait = pick.num(s, "cpu", "iowait_pct")
      if not iowait or iowait <= IOWAIT_PCT then
        return nil
      end
      local disk, busy = pick.max(pick.list(s, "disks"), "busy_pct")
      local blocked = pick.num(s, "processes", "blocked")
      local text = string.format("The CPUs spend %s of their time waiting for I/O", fmt.pct(iowait))
      local name = disk and pick.str(disk, "name")
      local queue, rd, wr
      if name then
        queue = pick.num(disk, "queue_length")
        rd, wr = pick.num(disk, "read_bytes_ps"), pick.num(disk, "write_bytes_ps")
        text = text .. string.format("; %s is %s busy", fmt.text(name), fmt.pct(busy))
        if queue then
          text = text .. string.format(" with %s requests in flight", fmt.num(queue))
        end
        if rd and wr then
          text = text .. string.format(" (reading %s/s, writing %s/s)", fmt.bytes(rd),
            fmt.bytes(wr))
        end
      end
      local suggestions = {
        "See which processes do the I/O: `iotop -oPa` or `pidstat -d 1`"
          .. (blocked and blocked > 0
            and string.format("; the %d in state D are waiting on it: `ps -eo "
              .. "pid,stat,wchan:32,comm | awk '$2 ~ /D/'`.", math.floor(blocked))
            or "."),
      }
      if name then
        suggestions[#suggestions + 1] = string.format("Check %s's latency and queue: `iostat "
          .. "-dx 1 %s` (r_await/w_await in ms, aqu-sz, %%util); a device near 100 %% busy with "
          .. "a growing queue is saturated.", fmt.text(name), fmt.shell(name))
      end
      suggestions[#suggestions + 1] = "If memory is short, the I/O may be swapping (see the "
        .. "memory findings). Otherwise move heavy jobs (backups, reindexing) off peak hours, "
        .. "run batch work with `ionice -c3`, or move the load to faster storage."
      return {
        bottleneck = text,
        severity = iowait >= 50 and "high" or iowait >= 30 and "medium" or "low",
        evidence = {
          iowait_pct = iowait,
          blocked = blocked,
          disk = name,
          disk_busy_pct = name and busy or nil,
          disk_queue_length = queue,
          disk_read_bytes_ps = rd,
          disk_write_bytes_ps = wr,
        },
        suggestions = suggestions,
      }
    end,
  },

  {
    name = "load_high",
    category = "cpu",
    description = "The 1-minute load average is more than 1.5 per CPU",
    check = function(s)
      local load1, ncpu = pick.num(s, "load", "1"), pick.num(s, "ncpu")
      if not load1 or not ncpu or ncpu < 1 then
        return nil
      end
      local ratio = load1 / ncpu
      if ratio <= LOAD_PER_CPU then
        return nil
      end
      local load5, load15 = pick.num(s, "load", "5"), pick.num(s, "load", "15")
      local running = pick.num(s, "processes", "running")
      local blocked = pick.num(s, "processes", "blocked")
      local iowait = pick.num(s, "cpu", "iowait_pct")
      local text = string.format("Load average %s on %d CPU%s (%s per CPU): more tasks want to "
        .. "run than there are CPUs", fmt.num(load1, 2), math.floor(ncpu), ncpu == 1 and "" or "s",
        fmt.num(ratio, 2))
      local busy = pick.num(s, "cpu", "busy_pct")
      local io_bound = (blocked and running and blocked > running) or (iowait and iowait > 20)
      if io_bound then
        text = text .. "; much of it is tasks waiting on I/O (state D), not on CPU"
      elseif busy and busy < 50 then
        text = text .. string.format("; yet the CPUs are only %s busy now: a burst that has "
          .. "passed, or tasks stuck in uninterruptible sleep (state D)", fmt.pct(busy))
      end
      local suggestions = {}
      local top = busiest(s, 3)
      if #top > 0 then
        suggestions[#suggestions + 1] = "Busiest now: " .. fmt.list(top)
          .. ". Confirm over time with `pidstat 1` or `top`."
      elseif busy and busy >= 50 then
        suggestions[#suggestions + 1] = string.format("The CPUs are %s busy but no lasting "
          .. "process stands out: look for many short-lived ones (a build, scripts started in a "
          .. "loop) with `pidstat 1` or `execsnoop`.", fmt.pct(busy))
      end
      if load5 and load15 then
        local trend_text = string.format("1/5/15 min: %s / %s / %s", fmt.num(load1, 2),
          fmt.num(load5, 2), fmt.num(load15, 2))
        if load1 > load5 and load5 > load15 then
          suggestions[#suggestions + 1] = "The load is rising (" .. trend_text .. "): look at "
            .. "what started in the last minutes (`journalctl --since -15min`, cron jobs, "
            .. "deployments)."
        elseif load1 < load5 and load5 < load15 then
          suggestions[#suggestions + 1] = "The load is falling (" .. trend_text .. "): a burst "
            .. "that is passing; watch that it keeps falling."
        elseif load15 / ncpu > LOAD_PER_CPU then
          suggestions[#suggestions + 1] = "The load has been this high for 15 minutes or more ("
            .. trend_text .. "): not a passing burst."
        else
          suggestions[#suggestions + 1] = "The load came up within the last 15 minutes ("
            .. trend_text .. "): look at what started then (`journalctl --since -15min`, cron "
            .. "jobs, deployments)."
        end
      end
      if io_bound then
        suggestions[#suggestions + 1] = "Tasks blocked on I/O count in the load: see the "
          .. "iowait finding, or list them with `ps -eo pid,stat,wchan:32,comm | awk '$2 ~ /D/'`."
      end
      suggestions[#suggestions + 1] = "If this level is normal for the workload it needs more "
        .. "CPUs; otherwise limit concurrency (worker counts, parallel jobs) or lower the "
        .. "priority of batch work (`nice`, systemd CPUWeight=)."
      return {
        bottleneck = text,
        severity = ratio >= 4 and "high" or ratio >= 2.5 and "medium" or "low",
        evidence = {
          load1 = load1,
          load5 = load5,
          load15 = load15,
          ncpu = ncpu,
          load_per_cpu = ratio,
          running = running,
          blocked = blocked,
          run_queue = pick.num(s, "processes", "run_queue"),
          busy_pct = busy,
          iowait_pct = iowait,
        },
        suggestions = suggestions,
      }
    end,
  },

  {
    name = "cpu_steal",
    category = "cpu",
    description = "A virtual machine loses more than 10 % of its CPU time to other guests",
    check = function(s)
      local steal = pick.num(s, "cpu", "steal_pct")
      if not steal or steal <= STEAL_PCT then
        return nil
      end
      local worst_core, worst = nil, nil
      for i, c in ipairs(pick.list(s, "cores")) do
        local v = pick.num(c, "steal_pct")
        if v and (not worst or v > worst) then
          worst_core, worst = i - 1, v
        end
      end
      return {
        bottleneck = string.format("The hypervisor takes %s of this machine's CPU time for "
          .. "other guests (steal)", fmt.pct(steal)),
        severity = steal >= 30 and "high" or steal >= 20 and "medium" or "low",
        evidence = {
          steal_pct = steal,
          busy_pct = pick.num(s, "cpu", "busy_pct"),
          ncpu = pick.num(s, "ncpu"),
          worst_core = worst_core,
          worst_core_steal_pct = worst,
        },
        suggestions = {
          string.format("Confirm over time with `mpstat -P ALL 1` (%%steal) or `vmstat 1` (st "
            .. "column); %s is stolen now.", fmt.pct(steal)),
          "On a burstable instance (AWS T-class, Azure B-series, ...) check the CPU credit "
            .. "balance; otherwise ask the provider, move to a less crowded host, or to a "
            .. "dedicated or larger instance type.",
          "Until then expect slower responses that no tuning inside this machine fixes: "
            .. "don't size the applications against figures distorted by steal.",
        },
      }
    end,
  },
}
