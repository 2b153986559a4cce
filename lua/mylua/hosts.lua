-- The host program's --hosts FILE: the script runs once per host listed in
-- FILE, through mylua.parallel (--parallel N at a time), each run in its
-- own coroutine.  Inside a run, mylua.connect(opts) connects to that run's
-- host (opts over host and port; the command line's options below both, as
-- always), and whatever the run writes to stdout or stderr (print,
-- io.write, io.stdout, io.stderr, and so mylua.print and mylua.log) comes
-- out line by line with "HOST: " in front.  At the end a summary goes to
-- stderr, with every failed host and its error; the exit status is 1 when
-- any host failed.  The runs share the script's globals.
local parallel = require "mylua.parallel"

local hosts = {}

-- FILE's hosts: one per line, `host[:port]` (IPv6 in brackets), blank
-- lines and `#` comments skipped.
function hosts.read(path)
  local f, err = io.open(path, "r")
  if not f then error(("--hosts: cannot read %s"):format(err), 0) end
  local list, n = {}, 0
  for line in f:lines() do
    n = n + 1
    line = line:gsub("#.*", ""):match("^%s*(.-)%s*$")
    if line ~= "" then
      if line:find("%s") then
        f:close()
        error(("--hosts: %s:%d: one host[:port] per line, got %q"):format(path, n, line), 0)
      end
      list[#list + 1] = line
    end
  end
  f:close()
  if #list == 0 then error(("--hosts: %s lists no host"):format(path), 0) end
  return list
end

-- A stream for the running coroutine: lines prefixed with its host.
local function prefixer(real, prefix_of)
  local pending = setmetatable({}, { __mode = "k" }) -- coroutine -> partial line
  local function write(...)
    local co = coroutine.running()
    local prefix = prefix_of(co)
    if not prefix then return real:write(...) end
    local text = (pending[co] or "") .. table.concat(table.pack(...), "", 1, select("#", ...))
    local last = 1
    for line, stop in text:gmatch("([^\n]*\n)()") do
      real:write(prefix, line)
      last = stop
    end
    pending[co] = last <= #text and text:sub(last) or nil
    return true
  end
  local function flush_of(co)
    local rest = pending[co]
    if rest then
      real:write(prefix_of(co) or "", rest, "\n")
      pending[co] = nil
    end
  end
  return write, flush_of
end

local function check_write_args(...)
  for i = 1, select("#", ...) do
    local v = select(i, ...)
    if type(v) ~= "string" and type(v) ~= "number" then
      error(("bad argument #%d to 'write' (string expected, got %s)"):format(i, type(v)), 3)
    end
  end
end

-- Runs chunk(...) once per host; returns the exit status (0: every host
-- succeeded, 1: not).
function hosts.run(path, concurrency, chunk, ...)
  local list = hosts.read(path)
  local args = table.pack(...)
  local mylua = require "mylua"
  local running = setmetatable({}, { __mode = "k" }) -- coroutine -> { name, connect }
  local function prefix_of(co)
    local r = co and running[co]
    return r and r.name .. ": " or nil
  end
  local out_write, out_flush = prefixer(io.stdout, prefix_of)
  local err_write, err_flush = prefixer(io.stderr, prefix_of)
  local function proxy(real, write)
    return setmetatable({}, {
      __index = function(_, k)
        if k == "write" then
          return function(self, ...)
            check_write_args(...)
            write(...)
            return self
          end
        end
        local v = real[k]
        if type(v) == "function" then return function(_, ...) return v(real, ...) end end
        return v
      end,
      __name = "FILE*",
      __tostring = function() return tostring(real) end,
    })
  end
  local saved = { print = print, write = io.write, stdout = io.stdout, stderr = io.stderr,
                  connect = mylua.connect }
  _G.print = function(...)
    local n = select("#", ...)
    local parts = {}
    for i = 1, n do parts[i] = tostring((select(i, ...))) end
    out_write(table.concat(parts, "\t"), "\n")
  end
  io.write = function(...)
    check_write_args(...)
    out_write(...)
    return io.stdout
  end
  io.stdout = proxy(saved.stdout, out_write)
  io.stderr = proxy(saved.stderr, err_write)
  mylua.connect = function(opts)
    local r = running[coroutine.running()]
    if r then return r.connect(opts) end
    return saved.connect(opts)
  end
  local function restore()
    _G.print, io.write, io.stdout, io.stderr = saved.print, saved.write, saved.stdout, saved.stderr
    mylua.connect = saved.connect
  end
  local ok, results, summary = pcall(parallel, list, function(connect, target)
    local co = coroutine.running()
    running[co] = { name = target, connect = connect }
    local done <close> = setmetatable({}, { __close = function()
      out_flush(co)
      err_flush(co)
    end })
    return chunk(table.unpack(args, 1, args.n))
  end, { concurrency = concurrency, connect = false })
  restore()
  if not ok then error(results, 0) end
  local stderr = io.stderr
  for _, r in ipairs(results) do
    if not r.ok then
      local e = r.error
      stderr:write(("mylua: %s: %s%s\n"):format(r.target,
        r.timed_out and "timed out: " or "",
        tostring(e)))
    end
  end
  stderr:write(("mylua: %d of %d hosts succeeded%s%s (%.1f s)\n"):format(
    summary.ok, summary.total,
    summary.failed > 0 and (", %d failed"):format(summary.failed) or "",
    summary.timed_out > 0 and (", %d timed out"):format(summary.timed_out) or "",
    summary.seconds))
  stderr:flush()
  return summary.ok == summary.total and 0 or 1
end

return hosts
