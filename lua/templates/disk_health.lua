-- disk_health.lua: disk space and the disks' own health reports.
--
-- Linux: df for `path` (space and inodes) and every local filesystem, the
-- disks (lsblk), SMART health and attributes through smartctl when it is
-- installed (every disk smartctl --scan finds, or `device`), and the
-- kernel's recent disk errors. Windows: the drive of `path`, volumes,
-- Get-PhysicalDisk and Get-StorageReliabilityCounter.
-- It changes nothing unless `self_test` is true: then smartctl starts a
-- short self-test inside each disk (Windows: Repair-Volume -Scan, an online
-- check of path's volume), through run / ShouldProcess.
--
-- Parameters arrive already quoted for the dialect: strings are used only as
-- the right-hand side of one assignment, booleans as code.

local description = "Check disk space and disk health: df and SMART status through smartctl "
  .. "(Windows: Get-PhysicalDisk and reliability counters); a self-test only when asked."

local function bash(p)
  local b, add = script.body()
  add(p.path and ("target_path=" .. p.path) or "target_path=/")
  if p.device then
    add("device=" .. p.device)
  end
  add(
    "",
    'case "$target_path" in',
    "  /*) ;;",
    '  *) fail "path must be an absolute path: $target_path" ;;',
    "esac",
    '[ -e "$target_path" ] || fail "no such path: $target_path"',
    "",
    'section "Space on the filesystem holding $target_path"',
    'df -h -- "$target_path"',
    'df -i -- "$target_path" || true',
    'section "Every local filesystem"',
    "df -h -x tmpfs -x devtmpfs -x squashfs -x overlay 2>/dev/null || true",
    "",
    'section "Disks"',
    "if command -v lsblk >/dev/null 2>&1; then",
    "  lsblk -d -o NAME,SIZE,TYPE,ROTA,MODEL,STATE 2>/dev/null || true",
    "fi",
    "",
    'section "SMART"',
    "if command -v smartctl >/dev/null 2>&1; then",
    "  devices=()"
  )
  if p.device then
    add(
      '  [ -b "$device" ] || fail "not a block device: $device"',
      '  devices=("$device")'
    )
  else
    add(
      "  # One line per disk: DEVICE -d TYPE # comment.",
      "  while read -r dev _ dtype _; do",
      '    if [ -n "$dev" ]; then',
      '      devices+=("$dev" "$dtype")',
      "    fi",
      "  done < <(smartctl --scan 2>/dev/null | grep '^/dev/' || true)"
    )
  end
  if p.device then
    add(
      '  for dev in "${devices[@]}"; do',
      '    echo "-- $dev"',
      '    smartctl -H -i -A -- "$dev" || echo "smartctl exit status $? for $dev (its bits: man smartctl, EXIT STATUS)"'
    )
    if p.self_test then
      add('    run smartctl -t short -- "$dev"')
    end
    add("  done")
  else
    add(
      '  if [ "${#devices[@]}" -eq 0 ]; then',
      '    echo "smartctl --scan found no disk (a virtual machine, or disks behind a RAID controller)."',
      "  fi",
      "  set -- \"${devices[@]}\"",
      '  while [ "$#" -ge 2 ]; do',
      '    echo "-- $1 ($2)"',
      '    smartctl -H -i -A -d "$2" -- "$1" || echo "smartctl exit status $? for $1 (its bits: man smartctl, EXIT STATUS)"'
    )
    if p.self_test then
      add('    run smartctl -t short -d "$2" -- "$1"')
    end
    add("    shift 2", "  done")
  end
  add(
    "else",
    '  echo "smartctl is not installed (Debian/Ubuntu: apt install smartmontools); SMART status skipped."',
    "fi",
    "",
    'section "Recent disk errors in the kernel log"',
    "dmesg 2>/dev/null | grep -iE 'I/O error|medium error|critical target error|ata[0-9.]+: .*(error|failed)|nvme.*(timeout|error)' | tail -n 20 ||",
    '  echo "none found (or the kernel log is not readable)."'
  )
  if p.self_test then
    add(
      'if [ "$DRY_RUN" -eq 0 ]; then',
      '  echo "Short self-tests take about two minutes; read the results with: smartctl -l selftest DEVICE"',
      "fi"
    )
  end
  return script.bash({ description = description, admin = true, body = b })
end

local function powershell(p)
  local b, add = script.body()
  add(p.path and ("$path = " .. p.path) or "$path = $env:SystemDrive + '\\'")
  if p.device then
    add("$device = " .. p.device)
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
    "Write-Section ('Space on {0}' -f $root)",
    "$drive = New-Object System.IO.DriveInfo($root)",
    "Write-Output ('{0} {1:N1} GiB free of {2:N1} GiB ({3:N0}% used), {4}' -f $drive.Name, ($drive.AvailableFreeSpace / 1GB), ($drive.TotalSize / 1GB), (100 * ($drive.TotalSize - $drive.TotalFreeSpace) / $drive.TotalSize), $drive.DriveFormat)",
    "Write-Section 'Volumes'",
    "Get-Volume | Where-Object { $_.DriveLetter } | Sort-Object -Property DriveLetter | Format-Table -AutoSize -Property 'DriveLetter', 'FileSystemLabel', 'FileSystem', 'HealthStatus', 'OperationalStatus', @{ Name = 'SizeGB'; Expression = { [math]::Round($_.Size / 1GB, 1) } }, @{ Name = 'FreeGB'; Expression = { [math]::Round($_.SizeRemaining / 1GB, 1) } } | Out-String -Width 200",
    "",
    "Write-Section 'Physical disks'",
    "$disks = @(Get-PhysicalDisk | Sort-Object -Property DeviceId)"
  )
  if p.device then
    add(
      "# A disk number as Get-PhysicalDisk shows it in DeviceId.",
      "$disks = @($disks | Where-Object { [string]$_.DeviceId -eq $device })",
      "if ($disks.Count -eq 0) {",
      "    Write-Warning ('no physical disk with DeviceId {0} (Get-PhysicalDisk lists them).' -f $device)",
      "    exit 1",
      "}"
    )
  end
  add(
    "$disks | Format-Table -AutoSize -Property 'DeviceId', 'FriendlyName', 'MediaType', 'BusType', 'HealthStatus', 'OperationalStatus', @{ Name = 'SizeGB'; Expression = { [math]::Round($_.Size / 1GB, 1) } } | Out-String -Width 200",
    "foreach ($disk in $disks) {",
    "    Write-Section ('Reliability counters of disk {0} ({1})' -f $disk.DeviceId, $disk.FriendlyName)",
    "    try {",
    "        $disk | Get-StorageReliabilityCounter | Format-List -Property 'Temperature', 'TemperatureMax', 'Wear', 'PowerOnHours', 'ReadErrorsTotal', 'ReadErrorsUncorrected', 'WriteErrorsTotal', 'WriteErrorsUncorrected' | Out-String -Width 200",
    "    } catch {",
    "        Write-Output ('not available: {0}' -f $_.Exception.Message)",
    "    }",
    "    if ($disk.HealthStatus -ne 'Healthy') {",
    "        Write-Warning ('disk {0} ({1}) reports {2}: back up its data and plan its replacement.' -f $disk.DeviceId, $disk.FriendlyName, $disk.HealthStatus)",
    "    }",
    "}"
  )
  if p.self_test then
    add(
      "",
      "Write-Section 'Volume scan'",
      "if ($root -match '^[A-Za-z]:') {",
      "    if ($PSCmdlet.ShouldProcess($root, 'Repair-Volume -Scan (online check, repairs nothing)')) {",
      "        Repair-Volume -DriveLetter ($root.Substring(0, 1)) -Scan",
      "    }",
      "} else {",
      "    Write-Output ('{0} is not a drive letter; scan skipped.' -f $root)",
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
      description = "a path whose filesystem to report (default / on Linux, the system drive on Windows)" },
    { name = "device", type = "string", max_len = 64, pattern = "^[%w/][%w/%._%-]*$",
      description = "check only this disk: a device such as /dev/sda on Linux, a disk number (DeviceId) on Windows" },
    { name = "self_test", type = "boolean", default = false,
      description = "start a short SMART self-test on each disk (Windows: Repair-Volume -Scan of path's volume)" },
  },
  bash = bash,
  powershell = powershell,
}
