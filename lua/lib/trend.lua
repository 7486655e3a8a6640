-- trend.lua: how a value of the history moves. history is the list rules
-- get (oldest first) of points {time (ms), cpu_pct, memory_pct, swap_pct,
-- load1, disk_max_pct, net_rx_bytes_ps, net_tx_bytes_ps}.
local trend = {}

-- trend.fit(history, "disk_max_pct") -> a least-squares line through the
-- points where both time and the field are known:
--   { slope = units per hour, last = fitted value at the newest point,
--     points = how many, span_hours = newest - oldest }
-- or nil with fewer than min_points (3) points or no time between them.
function trend.fit(history, field, min_points)
  if type(history) ~= "table" then
    return nil
  end
  local n, sx, sy, sxx, sxy = 0, 0, 0, 0, 0
  local t0, tmax
  for _, p in ipairs(history) do
    local t, y = type(p) == "table" and p.time, type(p) == "table" and p[field]
    if type(t) == "number" and type(y) == "number" and y == y then
      t0 = t0 or t
      local x = (t - t0) / 3600000 -- hours since the first point
      n = n + 1
      sx, sy = sx + x, sy + y
      sxx, sxy = sxx + x * x, sxy + x * y
      tmax = (not tmax or x > tmax) and x or tmax
    end
  end
  if n < (min_points or 3) then
    return nil
  end
  local d = n * sxx - sx * sx
  if tmax <= 0 or d <= 0 then
    return nil
  end
  local slope = (n * sxy - sx * sy) / d
  local intercept = (sy - slope * sx) / n
  return { slope = slope, last = intercept + slope * tmax, points = n, span_hours = tmax }
end

-- trend.recent(history, hours) -> the points no older than `hours` before the newest one.
function trend.recent(history, hours)
  local out = {}
  if type(history) ~= "table" then
    return out
  end
  local newest
  for _, p in ipairs(history) do
    if type(p) == "table" and type(p.time) == "number" and (not newest or p.time > newest) then
      newest = p.time
    end
  end
  if not newest then
    return out
  end
  local from = newest - hours * 3600000
  for _, p in ipairs(history) do
    if type(p) == "table" and type(p.time) == "number" and p.time >= from then
      out[#out + 1] = p
    end
  end
  return out
end

-- trend.last(history, field) -> the newest known value of field, or nil.
function trend.last(history, field)
  if type(history) ~= "table" then
    return nil
  end
  for i = #history, 1, -1 do
    local p = history[i]
    local v = type(p) == "table" and p[field]
    if type(v) == "number" and v == v then
      return v
    end
  end
  return nil
end

return trend
