-- busted output handler for the mylua specs.
--
-- Prints a '.' for each passing test and, as it happens, every failing,
-- erroring or pending test with its name, place and message (with -v also
-- the traceback). Errors outside tests (a spec file that does not load, a
-- failing setup/teardown) are reported the same way. At the end it lists the
-- names of what failed and prints one last line:
--
--   N passed, N failed
--
-- where "failed" counts failures, errors and pending tests alike: nothing is
-- skipped silently.
--
-- If MYLUA_SUMMARY_FILE is set, the handler keeps "<passed> <failed> running
-- <name>" in that file while the test <name> runs, "<passed> <failed>
-- running" between tests and "<passed> <failed> done" at the end, and leaves
-- the timing and the last line to its caller (scripts/check), which can then
-- notice a run that died half-way (and in which test) and add sanitizer
-- findings. If MYLUA_FAILED_FILE is set too, the names of what did not pass
-- are appended to that file instead of being listed at the end, so that the
-- caller can list those of several runs together.
--
-- Usage: busted -o spec/support/summary.lua [-v] ...

local pretty = require "pl.pretty"

return function(options)
  local busted = require "busted"
  local handler = require "busted.outputHandlers.base"()

  local summary_file = os.getenv("MYLUA_SUMMARY_FILE")
  if summary_file == "" then summary_file = nil end
  local failed_file = summary_file and os.getenv("MYLUA_FAILED_FILE")
  if failed_file == "" then failed_file = nil end

  local out = io.stdout
  local column = 0          -- characters on the current line of dots
  local failed_names = {}   -- recap printed at the end

  local function counts()
    return handler.successesCount,
           handler.failuresCount + handler.errorsCount + handler.pendingsCount
  end

  local function save_state(state, current)
    if not summary_file then return end
    local f = io.open(summary_file, "w")
    if f then
      local passed, failed = counts()
      f:write(passed, " ", failed, " ", state)
      if current then f:write(" ", (current:gsub("%s+", " "))) end
      f:write("\n")
      f:close()
    end
  end

  local function end_line()
    if column > 0 then
      out:write("\n")
      column = 0
    end
  end

  local function dot(ch)
    if column >= 72 then end_line() end
    out:write(ch)
    column = column + 1
    out:flush()
  end

  local function text_of(msg)
    if msg == nil then return "nil error" end
    if type(msg) == "string" then return msg end
    local mt = getmetatable(msg)
    if type(mt) == "table" and mt.__tostring then return tostring(msg) end
    if type(msg) == "table" then return pretty.write(msg) end
    return tostring(msg)
  end

  local function place_of(t)
    local trace = t.element and t.element.trace
    if type(trace) == "table" and trace.short_src then
      return trace.short_src .. ":" .. tostring(trace.currentline)
    end
    trace = t.trace
    if type(trace) == "table" and trace.short_src then
      return trace.short_src .. ":" .. tostring(trace.currentline)
    end
    return nil
  end

  local function indent(s)
    return "    " .. s:gsub("\n", "\n    ")
  end

  local function report(kind, t)
    end_line()
    local name = t.name
    if name == nil or name == "" then
      name = "(" .. tostring(t.element and t.element.descriptor or "unnamed") .. ")"
    end
    local place = place_of(t)
    local label = kind .. ": " .. name .. (place and ("  (" .. place .. ")") or "")
    out:write(label, "\n")
    if kind ~= "PENDING" or t.message ~= nil then
      out:write(indent(text_of(t.message)), "\n")
    end
    if options.verbose and type(t.trace) == "table" and t.trace.traceback then
      out:write(indent((t.trace.traceback:gsub("^%s+", ""):gsub("%s+$", ""))), "\n")
    end
    out:flush()
    failed_names[#failed_names + 1] = kind .. ": " .. name
    if failed_file then
      local f = io.open(failed_file, "a")
      if f then
        f:write(kind, ": ", (name:gsub("%s+", " ")), place and ("  (" .. place .. ")") or "", "\n")
        f:close()
      end
    end
  end

  handler.testStart = function(element)
    save_state("running", handler.getFullName(element))
    return nil, true
  end

  handler.testEnd = function(element, parent, status)
    if status == "success" then
      dot(".")
    elseif status == "pending" then
      report("PENDING", handler.pendings[#handler.pendings])
    elseif status == "failure" then
      report("FAIL", handler.failures[#handler.failures])
    elseif status == "error" then
      report("ERROR", handler.errors[#handler.errors])
    end
    save_state("running")
    return nil, true
  end

  -- Failures and errors that do not belong to one test (file, describe,
  -- setup/teardown, output): the base handler has counted and saved them.
  handler.otherError = function(element)
    if element.descriptor ~= "it" then
      local t = handler.errors[#handler.errors]
      if t then report("ERROR", t) end
      save_state("running")
    end
    return nil, true
  end

  handler.suiteStart = function()
    failed_names = {}
    column = 0
    save_state("running")
    return nil, true
  end

  handler.suiteEnd = function()
    end_line()
    local passed, failed = counts()
    if #failed_names > 0 and not failed_file then
      out:write("\nNot passed:\n")
      for _, n in ipairs(failed_names) do out:write("  ", n, "\n") end
    end
    if not summary_file then
      out:write(string.format("\nfinished in %.1f s\n", handler.getDuration()))
    end
    save_state("done")
    if not summary_file then
      out:write(passed, " passed, ", failed, " failed\n")
    end
    out:flush()
    return nil, true
  end

  busted.subscribe({ "test", "start" }, handler.testStart)
  busted.subscribe({ "test", "end" }, handler.testEnd, { predicate = handler.cancelOnPending })
  busted.subscribe({ "suite", "start" }, handler.suiteStart)
  busted.subscribe({ "suite", "end" }, handler.suiteEnd)
  busted.subscribe({ "error" }, handler.otherError)
  busted.subscribe({ "failure" }, handler.otherError)

  return handler
end
