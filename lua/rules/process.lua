-- process.lua: single processes that hurt the machine.
--
-- Every rule reads only s.processes (the top lists and the counts),
-- s.cpu, s.ncpu and s.memory; a value that is unknown (nil) makes the rule
-- say nothing rather than guess.
--
-- One process's share of memory is what the process_memory_high events
-- judge, so process_memory_hog uses their configured threshold
-- (settings.thresholds.process_memory: 50 % by default). The runaway figures
-- have no setting: thresholds.cpu judges the whole machine, not one process.

local RUNAWAY_CORE_PCT = 90  -- % of one core the busiest process must exceed
local RUNAWAY_SHARE_PCT = 50 -- % of all the CPU time in use it must account for

-- Kernel threads are children of kthreadd (pid 2): no signal stops them.
local function kernel_thread(p)
  return p.pid == 2 or p.ppid == 2
end

local function cmdline(p)
  local c = pick.str(p, "cmdline")
  if c and #c > 200 then
    c = c:sub(1, 200) .. "..."
  end
  return c
end

return {
  {
    name = "runaway_process",
    category = "process",
    description = "One process uses more than 90 % of a core and most of the CPU time in use",
    check = function(s)
      local top = pick.list(s, "processes", "top_cpu")[1]
      local cpu, pid = pick.num(top, "cpu_pct"), pick.num(top, "pid")
      local busy = pick.num(s, "cpu", "busy_pct")
      local ncpu = pick.num(s, "ncpu")
      if not cpu or cpu <= RUNAWAY_CORE_PCT or not pid or not busy or not ncpu or ncpu < 1 then
        return nil
      end
      pid = math.floor(pid)
      -- All the CPU time in use, in the unit of a process's cpu_pct (% of one core).
      local in_use = busy * ncpu
      local share = in_use > 0 and math.min(cpu / in_use * 100, 100) or 100
      if share < RUNAWAY_SHARE_PCT then
        return nil
      end
      local who = fmt.proc(top)
      local suggestions
      if kernel_thread(top) then
        suggestions = {
          who .. " is a kernel thread: it cannot be killed or reniced. Look for what drives it: "
            .. "interrupts (`watch -d cat /proc/interrupts`), heavy I/O (`iostat -x 1`), or "
            .. "`perf top` system-wide.",
        }
      else
        suggestions = {
          string.format("See what %s is doing: `top -H -p %d` for its threads, then "
            .. "`perf top -p %d` or `strace -c -f -p %d` (Ctrl-C after a few seconds) for "
            .. "where the time goes.", who, pid, pid, pid),
          string.format("If it is stuck in a loop, restart it through its service manager "
            .. "(`systemctl status %d` names the unit) or stop it: `kill %d`, and `kill -9 %d` "
            .. "only if it ignores that.", pid, pid, pid),
          string.format("If the work is legitimate, lower its priority so others get their "
            .. "share: `renice -n 10 -p %d`, or cap it with `systemctl set-property UNIT "
            .. "CPUQuota=50%%`.", pid),
        }
      end
      return {
        bottleneck = string.format("%s uses %s of a core, %s of all CPU time in use "
          .. "(CPUs %s busy)", who, fmt.pct(cpu), fmt.pct(share), fmt.pct(busy)),
        severity = (busy >= 90 or ncpu == 1) and "high" or "medium",
        evidence = {
          pid = pid,
          name = top.name,
          cmdline = cmdline(top),
          cpu_pct = cpu,
          share_of_busy_pct = share,
          busy_pct = busy,
          ncpu = ncpu,
        },
        suggestions = suggestions,
      }
    end,
  },

  {
    name = "process_memory_hog",
    category = "process",
    description = "One process holds more of the machine's memory than its threshold (half "
      .. "by default)",
    check = function(s, history, settings)
      local limit = settings.thresholds.process_memory
      local total = pick.num(s, "memory", "total_bytes")
      local top = pick.list(s, "processes", "top_memory")[1]
      local rss, pid = pick.num(top, "rss_bytes"), pick.num(top, "pid")
      if not total or total <= 0 or not rss or not pid then
        return nil
      end
      pid = math.floor(pid)
      local pct = rss / total * 100
      if not limit.enabled or pct <= limit.threshold then
        return nil
      end
      local used = pick.num(s, "memory", "used_pct")
      local who = fmt.proc(top)
      return {
        bottleneck = string.format("%s holds %s of memory (%s of %s)", who, fmt.pct(pct),
          fmt.bytes(rss), fmt.bytes(total)),
        severity = (pct > 80 or (used and used > 90)) and "high" or "medium",
        evidence = {
          pid = pid,
          name = top.name,
          cmdline = cmdline(top),
          rss_bytes = rss,
          rss_pct = pct,
          total_bytes = total,
          memory_used_pct = used,
        },
        suggestions = {
          string.format("Check whether %s keeps growing (a leak) or holds a steady cache: "
            .. "`pidstat -r -p %d 60`, or `ps -o pid,rss,etime,args -p %d` a few times.", who,
            pid, pid),
          "If it is sized that way on purpose (database buffers, a JVM heap), make sure the "
            .. "size is set deliberately in its configuration and leaves room for the rest of "
            .. "the system and the page cache.",
          string.format("Cap it so a leak hits its own limit rather than the whole machine: "
            .. "`systemctl set-property UNIT MemoryMax=...` (`systemctl status %d` names the "
            .. "unit); restarting it reclaims what a leak took.", pid),
        },
      }
    end,
  },

  {
    name = "zombie_processes",
    category = "process",
    description = "Exited processes their parent has not reaped",
    check = function(s)
      local count = pick.num(s, "processes", "zombie")
      if not count or count <= 0 then
        return nil
      end
      count = math.floor(count)
      -- The top lists rarely hold a zombie (they use no CPU or memory), but
      -- when one does, its parent is the one to act on.
      local parents, seen = {}, {}
      for _, list in ipairs({ "top_cpu", "top_memory" }) do
        for _, p in ipairs(pick.list(s, "processes", list)) do
          local pid, ppid = pick.num(p, "pid"), pick.num(p, "ppid")
          if p.state == "Z" and pid and ppid and not seen[pid] then
            seen[pid] = true
            parents[#parents + 1] =
              { pid = math.floor(pid), ppid = math.floor(ppid), name = p.name }
          end
        end
      end
      local suggestions = {
        "List them with their parents: `ps -eo pid,ppid,stat,etime,comm | awk '$3 ~ /^Z/'` "
          .. "(the PPID column is the process to act on).",
      }
      for _, z in ipairs(parents) do
        suggestions[#suggestions + 1] = string.format("%s is a zombie of parent pid %d: "
          .. "`ps -o pid,args -p %d` shows the parent; `kill -s CHLD %d` asks it to reap.",
          fmt.proc(z), z.ppid, z.ppid, z.ppid)
      end
      suggestions[#suggestions + 1] = "A zombie cannot be killed; its parent must reap it. "
        .. "Send the parent SIGCHLD (`kill -s CHLD PPID`); if that does nothing, restart the "
        .. "parent: once it exits, init adopts its zombies and reaps them."
      suggestions[#suggestions + 1] = "Zombies that keep coming back point to a bug in the "
        .. "parent program (it does not wait() for its children): report it to its authors."
      local parent_pids = {}
      for _, z in ipairs(parents) do
        parent_pids[#parent_pids + 1] = z.ppid
      end
      return {
        bottleneck = string.format("%d zombie (defunct) process%s waiting for %s parent to "
          .. "reap %s", count, count == 1 and " is" or "es are", count == 1 and "its" or "their",
          count == 1 and "it" or "them"),
        severity = count >= 200 and "high" or count >= 20 and "medium" or "low",
        evidence = {
          zombie = count,
          total = pick.num(s, "processes", "total"),
          parent_pids = #parent_pids > 0 and parent_pids or nil,
        },
        suggestions = suggestions,
      }
    end,
  },
}
