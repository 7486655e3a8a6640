-- pressure.lua: tasks starved of I/O, from pressure stall information
-- (Linux 4.20+; a reading without it makes the rule say nothing).
--
-- Busy % of a disk says the device was working; PSI says the work waited
-- for it: "processes waited 23 % of the last minute for I/O" is the symptom
-- users feel, whatever the disks' figures. (Memory's stalls are judged
-- with the rest of memory in memory.lua's memory_pressure.)

local STALL_PCT = 10           -- PSI io "some avg60" from which tasks are starved
local STALL_HIGH_PCT = 40      -- ... and from which it is severe
local STALL_FULL_HIGH_PCT = 10 -- or when all tasks stalled at once this long

return {
  {
    name = "io_pressure",
    category = "disk",
    description = "Processes spend a large share of their time waiting for I/O",
    check = function(s)
      local stall = pick.num(s, "pressure", "io", "some_avg60_pct")
      if not stall or stall < STALL_PCT then
        return nil
      end
      local full = pick.num(s, "pressure", "io", "full_avg60_pct")
      local all = ""
      if full and full > 0 then
        all = string.format(" (all of them at once %s)", fmt.pct(full))
      end
      local disk, busy = pick.max(pick.list(s, "disks"), "busy_pct")
      local where = ""
      if disk and busy then
        where = string.format("; the busiest disk, %s, was busy %s of the interval",
          pick.str(disk, "name") or "?", fmt.pct(busy))
      end
      local busiest = {}
      for i, p in ipairs(pick.list(s, "processes", "top_cpu")) do
        if i > 3 then
          break
        end
        busiest[#busiest + 1] = fmt.proc(p)
      end
      local suggestions = {}
      if #busiest > 0 then
        suggestions[#suggestions + 1] = "The busiest processes now: " .. fmt.list(busiest)
          .. ". See which of them does the I/O with `pidstat -d 5` or `iotop -o`."
      end
      suggestions[#suggestions + 1] = "Per device, `iostat -x 5` shows whether the disk is "
        .. "saturated (aqu-sz, %util) or slow (r_await, w_await)."
      suggestions[#suggestions + 1] = "For good: move the heavy writer to its own disk, cap it "
        .. "(`systemctl set-property UNIT IOWeight=... IOWriteBandwidthMax=...`), or add "
        .. "memory if it is swap or page cache misses that read."
      return {
        bottleneck = string.format("Processes waited %s of the last minute for I/O%s%s",
          fmt.pct(stall), all, where),
        severity = (stall >= STALL_HIGH_PCT or (full and full >= STALL_FULL_HIGH_PCT))
          and "high" or "medium",
        evidence = {
          pressure_some_avg10_pct = pick.num(s, "pressure", "io", "some_avg10_pct"),
          pressure_some_avg60_pct = stall,
          pressure_full_avg60_pct = full,
          disk = disk and pick.str(disk, "name") or nil,
          disk_busy_pct = busy,
        },
        suggestions = suggestions,
      }
    end,
  },
}
