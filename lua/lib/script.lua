-- script.lua: the frame every generated fix script shares, so each template
-- only writes what is particular to its issue.
--
-- Bash scripts take --dry-run: every state-changing command goes through
-- run(), which only prints it in that mode. PowerShell scripts are
-- advanced scripts: -WhatIf works through $PSCmdlet.ShouldProcess.
-- Both refuse to act without admin rights when the template says they need
-- them, and say so plainly. koto never runs these scripts itself.
--
-- Request values reach a template already quoted as one literal word of the
-- dialect. Use them only as such a word: assign them to a variable once
-- (`name=` .. p.name in Bash, `$name = ` .. p.name in PowerShell) and use the
-- variable, never paste them into another string, a comment or a heading.
local script = {}

-- A whole number written as code: integer parameters arrive as numbers.
function script.int(n)
  return string.format("%d", n)
end

-- A script body under construction: `local b, add = script.body()`; then
-- add(line, ...) appends lines, and a table argument appends its lines.
function script.body()
  local b = {}
  local function add(...)
    for _, l in ipairs({ ... }) do
      if type(l) == "table" then
        for _, x in ipairs(l) do
          b[#b + 1] = x
        end
      else
        b[#b + 1] = l
      end
    end
  end
  return b, add
end

local function lines(body)
  if type(body) == "table" then
    return table.concat(body, "\n")
  end
  return body
end

-- A description goes into a comment: one line, no control characters and
-- nothing that would end PowerShell's comment block.
local function one_line(s)
  if type(s) ~= "string" or s == "" or s:find("%c") or s:find("#>", 1, true) then
    error("a script description must be one line of text without control characters or '#>'", 3)
  end
  return s
end

-- Helpers a Bash body may call; the frame defines those the body (or another
-- included helper) names, and only those, so no script carries dead code.
--   fail MESSAGE...        prints MESSAGE to stderr and exits 1
--   section TITLE...       prints a heading
--   first N                the first N lines of stdin; reads all of it, so the
--                          writer never dies of SIGPIPE under pipefail
--   alive PID              whether PID runs (a zombie has exited already)
--   stop_process PID GRACE FORCE
--                          sends TERM (through run); if PID still runs after
--                          GRACE seconds, KILL when FORCE is 1, else says so
--                          and returns 1
local bash_helpers = {
  { name = "fail", lines = {
    "fail() {",
    "  printf '%s\\n' \"$*\" >&2",
    "  exit 1",
    "}",
  } },
  { name = "section", lines = {
    "section() {",
    "  printf '\\n== %s ==\\n' \"$*\"",
    "}",
  } },
  { name = "first", lines = {
    "first() {",
    "  awk -v n=\"$1\" 'NR <= n'",
    "}",
  } },
  { name = "alive", lines = {
    "alive() {",
    "  local state",
    '  state=$(ps -o stat= -p "$1" 2>/dev/null) || return 1',
    '  case "${state//[[:space:]]/}" in',
    "    '' | Z*) return 1 ;;",
    "  esac",
    "}",
  } },
  { name = "stop_process", lines = {
    "stop_process() {",
    "  local target=$1 grace=$2 force=$3 waited=0",
    '  if ! run kill -TERM -- "$target"; then',
    '    echo "PID $target: cannot signal it (gone already, or not yours)" >&2',
    "    return 1",
    "  fi",
    '  if [ "$DRY_RUN" -eq 1 ]; then',
    '    if [ "$force" -eq 1 ]; then',
    '      echo "  then, if PID $target still runs after ${grace}s:"',
    '      run kill -KILL -- "$target"',
    "    fi",
    "    return 0",
    "  fi",
    '  while alive "$target" && [ "$waited" -lt "$((grace * 10))" ]; do',
    "    sleep 0.1",
    "    waited=$((waited + 1))",
    "  done",
    '  if ! alive "$target"; then',
    '    echo "PID $target stopped."',
    "    return 0",
    "  fi",
    '  if [ "$force" -ne 1 ]; then',
    '    echo "PID $target still runs ${grace}s after TERM; generate the script with force = true to KILL it." >&2',
    "    return 1",
    "  fi",
    '  run kill -KILL -- "$target" || true',
    "  sleep 0.5",
    '  if alive "$target"; then',
    '    echo "PID $target still runs after KILL (stuck in the kernel? see: ps -o stat= -p $target)" >&2',
    "    return 1",
    "  fi",
    '  echo "PID $target killed."',
    "}",
  } },
}

local function calls(text, name)
  return text:find("%f[%w_]" .. name .. "%f[^%w_]") ~= nil
end

-- The helper definitions text calls, with the helpers they call in turn.
local function bash_helpers_for(text)
  local out, seen = {}, ""
  repeat
    local added = false
    for _, h in ipairs(bash_helpers) do
      if not seen:find("<" .. h.name .. ">", 1, true) and calls(text, h.name) then
        seen = seen .. "<" .. h.name .. ">"
        text = text .. "\n" .. table.concat(h.lines, "\n")
        added = true
      end
    end
  until not added
  for _, h in ipairs(bash_helpers) do
    if seen:find("<" .. h.name .. ">", 1, true) then
      out[#out + 1] = table.concat(h.lines, "\n")
      out[#out + 1] = ""
    end
  end
  return out
end

-- script.bash{ description = "...", admin = true, body = { "line", ... } }
-- Besides run(), the helpers above that the body calls.
function script.bash(t)
  local out = {
    "#!/usr/bin/env bash",
    "# " .. one_line(t.description),
    "# Generated by koto. Read it before running it; --dry-run only prints what it would do.",
  }
  local body = lines(t.body)
  -- shellcheck takes the typographic quotes U+2018..U+201F for typing
  -- mistakes (SC1112); inside a value, quoted by koto, they are what was asked for.
  if body:find("\226\128[\152-\159]") then
    out[#out + 1] = "# shellcheck disable=SC1112 # typographic quotes below belong to a value, quoted as one word"
  end
  local rest = {
    "set -euo pipefail",
    "",
    "DRY_RUN=0",
    'for arg in "$@"; do',
    '  case "$arg" in',
    "    --dry-run) DRY_RUN=1 ;;",
    '    -h | --help) echo "usage: $0 [--dry-run]"; exit 0 ;;',
    '    *) echo "unknown option: $arg (try --help)" >&2; exit 2 ;;',
    "  esac",
    "done",
    "",
    "# run CMD...: runs CMD, or in --dry-run mode prints it and runs nothing.",
    "run() {",
    '  if [ "$DRY_RUN" -eq 1 ]; then',
    '    printf "would run:"',
    "    printf ' %q' \"$@\"",
    "    printf '\\n'",
    "  else",
    '    "$@"',
    "  fi",
    "}",
    "",
  }
  for _, l in ipairs(rest) do
    out[#out + 1] = l
  end
  if t.admin then
    out[#out + 1] = 'if [ "$DRY_RUN" -eq 0 ] && [ "$(id -u)" -ne 0 ]; then'
    out[#out + 1] = '  echo "this script needs root: run it with sudo (or try --dry-run first)" >&2'
    out[#out + 1] = "  exit 1"
    out[#out + 1] = "fi"
    out[#out + 1] = ""
  end
  for _, l in ipairs(bash_helpers_for(body)) do
    out[#out + 1] = l
  end
  out[#out + 1] = body
  return table.concat(out, "\n") .. "\n"
end

-- script.powershell{ description = "...", admin = true, body = { "line", ... } }
-- Besides ShouldProcess, the frame defines Write-Section TITLE (a heading).
function script.powershell(t)
  local out = {
    "<#",
    ".SYNOPSIS",
    "  " .. one_line(t.description),
    ".NOTES",
    "  Generated by koto. Read it before running it; -WhatIf only prints what it would do.",
    "#>",
    "[CmdletBinding(SupportsShouldProcess = $true)]",
    "param()",
    "Set-StrictMode -Version Latest",
    "$ErrorActionPreference = 'Stop'",
    "",
    "function Write-Section {",
    "    param([string]$Title)",
    "    Write-Output ''",
    "    Write-Output ('== ' + $Title + ' ==')",
    "}",
    "",
  }
  if t.admin then
    out[#out + 1] = "$identity = [Security.Principal.WindowsIdentity]::GetCurrent()"
    out[#out + 1] = "$principal = New-Object Security.Principal.WindowsPrincipal($identity)"
    out[#out + 1] = "if (-not $WhatIfPreference -and -not $principal.IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)) {"
    out[#out + 1] = "    Write-Error 'This script needs an elevated PowerShell (Run as Administrator); try -WhatIf first.'"
    out[#out + 1] = "    exit 1"
    out[#out + 1] = "}"
    out[#out + 1] = ""
  end
  out[#out + 1] = lines(t.body)
  -- Windows line endings: PowerShell copes either way, Notepad does not.
  -- The UTF-8 byte order mark is not decoration: without it Windows
  -- PowerShell 5.1 reads the file as ANSI (cp1252), where the UTF-8
  -- continuation bytes 0x82, 0x91 and 0x92 are the quotes U+201A, U+2018 and
  -- U+2019 that it takes as single quotes, so a quoted value holding, say,
  -- U+0451 (bytes D1 91) would end its literal early.
  return "\u{FEFF}" .. (table.concat(out, "\n"):gsub("\r?\n", "\r\n")) .. "\r\n"
end

-- PowerShell lines for templates that stop processes (splice into body).
-- They act on $targets (System.Diagnostics.Process objects), $grace
-- (seconds) and $force (bool), set $failed, and exit 1 when one still runs.
-- With renice = true they lower the priority instead of stopping.
-- Windows has no TERM: a process is asked to close its main window; one
-- without a window, or still running after $grace seconds, is ended with
-- Stop-Process -Force only when $force is set.
function script.powershell_stop_lines(opts)
  if opts and opts.renice then
    return {
      "foreach ($target in $targets) {",
      "    $label = '{0} (PID {1})' -f $target.ProcessName, $target.Id",
      "    if ($PSCmdlet.ShouldProcess($label, 'Lower its priority to BelowNormal')) {",
      "        $target.PriorityClass = [System.Diagnostics.ProcessPriorityClass]::BelowNormal",
      "        Write-Output ($label + ' now runs at BelowNormal priority.')",
      "    }",
      "}",
    }
  end
  return {
    "$failed = $false",
    "foreach ($target in $targets) {",
    "    $label = '{0} (PID {1})' -f $target.ProcessName, $target.Id",
    "    $asked = $false",
    "    if ($target.MainWindowHandle -ne [IntPtr]::Zero -and $PSCmdlet.ShouldProcess($label, 'Ask it to close its window (CloseMainWindow)')) {",
    "        [void]$target.CloseMainWindow()",
    "        $asked = $true",
    "        if ($target.WaitForExit($grace * 1000)) {",
    "            Write-Output ($label + ' closed.')",
    "            continue",
    "        }",
    "    }",
    "    if ($WhatIfPreference) {",
    "        if ($force) {",
    "            [void]$PSCmdlet.ShouldProcess($label, ('Stop-Process -Force, if it still runs after {0} s' -f $grace))",
    "        }",
    "        continue",
    "    }",
    "    if (-not $force) {",
    "        if ($asked) { $why = 'still runs {0} s after being asked to close' -f $grace } else { $why = 'has no window to close' }",
    "        Write-Warning ('{0} {1}; generate the script with force = true to end it (Stop-Process -Force).' -f $label, $why)",
    "        $failed = $true",
    "        continue",
    "    }",
    "    if ($PSCmdlet.ShouldProcess($label, 'Stop-Process -Force')) {",
    "        try {",
    "            Stop-Process -Id $target.Id -Force",
    "        } catch {",
    "            Write-Warning ('{0}: {1}' -f $label, $_.Exception.Message)",
    "        }",
    "        if ($target.WaitForExit(5000)) {",
    "            Write-Output ($label + ' ended.')",
    "        } else {",
    "            Write-Warning ($label + ' still runs.')",
    "            $failed = $true",
    "        }",
    "    }",
    "}",
    "if ($failed) { exit 1 }",
  }
end

return script
