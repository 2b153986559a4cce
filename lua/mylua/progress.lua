-- mylua.progress: how far a long job has got, on stderr.
--
--   local p <close> = mylua.progress{ total = n, label = "rows" }
--   for row in cur:rows() do ...; p:add() end   -- p:add(n) counts n, p:set(n) sets the count
--   p:done()                                    -- or let <close> call it
--
-- When stderr is a terminal: one line, redrawn at most ten times a second,
--   rows  [########            ]   42%  4200/10000  1234/s  ETA 0:05
-- and at done() the same line with the time taken, ending with a newline.
-- Without a total: the count, the rate and the time so far.  When stderr is
-- not a terminal (cron, a pipe): nothing while it runs, and at done() one
-- log line (mylua.log at level info): "rows: 10000 in 8.1 s (1234/s)".
-- Nothing at all when the log level is above info (the host's --quiet).
local core = require "mylua.core"
local log = require "mylua.log"

local progress = {}

local REDRAW_SECONDS = 0.1
local BAR_WIDTH = 20
local LABEL_WIDTH = 24

local Progress = {}
Progress.__index = Progress
Progress.__name = "mylua.progress"

local function check_count(n, fname)
  if math.type(n) == nil or n ~= n or n < 0 or n == math.huge then
    error(("bad argument #1 to '%s' (a count >= 0 expected, got %s)"):format(
      fname, n ~= n and "NaN" or math.type(n) and tostring(n) or type(n)), 3)
  end
  return n
end

local function count_text(n)
  if math.type(n) == "float" and n == math.floor(n) and n < 2^53 then n = math.tointeger(n) end
  if math.type(n) == "integer" then return tostring(n) end
  return ("%.1f"):format(n)
end

local function rate_text(rate)
  if rate >= 10 then return ("%.0f/s"):format(rate) end
  return ("%.1f/s"):format(rate)
end

-- "0:05", "12:34", "1:02:03"; past 9999 hours (an ETA at a crawl), "-:--".
local function clock_text(seconds)
  if not (seconds < 9999 * 3600) then return "-:--" end
  seconds = math.floor(seconds + 0.5)
  local h, m, s = seconds // 3600, seconds % 3600 // 60, seconds % 60
  if h > 0 then return ("%d:%02d:%02d"):format(h, m, s) end
  return ("%d:%02d"):format(m, s)
end

-- The terminal line for the count so far; final: the one done() leaves.
local function line(self, final)
  local elapsed = core.monotonic() - self.started
  local rate = elapsed > 0 and self.count / elapsed or 0
  local parts = { self.label_text }
  if self.total then
    local fraction = self.total > 0 and math.min(self.count / self.total, 1) or 1
    local filled = math.floor(fraction * BAR_WIDTH) -- full only when all is done
    parts[#parts + 1] = "[" .. ("#"):rep(filled) .. (" "):rep(BAR_WIDTH - filled) .. "]"
    parts[#parts + 1] = ("%3d%%"):format(math.floor(fraction * 100))
    parts[#parts + 1] = count_text(self.count) .. "/" .. count_text(self.total)
  else
    parts[#parts + 1] = count_text(self.count)
  end
  parts[#parts + 1] = rate_text(rate)
  if final then
    parts[#parts + 1] = "in " .. clock_text(elapsed)
  elseif self.total and rate > 0 and self.count < self.total then
    parts[#parts + 1] = "ETA " .. clock_text((self.total - self.count) / rate)
  elseif not self.total then
    parts[#parts + 1] = clock_text(elapsed)
  end
  return table.concat(parts, "  ")
end

local function draw(self, now)
  self.drawn_at = now
  local text = line(self, false)
  log.set_status(text)
  io.stderr:write("\r\27[K", text)
end

-- Redraws when a tenth of a second has passed since the last drawing.
local function update(self)
  if self.on_terminal then
    local now = core.monotonic()
    if now - self.drawn_at >= REDRAW_SECONDS then draw(self, now) end
  end
end

local function check_open(self, fname)
  if getmetatable(self) ~= Progress then
    error(("calling '%s' on bad self (mylua.progress expected)"):format(fname), 3)
  end
  if self.finished then error(("%s: the progress is done"):format(fname), 3) end
end

-- p:add([n]): counts n more (default 1).
function Progress:add(n)
  check_open(self, "add")
  self.count = self.count + (n == nil and 1 or check_count(n, "add"))
  update(self)
  return self
end

-- p:set(n): the count is n.
function Progress:set(n)
  check_open(self, "set")
  self.count = check_count(n, "set")
  update(self)
  return self
end

-- p:done(): the final line (terminal) or the summary (log).  Calling it
-- again does nothing.
function Progress:done()
  if getmetatable(self) ~= Progress then error("calling 'done' on bad self (mylua.progress expected)", 2) end
  if self.finished then return end
  self.finished = true
  if self.on_terminal then
    log.set_status(nil)
    io.stderr:write("\r\27[K", line(self, true), "\n")
  elseif self.visible then
    local elapsed = core.monotonic() - self.started
    local of = self.total and (" of " .. count_text(self.total)) or ""
    local rate = elapsed > 0 and (" (" .. rate_text(self.count / elapsed) .. ")") or ""
    log.info("%s: %s%s in %.1f s%s", self.label, count_text(self.count), of, elapsed, rate)
  end
end

-- A <close> variable calls done, silently: an error while unwinding must
-- stay the error the script reports.
function Progress:__close()
  pcall(Progress.done, self)
end

-- A bar left on a terminal by a progress nobody finished gets its final
-- line when the object is collected (at the latest when the state closes),
-- so the shell's prompt does not land at the end of the bar.
function Progress:__gc()
  if self.on_terminal then pcall(Progress.done, self) end
end

function Progress:__tostring()
  return ("mylua.progress (%s: %s%s)"):format(self.label, count_text(self.count),
    self.finished and ", done" or "")
end

local OPTIONS = { total = true, label = true }

-- mylua.progress{ total = N, label = "rows" }: both optional; total a
-- count >= 0, label a string (default "progress").
function progress.new(opts)
  if opts == nil then opts = {} end
  if type(opts) ~= "table" then
    error(("bad argument #1 to 'progress' (table expected, got %s)"):format(type(opts)), 2)
  end
  for k in pairs(opts) do
    if not OPTIONS[k] then
      error(("bad argument #1 to 'progress' (unknown option %s)"):format(
        type(k) == "string" and ("%q"):format(k) or tostring(k)), 2)
    end
  end
  local total, label = opts.total, opts.label
  if total ~= nil and (math.type(total) == nil or total ~= total or total < 0 or total == math.huge) then
    error("bad argument #1 to 'progress' (total must be a count >= 0)", 2)
  end
  if label ~= nil and type(label) ~= "string" then
    error(("bad argument #1 to 'progress' (label must be a string, got %s)"):format(type(label)), 2)
  end
  label = label or "progress"
  local shown = core.printable(label)
  if #shown > LABEL_WIDTH then
    local cut = utf8.len(shown) and utf8.offset(shown, LABEL_WIDTH - 2) or LABEL_WIDTH - 2
    shown = shown:sub(1, cut - 1) .. "..."
  end
  local visible = log.enabled("info")
  local self = setmetatable({
    total = total,
    label = label,
    label_text = shown,
    count = 0,
    started = core.monotonic(),
    drawn_at = -math.huge,
    visible = visible,
    on_terminal = visible and core.isatty(io.stderr),
    finished = false,
  }, Progress)
  update(self)
  return self
end

return progress
