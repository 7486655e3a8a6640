-- disk_full.lua: what fills a filesystem, and the usual safe ways to free it.
--
-- Report (always, changes nothing): usage of the filesystem holding `path`,
-- its biggest directories and files (this filesystem only).
-- Clean (each step through run / ShouldProcess, each one switchable):
--   clean_temp       files older than `days` in /tmp and /var/tmp
--                    (Windows: %TEMP% and %SystemRoot%\Temp)
--   vacuum_journal   (Linux) shrink the systemd journal to journal_max_mb
--   empty_recycle_bin (Windows) empty the recycle bin of path's drive
--   clean_dir        also delete files older than `days` in this directory;
--                    never a top-level or system directory
--
-- Parameters arrive already quoted for the dialect: strings are used only as
-- the right-hand side of one assignment, numbers and booleans as code.

local description = "Show what fills a filesystem (usage, biggest directories and files) and free "
  .. "space: old temporary files, the systemd journal or recycle bin, optionally one more directory."

local int = script.int

local function bash(p)
  local b, add = script.body()
  add(p.path and ("target_path=" .. p.path) or "target_path=/")
  add("top=" .. int(p.top))
  if p.clean_temp or p.clean_dir then
    add("days=" .. int(p.days), "minutes=$((days * 1440))")
  end
  if p.clean_dir then
    add("clean_dir=" .. p.clean_dir)
  end
  if p.vacuum_journal then
    add("journal_max_mb=" .. int(p.journal_max_mb))
  end
  add(
    "",
    'case "$target_path" in',
    "  /*) ;;",
    '  *) fail "path must be an absolute path: $target_path" ;;',
    "esac",
    '[ -e "$target_path" ] || fail "no such path: $target_path"',
    "",
    'section "Usage of the filesystem holding $target_path"',
    'df -h -- "$target_path"',
    'df -i -- "$target_path" || true',
    "",
    'section "Biggest directories under $target_path (this filesystem only)"',
    'du -xh --max-depth=2 -- "$target_path" 2>/dev/null | sort -rh | first "$top" || true',
    "",
    'section "Biggest files under $target_path (this filesystem only)"',
    "find \"$target_path\" -xdev -type f -printf '%s\\t%p\\n' 2>/dev/null | sort -rn | first \"$top\" |",
    "  numfmt --field=1 --to=iec --suffix=B --invalid=ignore || true"
  )
  if p.clean_temp then
    add(
      "",
      'section "Temporary files older than $days days"',
      "for dir in /tmp /var/tmp; do",
      '  [ -d "$dir" ] || continue',
      "  read -r count bytes < <(find \"$dir\" -xdev -type f -mmin +\"$minutes\" -printf '%s\\n' 2>/dev/null |",
      "    awk '{ s += $1 } END { print NR, s + 0 }')",
      '  echo "$dir: $count files, $(numfmt --to=iec --suffix=B "$bytes")"',
      '  if [ "$count" -gt 0 ]; then',
      '    run find "$dir" -xdev -type f -mmin +"$minutes" -delete',
      "  fi",
      "done"
    )
  end
  if p.vacuum_journal then
    add(
      "",
      'section "systemd journal"',
      "if command -v journalctl >/dev/null 2>&1; then",
      "  journalctl --disk-usage || true",
      '  run journalctl --vacuum-size="${journal_max_mb}M"',
      "else",
      '  echo "journalctl not found; skipped."',
      "fi"
    )
  end
  if p.clean_dir then
    add(
      "",
      'section "Files older than $days days in $clean_dir"',
      'case "$clean_dir" in',
      "  /*) ;;",
      '  *) fail "clean_dir must be an absolute path: $clean_dir" ;;',
      "esac",
      '[ -d "$clean_dir" ] || fail "clean_dir is not a directory: $clean_dir"',
      "# The physical directory; the trailing dot keeps a name that ends in a newline intact.",
      'real_dir=$(cd -P -- "$clean_dir" && pwd -P && echo .) || fail "cannot enter clean_dir: $clean_dir"',
      "real_dir=${real_dir%$'\\n.'}",
      'case "$real_dir" in',
      "  / | /bin | /bin/* | /boot | /boot/* | /dev | /dev/* | /etc | /etc/* | /lib* | /proc | /proc/* | \\",
      "  /run | /run/* | /sbin | /sbin/* | /sys | /sys/* | /usr | /usr/*)",
      '    fail "refusing to delete files in $real_dir: a system directory" ;;',
      "  /*/*) ;;",
      '  *) fail "refusing to delete files in $real_dir: a top-level directory" ;;',
      "esac",
      "read -r count bytes < <(find \"$real_dir\" -xdev -type f -mmin +\"$minutes\" -printf '%s\\n' 2>/dev/null |",
      "  awk '{ s += $1 } END { print NR, s + 0 }')",
      'echo "$count files, $(numfmt --to=iec --suffix=B "$bytes")"',
      'if [ "$count" -gt 0 ]; then',
      '  run find "$real_dir" -xdev -type f -mmin +"$minutes" -delete',
      "fi"
    )
  end
  if p.clean_temp or p.vacuum_journal or p.clean_dir then
    add(
      'if [ "$DRY_RUN" -eq 0 ]; then',
      '  section "Usage now"',
      '  df -h -- "$target_path"',
      "fi"
    )
  end
  return script.bash({ description = description, admin = true, body = b })
