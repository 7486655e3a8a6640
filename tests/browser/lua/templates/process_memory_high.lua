-- The browser test's own fix-script template (in its kotod's --lua-dir): the page
-- must offer exactly these parameters, prefilled from the event, send them,
-- and preview what comes back. Values arrive already quoted for the dialect.
return {
  description = "Stop a process that holds too much memory",
  admin = false,
  params = {
    { name = "pid", type = "integer", min = 1, required = true, description = "the process to stop" },
    { name = "process_name", type = "string", max_len = 64, pattern = "^[%w%._%-]+$", required = true,
      description = "its name, checked again before stopping it" },
  },
  bash = function(p)
    return script.bash {
      description = "Stop process " .. p.pid .. " if it is still " .. p.process_name,
      body = {
        "if [ \"$(cat /proc/" .. p.pid .. "/comm 2>/dev/null)\" = " .. p.process_name .. " ]; then",
        "  run kill -TERM " .. p.pid,
        "fi",
      },
    }
  end,
  powershell = function(p)
    return script.powershell {
      description = "Stop process " .. p.pid .. " if it is still " .. p.process_name,
      body = {
        "$p = Get-Process -Id " .. p.pid .. " -ErrorAction SilentlyContinue",
        "if ($p -and $p.ProcessName -eq " .. p.process_name .. " -and $PSCmdlet.ShouldProcess($p.ProcessName)) { Stop-Process -Id " .. p.pid .. " }",
      },
    }
  end,
}
