-- A filesystem can run out of inodes with space to spare (mail queues,
-- caches of small files): judged per filesystem.
return {
  name = "inodes_high",
  each = "filesystems",
  value = function(r, fs) return fs.inodes_used_pct end,
  above = 90, clear_below = 85, hold = 2,
  severity = { low = 90, medium = 95, high = 98 },
  message = "{subject} uses {value:.1f}% of its inodes (threshold {threshold}%)",
}
