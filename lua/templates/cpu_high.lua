-- cpu_high.lua: find the processes using the most CPU and stop them, or
-- lower their priority.
--
-- Which processes: the one `pid` when given (with `process_name` as a check
-- that the pid still is that program), else every process named
-- `process_name`, else the `top` busiest ones above `min_cpu_percent`.
-- Stopping is polite first (TERM; on Windows a request to close the main
-- window) and forceful (KILL / Stop-Process -Force) only after
-- `grace_seconds` and only when `force` is true. `renice` lowers the
-- priority instead of stopping anything.
--
-- Parameters arrive already quoted for the dialect: strings are used only as
-- the right-hand side of one assignment, numbers and booleans as code.

local description = "Stop the processes using the most CPU: one pid, every process of a name, "
  .. "or the busiest ones; politely first, forcefully only when asked, or lower their priority."

local int = script.int

local function bash(p)
  local b, add = script.body()
  if not p.renice then
    add("grace=" .. int(p.grace_seconds), "force=" .. (p.force and "1" or "0"), "")
  end
  add(
    'section "Load"',
    "uptime",
    'section "Busiest processes"',
    "ps -eo pid,user,pcpu,pmem,etime,comm --sort=-pcpu | first 11",
    "",
    "targets=()"
  )
  if p.pid then
    add("pid=" .. int(p.pid))
    if p.process_name then
      add("expected_name=" .. p.process_name)
    end
    add(
      'if [ "$pid" -eq 1 ] || [ "$pid" -eq "$$" ]; then',
      '  fail "refusing to stop PID $pid (init, or this script)"',
      "fi",
      'if ! alive "$pid"; then',
      '  echo "no process with PID $pid (it may have exited already); nothing to do."',
      "  exit 0",
      "fi"
    )
    if p.process_name then
      add(
        'actual_name=$(ps -o comm= -p "$pid" || true)',
        'if [ "$actual_name" != "${expected_name:0:15}" ]; then',
        '  fail "PID $pid runs $actual_name, not the process_name asked for; refusing (the pid may have been reused)."',
        "fi"
      )
    end
    add('targets=("$pid")')
  elseif p.process_name then
    add(
      "name=" .. p.process_name,
      "# ps shows the first 15 bytes of a process name, as the kernel keeps them.",
      "while read -r tpid tcomm; do",
      '  if [ "$tcomm" = "${name:0:15}" ] && [ "$tpid" -ne 1 ] && [ "$tpid" -ne "$$" ]; then',
      '    targets+=("$tpid")',
      "  fi",
      "done < <(ps -eo pid=,comm=)",
      'if [ "${#targets[@]}" -eq 0 ]; then',
      '  echo "no process named $name runs; nothing to do."',
      "  exit 0",
      "fi"
    )
  else
    add(
      "top=" .. int(p.top),
      "min_cpu=" .. int(p.min_cpu_percent),
      "# The busiest processes by ps's %CPU (CPU time over lifetime), never PID 1,",
      "# kernel threads (children of PID 2), this script or its parent.",
      "while read -r tpid; do",
      '  targets+=("$tpid")',
      "done < <(ps -eo pid=,ppid=,pcpu= --sort=-pcpu |",
      '  awk -v n="$top" -v min="$min_cpu" -v self="$$" -v parent="$PPID" \\',
      "    '$1 > 2 && $2 != 2 && $1 != self && $1 != parent && $3 >= min { print $1; if (++k >= n) exit }')",
      'if [ "${#targets[@]}" -eq 0 ]; then',
      '  echo "no process uses ${min_cpu}% CPU or more; nothing to do."',
      "  exit 0",
      "fi"
    )
  end
  add(
    'section "Selected"',
    'ps -o pid,ppid,user,pcpu,pmem,etime,comm -p "$(IFS=,; echo "${targets[*]}")" || true'
  )
  if p.renice then
    add(
      'section "Lowering their priority (nice 10)"',
      'for target in "${targets[@]}"; do',
      '  run renice -n 10 -p "$target"',
      "done"
    )
  else
    add(
      'section "Stopping them"',
      "status=0",
      'for target in "${targets[@]}"; do',
      '  stop_process "$target" "$grace" "$force" || status=1',
      "done",
      'exit "$status"'
    )
  end
  return script.bash({ description = description, admin = true, body = b })
end

