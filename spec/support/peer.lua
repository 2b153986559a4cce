-- Starts and stops spec/support/fakeserver.py, the scripted MySQL peer.
--
--   local peer = require "support.peer"
--   local p = peer.start("drip")      -- p.port, p.pid
--   p:line()                          -- next line the peer prints, or nil
--   p:stop()                          -- kills it (idempotent)
--   peer.stop_all()                   -- stops every peer still running

local peer = {}

local here = debug.getinfo(1, "S").source:match("^@(.*)[/\\]") or "."
local script = here .. "/fakeserver.py"

local running = {}

local Peer = {}
Peer.__index = Peer

local function shell_quote(s)
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

--- Starts the peer for `scenario` and waits until it listens.  `program`
--- is another peer script in spec/support (default fakeserver.py).
function peer.start(scenario, program)
  assert(scenario:match("^[%w_]+$"), "bad scenario name")
  local path = program and (here .. "/" .. program) or script
  local cmd = "echo $$; exec python3 " .. shell_quote(path) .. " " .. scenario
  local pipe = assert(io.popen(cmd, "r"))
  local pid = tonumber(pipe:read("l"))
  local port = tonumber(pipe:read("l"))
  local self = setmetatable({ pipe = pipe, pid = pid, port = port, scenario = scenario }, Peer)
  running[self] = true
  if not (pid and port) then
    self:stop()
    error("fakeserver " .. scenario .. " did not start")
  end
  return self
end

--- The next line the peer printed on stdout (blocking), or nil at its end.
function Peer:line()
  if not self.pipe then return nil end
  return self.pipe:read("l")
end

--- Reads lines until one starts with `key=`; returns its value, or nil.
function Peer:value(key)
  for l in function() return self:line() end do
    local v = l:match("^" .. key .. "=(.*)$")
    if v then return v end
  end
  return nil
end

--- Kills the peer and reaps it. Safe to call twice.
function Peer:stop()
  running[self] = nil
  if self.pid then
    os.execute("kill " .. math.tointeger(self.pid) .. " 2>/dev/null")
    self.pid = nil
  end
  if self.pipe then
    self.pipe:close()
    self.pipe = nil
  end
end

function peer.stop_all()
  for p in pairs(running) do p:stop() end
end

return peer
