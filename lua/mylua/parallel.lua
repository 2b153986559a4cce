-- mylua.parallel: one function against many servers, from one process.
--
--   local results, summary = mylua.parallel(targets, function(db, target)
--     return db:query("SELECT COUNT(*) AS n FROM t"):row().n
--   end, { concurrency = 10, timeout = 30, progress = true, connect = { user = "ops" } })
--
-- Each target is a table of connect options or a "host", "host:port" or
-- "[v6 address]:port" string; either is merged over opts.connect.  For each
-- target, at most `concurrency` at a time, a coroutine connects, calls
-- fn(db, target) and closes db.  results[i] belongs to targets[i]:
--   { target =, ok =, value = (fn's first result), error = (the error
--     object or message), timed_out =, seconds = }
-- and summary is { total =, ok =, failed =, timed_out =, seconds = }
-- (failed does not count the timed out).  With connect = false no
-- connection is opened for fn: it gets connect([opts]) instead of db, which
-- opens one to the target (opts over the target's options) as parallel
-- would; every connection it opened is closed when the task ends.
--
-- How one server cannot hold the others: db:query hands the statement to
-- the task's own worker thread and the coroutine yields until it is done
-- (src/lua/worker.h), so other tasks run meanwhile; `timeout` is a deadline
-- per target, from its start, that every wait of its connection obeys
-- (core.deadline_cap), so a hung server costs its own task that time and
-- no more.  Connecting is handed to the worker the same way (on the
-- calling thread only when the login may call Lua: the script's auth
-- callbacks), bounded by the task's time left, so a server that accepts
-- and never speaks holds its own task only.  Prepared statements, cursors
-- and the connection's commands go to the worker as well; what calls Lua
-- while it talks to the server (db:load, a Lua local_infile handler, auth
-- callbacks) runs on the calling thread, within the cap.
local core = require "mylua.core"
local progress = require "mylua.progress"

local DEFAULT_CONCURRENCY = 10
local OPTION_KEYS = { concurrency = true, timeout = true, progress = true, connect = true }

-- "db1", "db1:3307", "[::1]:3308", "[::1]", "::1" -> host, port or nil.
local function parse_host(s)
  local v6, rest = s:match("^%[([^%]]+)%](.*)$")
  if v6 then
    if rest == "" then return v6 end
    local port = rest:match("^:(%d+)$")
    if not port then return nil end
    return v6, math.tointeger(port)
  end
  local host, port = s:match("^([^:]+):(%d+)$")
  if host then return host, math.tointeger(port) end
  if s:find(":", 1, true) and not s:find("[^%x:.]") then return s end -- a bare IPv6 address
  if s:find(":", 1, true) then return nil end
  return s
end

local function target_options(target, i, base)
  local o = {}
  for k, v in pairs(base or {}) do o[k] = v end
  if type(target) == "string" then
    local host, port = parse_host(target)
    if not host or host == "" or (port and (port < 1 or port > 65535)) then
      error(("parallel: target %d: %q is not host[:port]"):format(i, target), 3)
    end
    o.host = host
    if port then o.port = port end
  elseif type(target) == "table" then
    for k, v in pairs(target) do o[k] = v end
  else
    error(("parallel: target %d must be a table of connect options or a host[:port] string, "
           .. "got %s"):format(i, type(target)), 3)
  end
  return o
end

-- What a progress line or a message calls the target.
local function target_name(target, o, i)
  if type(target) == "string" then return target end
  if type(o.host) == "string" then
    return o.port and (o.host:find(":", 1, true) and "[" .. o.host .. "]:" or o.host .. ":")
                      .. o.port or o.host
  end
  return "#" .. i
end

local function check_options(targets, fn, opts)
  if type(targets) ~= "table" then
    error(("bad argument #1 to 'parallel' (table of targets expected, got %s)"):format(
      type(targets)), 3)
  end
  if not (type(fn) == "function" or (getmetatable(fn) or {}).__call) then
    error(("bad argument #2 to 'parallel' (function expected, got %s)"):format(type(fn)), 3)
  end
  if opts ~= nil and type(opts) ~= "table" then
    error(("bad argument #3 to 'parallel' (table of options expected, got %s)"):format(
      type(opts)), 3)
  end
  opts = opts or {}
  for k in pairs(opts) do
    if not OPTION_KEYS[k] then
      error(("parallel: unknown option '%s' (expected concurrency, timeout, progress, connect)")
            :format(tostring(k)), 3)
    end
  end
  local c = opts.concurrency
  if c ~= nil and (math.type(c) ~= "integer" or c < 1) then
    error("parallel: option 'concurrency' must be an integer >= 1", 3)
  end
  local t = opts.timeout
  if t ~= nil and (type(t) ~= "number" or not (t > 0) or t == math.huge) then
    error("parallel: option 'timeout' must be a number of seconds > 0", 3)
  end
  if opts.connect ~= nil and opts.connect ~= false and type(opts.connect) ~= "table" then
    error("parallel: option 'connect' must be a table of connect options, or false", 3)
  end
  local p = opts.progress
  if p ~= nil and type(p) ~= "boolean" and type(p) ~= "table" then
    error("parallel: option 'progress' must be a boolean or a table of progress options", 3)
  end
  return opts
end

-- Opens a connection to the task's target (extra options over its own)
-- within the task's time.
local function open(task, extra)
  local o = {}
  for k, v in pairs(task.options) do o[k] = v end
  for k, v in pairs(extra or {}) do o[k] = v end
  local deadline = task.deadline
  if deadline then
    local left = deadline - core.monotonic()
    if left <= 0 then error(core.new_error(2013, "timed out before connecting"), 0) end
    o.connect_timeout = math.min(o.connect_timeout or left, left)
  end
  local db = core.connect(o)
  task.opened[#task.opened + 1] = db
  if deadline then core.deadline_cap(db, deadline) end
  return db
end

-- The task's body, in its coroutine: connect, run fn, close.  With
-- connect = false, fn gets a function that connects instead of db.
local function run_task(task, fn, connect)
  if connect == false then
    return (fn(function(extra)
      if extra ~= nil and type(extra) ~= "table" then
        error(("bad argument #1 to 'connect' (table expected, got %s)"):format(type(extra)), 2)
      end
      return open(task, extra)
    end, task.target))
  end
  return (fn(open(task), task.target))
end

local function count(results)
  local s = { total = #results, ok = 0, failed = 0, timed_out = 0 }
  for _, r in ipairs(results) do
    if r.ok then s.ok = s.ok + 1
    elseif r.timed_out then s.timed_out = s.timed_out + 1
    else s.failed = s.failed + 1 end
  end
  return s
end

local function parallel(targets, fn, opts)
  opts = check_options(targets, fn, opts)
  local n = #targets
  local tasks = {}
  for i = 1, n do
    local o = target_options(targets[i], i, opts.connect or nil)
    tasks[i] = { i = i, target = targets[i], options = o, name = target_name(targets[i], o, i),
                 opened = {} }
  end
  local concurrency = opts.concurrency or math.min(DEFAULT_CONCURRENCY, math.max(n, 1))
  local started_all = core.monotonic()
  local bar
  if opts.progress then
    local p = type(opts.progress) == "table" and opts.progress or {}
    local popts = { total = n }
    for k, v in pairs(p) do popts[k] = v end
    popts.label = popts.label or "parallel"
    bar = progress.new(popts)
  end
  local group <close> = core.task_group()
  local results, by_co, ready = {}, {}, {}
  local next_i, active = 1, 0
  local fill -- below: finish calls it

  local function finish(task, ok, value)
    by_co[task.co] = nil
    group:detach(task.co)
    if not ok then coroutine.close(task.co) end -- the stack was not unwound
    for _, db in ipairs(task.opened) do db:close() end -- idempotent
    active = active - 1
    local now = core.monotonic()
    results[task.i] = {
      target = task.target,
      ok = ok,
      value = ok and value or nil,
      error = not ok and value or nil,
      timed_out = not ok and task.deadline ~= nil and now >= task.deadline or nil,
      seconds = now - task.started,
    }
    if bar then bar:add() end
    fill()
  end

  local function step(task)
    local ok, value = coroutine.resume(task.co)
    if not ok then
      finish(task, false, value)
    elseif coroutine.status(task.co) == "dead" then
      finish(task, true, value)
    elseif value ~= core.task_yielded then
      ready[#ready + 1] = task -- fn yielded by itself: it runs again next round
    end
  end

  -- Tasks are made and attached before any of them runs, and a finished
  -- one's place is taken at once: a task alone in its group runs its jobs
  -- inline, which is right only when nothing else could run meanwhile.
  local to_start = {}
  function fill()
    while active < concurrency and next_i <= n do
      local task = tasks[next_i]
      next_i = next_i + 1
      task.co = coroutine.create(run_task)
      by_co[task.co] = task
      group:attach(task.co)
      active = active + 1
      to_start[#to_start + 1] = task
    end
  end

  local function start(task)
    task.started = core.monotonic()
    task.deadline = opts.timeout and task.started + opts.timeout or nil
    local ok, value = coroutine.resume(task.co, task, fn, opts.connect)
    if not ok then
      finish(task, false, value)
    elseif coroutine.status(task.co) == "dead" then
      finish(task, true, value)
    elseif value ~= core.task_yielded then
      ready[#ready + 1] = task
    end
  end

  while next_i <= n or active > 0 do
    fill()
    while #to_start > 0 do start(table.remove(to_start, 1)) end
    if #ready > 0 then
      local now_ready = ready
      ready = {}
      for _, task in ipairs(now_ready) do step(task) end
    end
    if active > 0 and #ready == 0 then
      for _, co in ipairs(group:wait()) do
        local task = by_co[co]
        if task then step(task) end
      end
    end
  end
  if bar then bar:done() end
  local summary = count(results)
  summary.seconds = core.monotonic() - started_all
  return results, summary
end

return parallel
