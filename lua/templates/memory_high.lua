-- memory_high.lua: where the memory went, and (only when asked) give back
-- cache memory.
--
-- The script shows overall use, swap and the top memory users; it changes
-- nothing unless `drop_caches` is true: then Linux drops the page cache
-- (sync; vm.drop_caches=1) and Windows trims the working sets of the top
-- processes. Neither frees memory a program holds: both only move the cost
-- to later reads, which is why they are off by default. To stop one
-- process, use the process_memory_high template.

local description = "Show where memory went (overall, swap, top users); drop the page cache "
  .. "(Windows: trim working sets) only when drop_caches is true."

local int = script.int

local function bash(p)
  local b = {
    "top=" .. int(p.top),
    "",
    'section "Memory"',
    "free -h",
    "grep -E '^(MemTotal|MemAvailable|Cached|Dirty|Shmem|SwapTotal|SwapFree):' /proc/meminfo || true",
    'section "Swap devices"',
    "if command -v swapon >/dev/null 2>&1; then",
    "  swapon --show || true",
    "fi",
    'section "Top $top processes by resident memory (RSS, KiB)"',
    'ps -eo pid,user,rss,pmem,etime,comm --sort=-rss | first "$((top + 1))"',
  }
  if p.drop_caches then
    b[#b + 1] = 'section "Dropping the page cache"'
    b[#b + 1] = 'echo "Cached file data is given back; the kernel reads it again when it is needed."'
    b[#b + 1] = "run sync"
    b[#b + 1] = "run sysctl -w vm.drop_caches=1"
    b[#b + 1] = 'if [ "$DRY_RUN" -eq 0 ]; then'
    b[#b + 1] = '  section "Memory after"'
    b[#b + 1] = "  free -h"
    b[#b + 1] = "fi"
  else
    b[#b + 1] = ""
    b[#b + 1] = 'echo "Nothing was changed. To stop one of these processes, generate process_memory_high;"'
    b[#b + 1] = 'echo "to drop the page cache, generate this script with drop_caches = true."'
  end
  -- Reading is harmless; root is needed only to drop the cache.
  return script.bash({ description = description, admin = p.drop_caches, body = b })
end

local function powershell(p)
  local b = {
    "$top = " .. int(p.top),
    "",
    "Write-Section 'Memory'",
    "$os = Get-CimInstance -ClassName Win32_OperatingSystem",
    "$totalGiB = $os.TotalVisibleMemorySize / 1MB",
    "$freeGiB = $os.FreePhysicalMemory / 1MB",
    "Write-Output ('{0:N1} GiB of {1:N1} GiB in use ({2:N0}%), {3:N1} GiB free' -f ($totalGiB - $freeGiB), $totalGiB, (100 * ($totalGiB - $freeGiB) / $totalGiB), $freeGiB)",
    "Write-Output ('Commit: {0:N1} GiB of {1:N1} GiB' -f (($os.TotalVirtualMemorySize - $os.FreeVirtualMemory) / 1MB), ($os.TotalVirtualMemorySize / 1MB))",
    "",
    "Write-Section ('Top {0} processes by working set' -f $top)",
    "$procs = @(Get-Process | Sort-Object -Property WorkingSet64 -Descending | Select-Object -First $top)",
    "$procs | Select-Object -Property 'Id', 'ProcessName', @{ Name = 'WorkingSetMB'; Expression = { [math]::Round($_.WorkingSet64 / 1MB) } }, @{ Name = 'PrivateMB'; Expression = { [math]::Round($_.PrivateMemorySize64 / 1MB) } } | Format-Table -AutoSize | Out-String -Width 200",
  }
  if p.drop_caches then
    local add = {
      "Write-Section 'Trimming working sets'",
      "Write-Output 'Pages leave the working sets; they come back from memory or disk when used again.'",
      "if (-not ('Koto.Psapi' -as [type])) {",
      "    Add-Type -Namespace Koto -Name Psapi -MemberDefinition '[DllImport(\"psapi.dll\")] public static extern bool EmptyWorkingSet(IntPtr hProcess);'",
      "}",
      "foreach ($target in $procs) {",
      "    $label = '{0} (PID {1})' -f $target.ProcessName, $target.Id",
      "    if ($PSCmdlet.ShouldProcess($label, 'Trim its working set (EmptyWorkingSet)')) {",
      "        try {",
      "            [void][Koto.Psapi]::EmptyWorkingSet($target.Handle)",
      "        } catch {",
      "            Write-Warning ('{0}: {1}' -f $label, $_.Exception.Message)",
      "        }",
      "    }",
      "}",
    }
    for _, l in ipairs(add) do
      b[#b + 1] = l
    end
  else
    b[#b + 1] = "Write-Output 'Nothing was changed. To stop one of these processes, generate process_memory_high;'"
    b[#b + 1] = "Write-Output 'to trim their working sets, generate this script with drop_caches = true.'"
  end
  return script.powershell({ description = description, admin = p.drop_caches, body = b })
end

return {
  description = description,
  -- Only drop_caches needs it; the script asks for it only then.
  admin = true,
  params = {
    { name = "top", type = "integer", min = 1, max = 50, default = 10,
      description = "how many of the biggest memory users to show" },
    { name = "drop_caches", type = "boolean", default = false,
      description = "Linux: sync and drop the page cache (vm.drop_caches=1); Windows: trim the "
        .. "working sets of the top processes. Needs root / Administrator." },
  },
  bash = bash,
  powershell = powershell,
}
