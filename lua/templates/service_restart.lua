-- service_restart.lua: restart one service and check that it came back.
--
-- Linux: systemctl when the machine runs systemd, else the `service`
-- wrapper; afterwards waits up to `wait_seconds` for the unit to be active
-- and shows its status (and how to read its log when it is not).
-- Windows: Restart-Service, then waits for Running.
--
-- Parameters arrive already quoted for the dialect: strings are used only as
-- the right-hand side of one assignment, numbers as code.

local description = "Restart one service (systemctl / Restart-Service) and check that it is running again."

local int = script.int

local function bash(p)
  return script.bash({
    description = description,
    admin = true,
    body = {
      "service=" .. p.service_name,
      "wait_seconds=" .. int(p.wait_seconds),
      "",
      "# systemd is running when /run/systemd/system exists (sd_booted(3)).",
      "if [ ! -d /run/systemd/system ]; then",
      "  command -v service >/dev/null 2>&1 || fail \"neither systemd nor the service command is here; restart $service by hand.\"",
      '  section "Restarting $service (no systemd: through the service command)"',
      '  run service "$service" restart',
      '  if [ "$DRY_RUN" -eq 0 ]; then',
      '    service "$service" status || fail "$service does not report itself running after the restart."',
      "  fi",
      "  exit 0",
      "fi",
      "",
      'if ! systemctl cat -- "$service" >/dev/null 2>&1; then',
      '  fail "there is no service unit $service (systemctl list-units --type=service lists them)."',
      "fi",
      'section "Before"',
      'systemctl status --no-pager --lines=5 -- "$service" || true',
      "",
      'section "Restarting $service"',
      'run systemctl restart -- "$service"',
      'if [ "$DRY_RUN" -eq 1 ]; then',
      '  echo "(then waits up to ${wait_seconds}s for it to be active)"',
      "  exit 0",
      "fi",
      "waited=0",
      'until systemctl is-active --quiet -- "$service"; do',
      '  if [ "$waited" -ge "$((wait_seconds * 2))" ]; then',
      '    systemctl status --no-pager --lines=20 -- "$service" || true',
      '    fail "$service is not active ${wait_seconds}s after the restart; its log: journalctl -u $service"',
      "  fi",
      "  sleep 0.5",
      "  waited=$((waited + 1))",
      "done",
      'section "After"',
      'systemctl status --no-pager --lines=5 -- "$service" || true',
      'echo "$service is active."',
    },
  })
end

local function powershell(p)
  return script.powershell({
    description = description,
    admin = true,
    body = {
      "$serviceName = " .. p.service_name,
      "$waitSeconds = " .. int(p.wait_seconds),
      "",
      "# -eq compares exactly; Get-Service -Name would take wildcards.",
      "$service = @(Get-Service | Where-Object { $_.Name -eq $serviceName -or $_.DisplayName -eq $serviceName }) | Select-Object -First 1",
      "if (-not $service) {",
      "    Write-Warning ('there is no service {0} (Get-Service lists them).' -f $serviceName)",
      "    exit 1",
      "}",
      "Write-Section 'Before'",
      "$service | Format-List -Property 'Name', 'DisplayName', 'Status', 'StartType' | Out-String -Width 200",
      "",
      "Write-Section ('Restarting {0}' -f $service.Name)",
      "if ($PSCmdlet.ShouldProcess($service.Name, 'Restart-Service')) {",
      "    Restart-Service -InputObject $service -Force",
      "    try {",
      "        $service.WaitForStatus([System.ServiceProcess.ServiceControllerStatus]::Running, [TimeSpan]::FromSeconds($waitSeconds))",
      "    } catch {",
      "        $service.Refresh()",
      "        Write-Warning ('{0} is {1}, not Running, {2} s after the restart; see the System event log.' -f $service.Name, $service.Status, $waitSeconds)",
      "        exit 1",
      "    }",
      "    $service.Refresh()",
      "    Write-Section 'After'",
      "    $service | Format-List -Property 'Name', 'DisplayName', 'Status', 'StartType' | Out-String -Width 200",
      "}",
    },
  })
end

return {
  description = description,
  admin = true,
  params = {
    { name = "service_name", type = "string", required = true, max_len = 128,
      pattern = "^[%w_][%w%.@_:\\%-]*$",
      description = "the service: a systemd unit (nginx, nginx.service, getty@tty1) or a Windows service name (Spooler)" },
    { name = "wait_seconds", type = "integer", min = 1, max = 300, default = 15,
      description = "how long to wait for the service to be running again" },
  },
  bash = bash,
  powershell = powershell,
}
