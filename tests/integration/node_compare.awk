# node_compare.awk - compares two Prometheus text answers: node_exporter's
# (the first file) and kotod's (the second), for the node_* families kotod
# serves. Prints one line per finding and a last line "compared N":
#   missing KEY          kotod has a series node_exporter does not
#   absent KEY           node_exporter has a series, in a family kotod serves,
#                        that kotod lacks (and that `allow_absent` does not match)
#   value KEY NE KOTO    the values differ (beyond `tolerance` for series
#                        matching `tolerant`, a relative tolerance)
#   type FAMILY NE KOTO  the TYPE lines differ
#   help FAMILY          the HELP lines differ
# Series whose key matches `skip` are not compared (they move between two
# answers, or come from the live machine where the other side reads a tree).
function sample(line, file,    at, key, val) {
  at = match(line, / [^ ]+$/)
  if (!at) return
  key = substr(line, 1, RSTART - 1)
  val = substr(line, RSTART + 1)
  if (key !~ /^node_/) return
  if (skip != "" && key ~ skip) return
  if (file == 1) ne[key] = val; else koto[key] = val
}
function family(key) { sub(/\{.*/, "", key); return key }
FNR == 1 { file++ }
/^# TYPE node_/ { if (file == 1) netype[$3] = $4; else ktype[$3] = $4; next }
/^# HELP node_/ {
  name = $3; text = $0; sub(/^# HELP [^ ]+ /, "", text)
  if (file == 1) nehelp[name] = text; else khelp[name] = text
  next
}
/^#/ { next }
/^node_/ { sample($0, file) }
END {
  n = 0
  for (k in koto) {
    served[family(k)] = 1
    if (!(k in ne)) { print "missing " k; continue }
    n++
    a = ne[k] + 0; b = koto[k] + 0
    if (a == b) continue
    if (tolerant != "" && k ~ tolerant) {
      d = a - b; if (d < 0) d = -d
      m = a < 0 ? -a : a
      if (d <= m * tolerance) continue
    }
    print "value " k " " ne[k] " " koto[k]
  }
  for (k in ne)
    if ((family(k) in served) && !(k in koto) && !(allow_absent != "" && k ~ allow_absent))
      print "absent " k
  for (f in ktype)
    if ((f in netype) && netype[f] != ktype[f]) print "type " f " " netype[f] " " ktype[f]
  for (f in khelp)
    if ((f in nehelp) && nehelp[f] != khelp[f]) print "help " f
  print "compared " n
}