end

-- PowerShell: the sum of Length over files, 0 for none (StrictMode-safe).
local ps_sum = {
  "function Get-Bytes {",
  "    param([object[]]$Files)",
  "    $measure = $Files | Measure-Object -Property Length -Sum",
  "    if ($measure -and $measure.Sum) { return [double]$measure.Sum }",
  "    return [double]0",
  "}",
  "",
}

local function powershell(p)
  local b, add = script.body()
  add(ps_sum)
  add(p.path and ("$path = " .. p.path) or "$path = $env:SystemDrive + '\\'")
  add("$top = " .. int(p.top))
  if p.clean_temp or p.clean_dir then
    add("$days = " .. int(p.days), "$cutoff = (Get-Date).AddDays(-$days)")
  end
  if p.clean_dir then
    add("$cleanDir = " .. p.clean_dir)
  end
  add(
    "",
    "if (-not (Test-Path -LiteralPath $path)) {",
    "    Write-Warning ('no such path: {0}' -f $path)",
    "    exit 1",
    "}",
    "$full = (Resolve-Path -LiteralPath $path).ProviderPath",
    "$root = [System.IO.Path]::GetPathRoot($full)",
    "",
    "Write-Section ('Usage of {0}' -f $root)",
    "$drive = New-Object System.IO.DriveInfo($root)",
    "Write-Output ('{0} {1:N1} GiB free of {2:N1} GiB ({3:N0}% used)' -f $drive.Name, ($drive.AvailableFreeSpace / 1GB), ($drive.TotalSize / 1GB), (100 * ($drive.TotalSize - $drive.TotalFreeSpace) / $drive.TotalSize))",
    "",
    "Write-Section ('Biggest directories under {0}' -f $full)",
    "Get-ChildItem -LiteralPath $full -Directory -Force -ErrorAction SilentlyContinue | ForEach-Object {",
    "    $bytes = Get-Bytes @(Get-ChildItem -LiteralPath $_.FullName -Recurse -File -Force -ErrorAction SilentlyContinue)",
    "    [pscustomobject]@{ SizeGB = [math]::Round($bytes / 1GB, 2); Path = $_.FullName }",
    "} | Sort-Object -Property SizeGB -Descending | Select-Object -First $top | Format-Table -AutoSize | Out-String -Width 300",
    "",
    "Write-Section ('Biggest files under {0}' -f $full)",
    "Get-ChildItem -LiteralPath $full -Recurse -File -Force -ErrorAction SilentlyContinue | Sort-Object -Property Length -Descending | Select-Object -First $top -Property @{ Name = 'SizeMB'; Expression = { [math]::Round($_.Length / 1MB, 1) } }, 'FullName' | Format-Table -AutoSize | Out-String -Width 300"
  )
  if p.clean_temp then
    add(
      "",
      "Write-Section ('Temporary files older than {0} days' -f $days)",
      "foreach ($dir in @($env:TEMP, (Join-Path -Path $env:SystemRoot -ChildPath 'Temp'))) {",
      "    if (-not $dir -or -not (Test-Path -LiteralPath $dir -PathType Container)) { continue }",
      "    $old = @(Get-ChildItem -LiteralPath $dir -Recurse -File -Force -ErrorAction SilentlyContinue | Where-Object { $_.LastWriteTime -lt $cutoff })",
      "    Write-Output ('{0}: {1} files, {2:N1} MiB' -f $dir, $old.Count, ((Get-Bytes $old) / 1MB))",
      "    if ($old.Count -gt 0 -and $PSCmdlet.ShouldProcess($dir, ('Delete {0} files older than {1} days' -f $old.Count, $days))) {",
      "        $old | Remove-Item -Force -ErrorAction SilentlyContinue",
      "    }",
      "}"
    )
  end
  if p.empty_recycle_bin then
    add(
      "",
      "Write-Section 'Recycle bin'",
      "if ($root -match '^[A-Za-z]:') {",
      "    if ($PSCmdlet.ShouldProcess(('recycle bin of {0}' -f $root), 'Clear-RecycleBin')) {",
      "        Clear-RecycleBin -DriveLetter ($root.Substring(0, 1)) -Force",
      "    }",
      "} else {",
      "    Write-Output ('{0} is not a drive letter; recycle bin skipped.' -f $root)",
      "}"
    )
  end
  if p.clean_dir then
    add(
      "",
      "Write-Section ('Files older than {0} days in {1}' -f $days, $cleanDir)",
      "if (-not (Test-Path -LiteralPath $cleanDir -PathType Container)) {",
      "    Write-Warning ('clean_dir is not a directory: {0}' -f $cleanDir)",
      "    exit 1",
      "}",
      "$cleanFull = (Resolve-Path -LiteralPath $cleanDir).ProviderPath.TrimEnd('\\')",
      "$cleanRoot = [System.IO.Path]::GetPathRoot($cleanFull)",
      "$depth = @($cleanFull.Substring([math]::Min($cleanRoot.Length, $cleanFull.Length)).Split('\\') | Where-Object { $_ }).Count",
      "if ($depth -lt 2) {",
      "    Write-Warning ('refusing to delete files in {0}: a top-level directory' -f $cleanFull)",
      "    exit 1",
      "}",
      "foreach ($system in @($env:SystemRoot, $env:ProgramFiles, ${env:ProgramFiles(x86)}, $env:ProgramData)) {",
      "    if ($system -and ($cleanFull + '\\').StartsWith($system.TrimEnd('\\') + '\\', [StringComparison]::OrdinalIgnoreCase)) {",
      "        Write-Warning ('refusing to delete files in {0}: a system directory' -f $cleanFull)",
      "        exit 1",
      "    }",
      "}",
      "$old = @(Get-ChildItem -LiteralPath $cleanFull -Recurse -File -Force -ErrorAction SilentlyContinue | Where-Object { $_.LastWriteTime -lt $cutoff })",
      "Write-Output ('{0} files, {1:N1} MiB' -f $old.Count, ((Get-Bytes $old) / 1MB))",
      "if ($old.Count -gt 0 -and $PSCmdlet.ShouldProcess($cleanFull, ('Delete {0} files older than {1} days' -f $old.Count, $days))) {",
      "    $old | Remove-Item -Force -ErrorAction SilentlyContinue",
      "}"
    )
  end
  return script.powershell({ description = description, admin = true, body = b })
end

return {
  description = description,
  admin = true,
  params = {
    { name = "path", type = "string", max_len = 1024,
      description = "where to look: a path on the full filesystem (default / on Linux, the system drive on Windows)" },
    { name = "top", type = "integer", min = 1, max = 100, default = 10,
      description = "how many of the biggest directories and files to show" },
    { name = "days", type = "integer", min = 1, max = 3650, default = 7,
      description = "delete only files not modified for this many days" },
    { name = "clean_temp", type = "boolean", default = true,
      description = "delete old files in the temporary directories (/tmp, /var/tmp; Windows %TEMP%, %SystemRoot%\\Temp)" },
    { name = "vacuum_journal", type = "boolean", default = true,
      description = "(Linux) shrink the systemd journal to journal_max_mb" },
    { name = "journal_max_mb", type = "integer", min = 16, max = 1048576, default = 500,
      description = "(Linux) the journal's size after vacuuming, in MiB" },
    { name = "empty_recycle_bin", type = "boolean", default = false,
      description = "(Windows) empty the recycle bin of path's drive" },
    { name = "clean_dir", type = "string", max_len = 1024,
      description = "also delete files older than days in this directory (absolute; never a top-level or system directory)" },
  },
  bash = bash,
  powershell = powershell,
}
