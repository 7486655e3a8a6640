-- memory.lua: running out of memory.
--
-- Reads s.memory, the top memory list, and the history's swap_pct; a value
-- that is unknown (nil) makes the rule say nothing rather than guess.
--
-- It also fires on pressure stall information alone (Linux 4.20+): when
-- tasks waited for memory a tenth of the last minute or more, the machine is
-- starved whatever its used % says (reclaim thrashing the page cache, a
-- cgroup at its limit), and "processes waited 23 % of the last minute for
-- memory" says so better than any ratio.
--
-- Memory is short past the configured memory threshold
-- (settings.thresholds.memory, koto.conf.lua's thresholds.memory: 90 % by
-- default), the one the memory_high events use, so the analysis and the
-- events agree on what "short" is; switched off there, it is off here too.

local SWAP_GROWTH_PCT = 1    -- swap use rising by at least this many points ...
local SWAP_WINDOW_HOURS = 1  -- ... over the last hour of history counts as swapping
local HEAVY_PAGES_PS = 1000  -- swap in + out (4 KiB pages) per second that is "high"
local STALL_PCT = 10         -- PSI memory "some avg60" from which tasks are starved
local STALL_HIGH_PCT = 40    -- ... and from which it is severe (or "full" past 10 %)
local STALL_FULL_HIGH_PCT = 10

return {
  {
    name = "memory_pressure",
    category = "memory",
    description = "Memory is nearly all used and the system is swapping",
    check = function(s, history, settings)
      local limit = settings.thresholds.memory
      local used = pick.num(s, "memory", "used_pct")
      local total = pick.num(s, "memory", "total_bytes")
      local avail = pick.num(s, "memory", "available_bytes")
      -- kotod's used_pct is (total - available) / total; a reading that lacks
      -- it but has both parts is judged the same way.
      local used_now = used
      if not used_now and avail and total and total > 0 then
        used_now = (1 - avail / total) * 100
      end
      local stall = pick.num(s, "pressure", "memory", "some_avg60_pct")
      local stall_full = pick.num(s, "pressure", "memory", "full_avg60_pct")
      local stalled = stall and stall >= STALL_PCT
      local short = limit.enabled and used_now and used_now > limit.threshold
      if not short and not stalled then
        return nil
      end
      local si = pick.num(s, "memory", "swap_in_pages_ps")
      local so = pick.num(s, "memory", "swap_out_pages_ps")
      local rate = (si or 0) + (so or 0)
      local fit = trend.fit(trend.recent(history, SWAP_WINDOW_HOURS), "swap_pct")
      local growth = fit and fit.slope * fit.span_hours
      local growing = growth and growth >= SWAP_GROWTH_PCT
      if rate <= 0 and not growing and not stalled then
        return nil
      end

      local how = {}
      if stalled then
        local all = ""
        if stall_full and stall_full > 0 then
          all = string.format(" (all of them at once %s)", fmt.pct(stall_full))
        end
        how[#how + 1] = string.format("processes waited %s of the last minute for memory%s",
          fmt.pct(stall), all)
      end
      if rate > 0 then
        how[#how + 1] = string.format("the system is swapping (%s pages/s in, %s out)",
          fmt.num(si or 0, 0), fmt.num(so or 0, 0))
      end
      if growing then
        local span = (fmt.duration(fit.span_hours):gsub("^about ", ""))
        how[#how + 1] = string.format("swap use grew from %s to %s in the last %s",
          fmt.pct(fit.last - growth), fmt.pct(fit.last), span)
      end
      local state = used and (fmt.pct(used) .. " used") or (fmt.bytes(avail) .. " available")
      if used and avail and total then
        state = string.format("%s used, %s available of %s", fmt.pct(used), fmt.bytes(avail),
          fmt.bytes(total))
      end

      local biggest = {}
      for i, p in ipairs(pick.list(s, "processes", "top_memory")) do
        if i > 3 then
          break
        end
        if pick.num(p, "rss_bytes") then
          biggest[#biggest + 1] = fmt.proc(p) .. " " .. fmt.bytes(p.rss_bytes)
        end
      end
      local suggestions = {}
      if #biggest > 0 then
        suggestions[#suggestions + 1] = "The largest processes: " .. fmt.list(biggest)
          .. ". Restart or cap the one that grew (`systemctl set-property UNIT MemoryMax=...`)."
      end
      suggestions[#suggestions + 1] = "Watch it live with `vmstat 1` (si/so columns) and see "
        .. "what sits in swap: `grep VmSwap /proc/[0-9]*/status | sort -k2 -n | tail`."
      suggestions[#suggestions + 1] = "For good: add memory or shrink the workload and the "
        .. "caches it is configured for; lowering vm.swappiness only changes what gets "
        .. "evicted, not the shortage."

      local top = pick.list(s, "processes", "top_memory")[1]
      local severe = rate >= HEAVY_PAGES_PS or (used and used >= 97)
        or (stall and stall >= STALL_HIGH_PCT) or (stall_full and stall_full >= STALL_FULL_HIGH_PCT)
      return {
        bottleneck = string.format("Memory is %s (%s): %s", short and "short" or "under pressure",
          state, fmt.list(how)),
        severity = severe and "high" or "medium",
        evidence = {
          used_pct = used,
          available_bytes = avail,
          total_bytes = total,
          swap_used_pct = pick.num(s, "memory", "swap_used_pct"),
          swap_used_bytes = pick.num(s, "memory", "swap_used_bytes"),
          swap_in_pages_ps = si,
          swap_out_pages_ps = so,
          swap_growth_pct = growth,
          pressure_some_avg60_pct = stall,
          pressure_full_avg60_pct = stall_full,
          top_process = top and fmt.proc(top) or nil,
          top_process_rss_bytes = top and pick.num(top, "rss_bytes") or nil,
        },
        suggestions = suggestions,
      }
    end,
  },
}
