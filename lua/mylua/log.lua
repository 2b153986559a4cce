-- mylua.log: timestamped lines on stderr, for scripts that run unattended.
--
--   local log = require("mylua").log
--   log.info("copied %d rows to %s", n, name) -- string.format when arguments follow
--   log.warn(err)                             -- one argument: tostring(err), as it is
--   log("error", "gave up after %d tries", n) -- the level by name
--   log.level = "debug"                       -- debug, info (the default), warn, error
--   if log.enabled("debug") then log.debug("%s", expensive()) end
--
-- A line reads "2026-12-01T21:17:51.123+01:00 INFO  copied 10 rows to t":
-- local time with milliseconds and the UTC offset, the level, the message.
-- The message is made safe for a terminal (control characters shown as
-- \27, line breaks as spaces), so one message is one line and nothing in
-- it can drive the terminal.  A line below the level is neither formatted
-- nor written.  The host program starts at "debug" with --verbose and at
-- "error" with --quiet.
local core = require "mylua.core"

local LEVELS = { debug = 1, info = 2, warn = 3, error = 4 }
local LABELS = { "DEBUG", "INFO ", "WARN ", "ERROR" }

local threshold = LEVELS[core.host_log_level() or "info"] or LEVELS.info

-- A progress bar shown on the terminal's last line (mylua.progress), kept
-- below the log lines: cleared before one is written, then drawn again.
local status

local function level_number(name, caller_level)
  local n = LEVELS[name]
  if not n then
    error(("unknown log level %s (debug, info, warn or error)"):format(
      type(name) == "string" and ("%q"):format(name) or type(name)), caller_level + 1)
  end
  return n
end

-- "2026-12-01T21:17:51.123+01:00" for the time t (seconds since the epoch).
local function timestamp(t)
  local seconds = math.floor(t)
  local ms = math.floor((t - seconds) * 1000)
  local zone = os.date("%z", seconds):gsub("^([+-]%d%d)(%d%d)$", "%1:%2")
  return ("%s.%03d%s"):format(os.date("%Y-%m-%dT%H:%M:%S", seconds), ms, zone)
end

local function write(n, fmt, ...)
  if n < threshold then return end
  local message
  if select("#", ...) > 0 then
    local ok, text = pcall(string.format, tostring(fmt), ...)
    -- levels: write, log.info (or the __call), its caller
    if not ok then error("log: " .. text, 3) end
    message = text
  else
    message = tostring(fmt)
  end
  local line = ("%s %s %s\n"):format(timestamp(core.now()), LABELS[n], core.printable(message))
  if status then line = "\r\27[K" .. line .. status end
  io.stderr:write(line)
end

local log = {}

function log.debug(fmt, ...) write(1, fmt, ...) end
function log.info(fmt, ...) write(2, fmt, ...) end
function log.warn(fmt, ...) write(3, fmt, ...) end
function log.error(fmt, ...) write(4, fmt, ...) end

-- Whether a line at `level` would be written.
function log.enabled(level)
  return level_number(level, 2) >= threshold
end

-- For mylua.progress: `text` (a line without its newline, or nil to stop)
-- is what the terminal's last line shows; log lines are written above it.
function log.set_status(text)
  status = text
end

return setmetatable(log, {
  __call = function(_, level, fmt, ...)
    write(level_number(level, 2), fmt, ...)
  end,
  __index = function(_, key)
    if key == "level" then
      for name, n in pairs(LEVELS) do
        if n == threshold then return name end
      end
    end
  end,
  __newindex = function(_, key, value)
    if key ~= "level" then error(("mylua.log has no field %q to set"):format(tostring(key)), 2) end
    threshold = level_number(value, 2)
  end,
})
