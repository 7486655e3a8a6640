-- pick.lua: reading a sample safely. Unknown values arrive as nil and a
-- field may be missing altogether; these helpers answer nil instead of
-- raising, so a rule with nothing to go on simply says nothing.
local pick = {}

-- The value at t[k1][k2]..., or nil when a step on the way is not a table.
local function walk(t, ...)
  local v = t
  for i = 1, select("#", ...) do
    if type(v) ~= "table" then
      return nil
    end
    v = v[(select(i, ...))]
  end
  return v
end

-- pick.num(s, "memory", "used_pct") -> the number, or nil when any step is missing.
function pick.num(t, ...)
  local v = walk(t, ...)
  if type(v) == "number" and v == v then -- NaN is unknown too
    return v
  end
  return nil
end

-- pick.str(s, "hostname") -> the string, or nil.
function pick.str(t, ...)
  local v = walk(t, ...)
  return type(v) == "string" and v or nil
end

-- pick.list(s, "filesystems") -> the list (the tables in it), or {} when absent.
function pick.list(t, ...)
  local v = walk(t, ...)
  if type(v) ~= "table" then
    return {}
  end
  local out = {}
  for _, item in ipairs(v) do
    if type(item) == "table" then
      out[#out + 1] = item
    end
  end
  return out
end

-- pick.max(list, field) -> the item with the largest known number in field, and that number.
function pick.max(list, field)
  local best, value
  for _, item in ipairs(list) do
    local v = pick.num(item, field)
    if v and (not value or v > value) then
      best, value = item, v
    end
  end
  return best, value
end

return pick
