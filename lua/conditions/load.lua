-- The run queue per CPU: a load of 2 on a 1-CPU machine is a backlog, on a
-- 16-CPU machine it is idle. Judged on the 5-minute load so a burst does not
-- page anyone.
return {
  name = "load_high",
  value = function(r)
    local load = r.load and r.load["5"]
    if not load or not r.ncpu or r.ncpu == 0 then return nil end -- unknown: no verdict
    return load / r.ncpu
  end,
  above = 2, clear_below = 1.5, hold = 5,
  severity = { low = 2, medium = 3, high = 4 },
  message = "load {value:.2f} per CPU (threshold {threshold})",
}
