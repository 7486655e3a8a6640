-- process_memory_high.lua: one process holds too much memory: show it, then
-- stop it.
--
-- The process is named by `pid`; `process_name`, when given, must match what
-- that pid runs, so a pid reused by another program since the event is left
-- alone. Stopping is polite first (TERM; on Windows a request to close the
-- main window) and forceful (KILL / Stop-Process -Force) only after
-- `grace_seconds` and only when `force` is true.
--
-- Parameters arrive already quoted for the dialect: strings are used only as
-- the right-hand side of one assignment, numbers and booleans as code.

local description = "Show one process that holds too much memory, then stop it: politely first, "
  .. "forcefully only when asked."

local int = script.int

local function bash(p)
  local b, add = script.body()
  add(
    "pid=" .. int(p.pid),
    "grace=" .. int(p.grace_seconds),
    "force=" .. (p.force and "1" or "0")
  )
  if p.process_name then
    add("expected_name=" .. p.process_name)
  end
  local rest = {
    "",
    'if [ "$pid" -eq 1 ] || [ "$pid" -eq "$$" ]; then',
    '  fail "refusing to stop PID $pid (init, or this script)"',
    "fi",
    'if ! alive "$pid"; then',
    '  echo "no process with PID $pid (it may have exited already); nothing to do."',
    "  exit 0",
    "fi",
  }
  add(rest)
  if p.process_name then
    rest = {
      'actual_name=$(ps -o comm= -p "$pid" || true)',
      'if [ "$actual_name" != "${expected_name:0:15}" ]; then',
      '  fail "PID $pid runs $actual_name, not the process_name asked for; refusing (the pid may have been reused)."',
      "fi",
    }
    add(rest)
  end
  rest = {
    "",
    'section "Process $pid"',
    'ps -o pid,ppid,user,rss,vsz,pmem,pcpu,etime,comm -p "$pid" || true',
    'grep -E \'^(VmPeak|VmRSS|RssAnon|RssFile|RssShmem|VmSwap|Threads):\' "/proc/$pid/status" 2>/dev/null || true',
    'section "Memory"',
    "free -h",
    "",
    'section "Stopping it"',
    'stop_process "$pid" "$grace" "$force"',
  }
  add(rest)
  return script.bash({ description = description, admin = true, body = b })
end

local function powershell(p)
  local b, add = script.body()
  add(
    "$targetPid = " .. int(p.pid),
    "$grace = " .. int(p.grace_seconds),
    "$force = " .. (p.force and "$true" or "$false")
  )
  if p.process_name then
    add("$expectedName = " .. p.process_name)
  end
  local rest = {
    "",
    "if ($targetPid -eq $PID) {",
    "    Write-Warning ('refusing to stop PID {0}: it is this script' -f $targetPid)",
    "    exit 1",
    "}",
    "$targets = @(Get-Process -Id $targetPid -ErrorAction SilentlyContinue)",
    "if ($targets.Count -eq 0) {",
    "    Write-Output ('no process with PID {0} (it may have exited already); nothing to do.' -f $targetPid)",
    "    exit 0",
    "}",
  }
  add(rest)
  if p.process_name then
    rest = {
      "$expectedName = $expectedName -replace '\\.exe$', ''",
      "if ($targets[0].ProcessName -ne $expectedName) {",
      "    Write-Warning ('PID {0} runs {1}, not the process_name asked for; refusing (the pid may have been reused).' -f $targetPid, $targets[0].ProcessName)",
      "    exit 1",
      "}",
    }
    add(rest)
  end
  rest = {
    "",
    "Write-Section ('Process {0}' -f $targetPid)",
    "$targets | Select-Object -Property 'Id', 'ProcessName', 'StartTime', @{ Name = 'WorkingSetMB'; Expression = { [math]::Round($_.WorkingSet64 / 1MB) } }, @{ Name = 'PrivateMB'; Expression = { [math]::Round($_.PrivateMemorySize64 / 1MB) } }, @{ Name = 'PeakWorkingSetMB'; Expression = { [math]::Round($_.PeakWorkingSet64 / 1MB) } } | Format-List | Out-String -Width 200",
    "",
    "Write-Section 'Stopping it'",
  }
  add(rest)
  add(script.powershell_stop_lines())
  return script.powershell({ description = description, admin = true, body = b })
end

return {
  description = description,
  admin = true,
  params = {
    { name = "pid", type = "integer", min = 1, max = 4194304, required = true,
      description = "the process to stop" },
    { name = "process_name", type = "string", max_len = 64, pattern = "^[%w%._%-%+ ]+$",
      description = "what that pid must run (as ps or Get-Process shows it; .exe optional); refuses otherwise" },
    { name = "grace_seconds", type = "integer", min = 1, max = 300, default = 10,
      description = "how long the process gets to stop after being asked, before force applies" },
    { name = "force", type = "boolean", default = false,
      description = "KILL (Windows: Stop-Process -Force) it if it still runs after grace_seconds" },
  },
  bash = bash,
  powershell = powershell,
}
