-- The browser test's own analysis rule (in its kotod's --lua-dir): one finding
-- from the fixture's 92 % CPU, so the page has a finding to stream in.
return {
  {
    name = "browser_test_cpu",
    category = "cpu",
    description = "CPU busier than 85 %, and who is busiest",
    check = function(s)
      local busy = s.cpu.busy_pct
      if busy == nil or busy <= 85 then
        return nil
      end
      local top = s.processes.top_cpu[1]
      return {
        bottleneck = "CPU saturated",
        severity = "high",
        evidence = { busy_pct = busy, busiest = top and top.name or "?" },
        suggestions = { "Look at what " .. (top and top.name or "the busiest process") .. " is doing" },
      }
    end,
  },
}
