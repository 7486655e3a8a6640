-- disk.lua: filesystems running out of space or of inodes.
--
-- Reads s.filesystems and the history's disk_max_pct (the used % of the
-- fullest filesystem at each reading); a value that is unknown (nil) makes
-- the rule say nothing about it rather than guess.
--
-- A filesystem is filling past its configured threshold, the one its
-- disk_full events use (settings.thresholds.filesystems[mount], else
-- settings.thresholds.disk: 85 % by default); one whose judging is switched
-- off there is left alone here too. Inodes have no setting of their own.

local INODES_PCT = 90        -- inodes used % past which they run out
local MIN_TREND_POINTS = 3   -- history points a time-to-full estimate needs ...
local MIN_TREND_HOURS = 0.1  -- ... spread over at least 6 minutes
local SAME_FS_PCT = 2        -- newest disk_max_pct must be this close to the flagged fs

-- Images that are full by construction, should a reading include them.
local read_only = { squashfs = true, iso9660 = true, erofs = true, cramfs = true, romfs = true }

local function mount_of(fs)
  return pick.str(fs, "mount_point") or "?"
end

-- The threshold settings for fs, as the detector picks them: the mount
-- point's own, else the general disk ones.
local function disk_limit(settings, fs)
  local t = settings.thresholds
  local mount = pick.str(fs, "mount_point")
  return mount and t.filesystems[mount] or t.disk
end

-- The history tells the fullest filesystem's story only; use it when fs is
-- that one now and was at the newest point.
local function time_to_full(s, fs, used, history)
  local fullest = 0
  for _, other in ipairs(pick.list(s, "filesystems")) do
    fullest = math.max(fullest, pick.num(other, "used_pct") or 0)
  end
  local newest = trend.last(history, "disk_max_pct")
  if used < fullest or not newest or math.abs(newest - used) > SAME_FS_PCT then
    return nil
  end
  local fit = trend.fit(history, "disk_max_pct", MIN_TREND_POINTS)
  if not fit or fit.span_hours < MIN_TREND_HOURS then
    return nil
  end
  local est = { slope = fit.slope, points = fit.points, span_hours = fit.span_hours }
  if fit.slope > 0 then
    est.hours = math.max(100 - used, 0) / fit.slope
  end
  return est
end

-- "3 points an hour", "0.25 points a day": the growth rate in a unit that reads well.
local function rate_text(slope)
  if slope >= 0.1 then
    return fmt.num(slope, 1) .. " points an hour"
  elseif slope * 24 >= 0.01 then
    return fmt.num(slope * 24, 2) .. " points a day"
  end
  return string.format("%.1g points a day", slope * 24)
end

local function cleanup_hint(mount)
  local shown = fmt.text(mount)
  if mount == "/" or mount == "/var" or mount == "/var/log" then
    return "Usual room to win on " .. shown .. ": the journal (`journalctl --vacuum-size=500M`), "
      .. "old logs in /var/log, package caches (`apt-get clean` or `dnf clean all`), "
      .. "unused container images (`docker system prune`)."
  end
  return "Remove or move what is no longer needed from " .. shown .. ", or grow the "
    .. "filesystem (e.g. `lvextend -r -L +10G` on LVM) if the data belongs there."
end

return {
  {
    name = "disk_filling",
    category = "disk",
    description = "A filesystem is fuller than its disk threshold (85 % by default); how soon "
      .. "it fills at the current rate",
    check = function(s, history, settings)
      local out = {}
      for _, fs in ipairs(pick.list(s, "filesystems")) do
        local used = pick.num(fs, "used_pct")
        local limit = disk_limit(settings, fs)
        if used and limit.enabled and used > limit.threshold and not read_only[fs.fstype] then
          local mount = mount_of(fs)
          local avail, size = pick.num(fs, "avail_bytes"), pick.num(fs, "size_bytes")
          local est = time_to_full(s, fs, used, history)
          local text = string.format("%s is %s full", fmt.text(mount), fmt.pct(used))
          if avail and size then
            text = text .. string.format(" (%s free of %s)", fmt.bytes(avail), fmt.bytes(size))
          end
          local suggestions = {
            string.format("Find what fills %s: `du -xh --max-depth=2 %s 2>/dev/null | sort -h | "
              .. "tail -20`.", fmt.text(mount), fmt.shell(mount)),
            "Space held by deleted files that are still open counts in df but not du: "
              .. "`lsof -nP +L1` lists them; restarting the process holding one frees it.",
            cleanup_hint(mount),
          }
          if est and est.hours then
            text = text .. string.format("; growing %s, it is full in %s",
              rate_text(est.slope), fmt.duration(est.hours))
            if est.hours <= 24 then
              table.insert(suggestions, 1, string.format("At this rate %s is full in %s: free "
                .. "space now, before writes start failing.", fmt.text(mount),
                fmt.duration(est.hours)))
            end
          elseif est then
            text = text .. string.format("; not growing over the last %s",
              (fmt.duration(est.span_hours):gsub("^about ", "")))
          end
          local hours = est and est.hours
          out[#out + 1] = {
            bottleneck = text,
            severity = (used >= 95 or (hours and hours <= 6)) and "high"
              or (used >= 90 or (hours and hours <= 24)) and "medium" or "low",
            evidence = {
              mount_point = mount,
              fstype = fs.fstype,
              used_pct = used,
              avail_bytes = avail,
              size_bytes = size,
              growth_pct_per_hour = est and est.slope,
              hours_to_full = hours,
              growing = est and (hours ~= nil),
              trend_points = est and est.points,
              trend_span_hours = est and est.span_hours,
            },
            suggestions = suggestions,
          }
        end
      end
      return out
    end,
  },

  {
    name = "inode_exhaustion",
    category = "disk",
    description = "A filesystem has used more than 90 % of its inodes",
    check = function(s)
      local out = {}
      for _, fs in ipairs(pick.list(s, "filesystems")) do
        local used = pick.num(fs, "inodes_used_pct")
        if used and used > INODES_PCT and not read_only[fs.fstype] then
          local mount = mount_of(fs)
          local total, free = pick.num(fs, "inodes_total"), pick.num(fs, "inodes_free")
          local text = string.format("%s has used %s of its inodes", fmt.text(mount),
            fmt.pct(used))
          if free then
            text = text .. string.format(" (%s left)", fmt.num(free, 0))
          end
          local avail = pick.num(fs, "avail_bytes")
          out[#out + 1] = {
            bottleneck = text,
            severity = used >= 98 and "high" or used >= 95 and "medium" or "low",
            evidence = {
              mount_point = mount,
              fstype = fs.fstype,
              inodes_used_pct = used,
              inodes_total = total,
              inodes_free = free,
              avail_bytes = avail,
            },
            suggestions = {
              string.format("Find the directories with the most files on %s: `du --inodes -x "
                .. "%s 2>/dev/null | sort -n | tail -20`.", fmt.text(mount), fmt.shell(mount)),
              "The usual culprits are caches, session and mail-queue directories and masses of "
                .. "small log or temporary files: check what `find DIR -xdev -type f -mtime +30 "
                .. "-print` matches, then delete them with -delete.",
              string.format("Free space does not help: with no inodes left no file can be "
                .. "created%s. An ext4 inode count is fixed when the filesystem is made; XFS "
                .. "and Btrfs allocate inodes as they go.",
                avail and (" even with " .. fmt.bytes(avail) .. " free") or ""),
            },
          }
        end
      end
      return out
    end,
  },
}
