-- Pages read back from swap: a machine that swaps out once is fine, one
-- that keeps reading its memory back from disk is thrashing.
return {
  name = "swap_in_high",
  value = function(r) return r.memory and r.memory.swap_in_pages_ps end,
  above = 500, clear_below = 100, hold = 3,
  severity = { low = 500, medium = 2000, high = 10000 },
  evidence = "memory",
  message = "{value:.0f} pages/s read back from swap (threshold {threshold})",
}
