-- echo_name.lua (a test's template): prints the name it is given, and
-- nothing else; the hostile-name tests check that the name stays data.

local description = "Print a name (hostile-name tests)."

local function bash(p)
  return script.bash({
    description = description,
    body = {
      "name=" .. p.name,
      'printf "name=[%s]\\n" "$name"',
    },
  })
end

return {
  description = description,
  params = {
    { name = "name", type = "string", required = true, max_len = 256,
      description = "any text" },
  },
  bash = bash,
}
