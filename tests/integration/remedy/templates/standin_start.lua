-- standin_start.lua (a test's template): starts the stand-in service again,
-- in a session of its own so it outlives the remediation's process group.

local description = "Start the stand-in service of the remediation tests again."

local function bash(p)
  return script.bash({
    description = description,
    body = {
      "binary=" .. p.binary,
      'if [ "$DRY_RUN" -eq 1 ]; then',
      '  echo "would start $binary"',
      "  exit 0",
      "fi",
      'setsid "$binary" 1000 </dev/null >/dev/null 2>&1 &',
      'echo "started $binary"',
    },
  })
end

return {
  description = description,
  params = {
    { name = "binary", type = "string", required = true, max_len = 1024,
      description = "the stand-in's program" },
  },
  bash = bash,
}