local function powershell(p)
  local b, add = script.body()
  if not p.renice then
    add("$grace = " .. int(p.grace_seconds), "$force = " .. (p.force and "$true" or "$false"), "")
  end
  add(
    "Write-Section 'Busiest processes (CPU seconds since start)'",
    "Get-Process | Sort-Object -Property CPU -Descending | Select-Object -First 10 -Property 'Id', 'ProcessName', 'CPU', @{ Name = 'WorkingSetMB'; Expression = { [math]::Round($_.WorkingSet64 / 1MB) } } | Format-Table -AutoSize | Out-String -Width 200",
    ""
  )
  if p.pid then
    add("$targetPid = " .. int(p.pid))
    if p.process_name then
      add("$expectedName = " .. p.process_name)
    end
    add(
      "if ($targetPid -eq $PID) {",
      "    Write-Warning ('refusing to stop PID {0}: it is this script' -f $targetPid)",
      "    exit 1",
      "}",
      "$targets = @(Get-Process -Id $targetPid -ErrorAction SilentlyContinue)",
      "if ($targets.Count -eq 0) {",
      "    Write-Output ('no process with PID {0} (it may have exited already); nothing to do.' -f $targetPid)",
      "    exit 0",
      "}"
    )
    if p.process_name then
      add(
        "$expectedName = $expectedName -replace '\\.exe$', ''",
        "if ($targets[0].ProcessName -ne $expectedName) {",
        "    Write-Warning ('PID {0} runs {1}, not the process_name asked for; refusing (the pid may have been reused).' -f $targetPid, $targets[0].ProcessName)",
        "    exit 1",
        "}"
      )
    end
  elseif p.process_name then
    add(
      "$processName = " .. p.process_name,
      "# Windows shows names without .exe; -eq compares exactly (no wildcards).",
      "$processName = $processName -replace '\\.exe$', ''",
      "$targets = @(Get-Process | Where-Object { $_.ProcessName -eq $processName -and $_.Id -ne $PID })",
      "if ($targets.Count -eq 0) {",
      "    Write-Output ('no process named {0} runs; nothing to do.' -f $processName)",
      "    exit 0",
      "}"
    )
  else
    add(
      "$top = " .. int(p.top),
      "$minCpu = " .. int(p.min_cpu_percent),
      "# Current CPU use from the performance counters, as a share of all cores;",
      "# never Idle (0), System (4) or this script.",
      "$cores = [Environment]::ProcessorCount",
      "$busy = @(Get-CimInstance -ClassName Win32_PerfFormattedData_PerfProc_Process |",
      "    Where-Object { $_.IDProcess -gt 4 -and $_.IDProcess -ne $PID -and ($_.PercentProcessorTime / $cores) -ge $minCpu } |",
      "    Sort-Object -Property PercentProcessorTime -Descending |",
      "    Select-Object -First $top)",
      "$targets = @(foreach ($entry in $busy) { Get-Process -Id $entry.IDProcess -ErrorAction SilentlyContinue })",
      "if ($targets.Count -eq 0) {",
      "    Write-Output ('no process uses {0}% CPU or more; nothing to do.' -f $minCpu)",
      "    exit 0",
      "}"
    )
  end
  add(
    "Write-Section 'Selected'",
    "$targets | Select-Object -Property 'Id', 'ProcessName', 'CPU', @{ Name = 'WorkingSetMB'; Expression = { [math]::Round($_.WorkingSet64 / 1MB) } } | Format-Table -AutoSize | Out-String -Width 200"
  )
  if p.renice then
    add("Write-Section 'Lowering their priority'")
  else
    add("Write-Section 'Stopping them'")
  end
  add(script.powershell_stop_lines({ renice = p.renice }))
  return script.powershell({ description = description, admin = true, body = b })
end

return {
  description = description,
  admin = true,
  params = {
    { name = "pid", type = "integer", min = 1, max = 4194304,
      description = "the process to act on; when given, process_name only checks that it is that program" },
    { name = "process_name", type = "string", max_len = 64, pattern = "^[%w%._%-%+ ]+$",
      description = "act on every process of this name (as ps or Get-Process shows it; .exe optional)" },
    { name = "top", type = "integer", min = 1, max = 20, default = 1,
      description = "without pid or process_name: how many of the busiest processes to act on" },
    { name = "min_cpu_percent", type = "integer", min = 0, max = 100, default = 25,
      description = "without pid or process_name: leave alone processes using less CPU than this" },
    { name = "grace_seconds", type = "integer", min = 1, max = 300, default = 10,
      description = "how long a process gets to stop after being asked, before force applies" },
    { name = "force", type = "boolean", default = false,
      description = "KILL (Windows: Stop-Process -Force) what still runs after grace_seconds" },
    { name = "renice", type = "boolean", default = false,
      description = "lower the priority (nice 10, Windows BelowNormal) instead of stopping" },
  },
  bash = bash,
  powershell = powershell,
}
