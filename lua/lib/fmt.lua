-- fmt.lua: numbers as an administrator reads them in a finding:
-- "1.5 GiB", "92.5 %", "about 5 hours", "nginx (pid 1234)".
-- Every function takes nil (an unknown value) and answers "?".
local fmt = {}

local units = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" }

-- fmt.bytes(1610612736) -> "1.5 GiB"
function fmt.bytes(n)
  if type(n) ~= "number" then
    return "?"
  end
  local v, i = n, 1
  while math.abs(v) >= 1024 and i < #units do
    v = v / 1024
    i = i + 1
  end
  if i == 1 then
    return string.format("%d B", math.floor(n))
  end
  if math.abs(v) >= 100 then
    return string.format("%.0f %s", v, units[i])
  end
  return string.format("%.1f %s", v, units[i])
end

-- fmt.num(2.50) -> "2.5", fmt.num(3.0) -> "3": at most `digits` decimals (1).
function fmt.num(x, digits)
  if type(x) ~= "number" then
    return "?"
  end
  local s = string.format("%." .. (digits or 1) .. "f", x)
  if s:find("%.") then
    s = s:gsub("0+$", ""):gsub("%.$", "")
  end
  if s == "-0" then
    s = "0"
  end
  return s
end

-- fmt.pct(42) -> "42 %", fmt.pct(85.34) -> "85.3 %": one decimal unless it is whole,
-- so a value just past a threshold never reads as the threshold itself.
function fmt.pct(x)
  if type(x) ~= "number" then
    return "?"
  end
  return fmt.num(x, 1) .. " %"
end

-- fmt.duration(hours) -> "about 40 minutes", "about 5 hours", "about 3 days".
function fmt.duration(hours)
  if type(hours) ~= "number" or hours ~= hours then
    return "?"
  end
  local function n(v, unit)
    v = math.floor(v + 0.5)
    return string.format("about %d %s%s", v, unit, v == 1 and "" or "s")
  end
  if hours < 1 then
    return n(math.max(hours * 60, 1), "minute")
  elseif hours < 72 then
    return n(hours, "hour")
  elseif hours < 24 * 60 then
    return n(hours / 24, "day")
  elseif hours < 24 * 365 then
    return n(hours / (24 * 30), "month")
  end
  return "more than a year"
end

-- fmt.text(s) -> s with control characters (a newline in a process name...)
-- shown as "?", so a name cannot forge lines in a finding.
function fmt.text(s)
  if type(s) ~= "string" then
    return "?"
  end
  return (s:gsub("%c", "?"))
end

-- fmt.shell(s) -> s as one word a person can paste into a shell: as is when
-- it holds only safe characters, else single-quoted ('it'\''s'). A mount
-- point comes from a filesystem label a USB stick chose, for one.
function fmt.shell(s)
  if type(s) ~= "string" then
    return "''"
  end
  s = fmt.text(s)
  if s ~= "" and not s:find("[^%w%._/:@%%+,=-]") then
    return s
  end
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

-- fmt.proc(p) -> "nginx (pid 1234)" for an entry of s.processes.top_*.
function fmt.proc(p)
  if type(p) ~= "table" then
    return "?"
  end
  local pid = math.type(p.pid) and string.format("pid %d", math.floor(p.pid)) or "pid ?"
  if type(p.name) == "string" and p.name ~= "" then
    return fmt.text(p.name) .. " (" .. pid .. ")"
  end
  return pid
end

-- fmt.list({"a", "b", "c"}) -> "a, b and c"
function fmt.list(items)
  local n = #items
  if n == 0 then
    return ""
  elseif n == 1 then
    return items[1]
  end
  return table.concat(items, ", ", 1, n - 1) .. " and " .. items[n]
end

return fmt
