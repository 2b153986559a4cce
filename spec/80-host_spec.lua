-- The host program: how `mylua` runs scripts and code given with -e, what
-- a script sees in `arg` and `...`, the embedded modules, and the exit codes
-- and stderr lines an unattended job is judged by.

local helpers = require "helpers"

local bin = helpers.bin()
local q = helpers.shell_quote

local script, mylua = helpers.temp_script, helpers.run_host

-- Lua source for a table constructor holding the test server's connect
-- options, for scripts the host runs.
local function params_source()
  return helpers.options_source(helpers.params())
end

local function lines(s)
  local t = {}
  for l in s:gmatch("[^\n]*\n?") do
    if l ~= "" then t[#t + 1] = l:gsub("\n$", "") end
  end
  return t
end

-- stderr holds exactly one line, starting with "mylua: ".
local function assert_one_error_line(stderr)
  assert(stderr:match("^mylua: [^\n]*\n$"),
    "expected one line starting with 'mylua: ' on stderr, got: " .. ("%q"):format(stderr))
end

local function sleep(seconds)
  os.execute("sleep " .. seconds)
end

describe("the mylua host program", function()
  setup(function()
    assert(bin and bin ~= "", "MYLUA_BIN is not set")
  end)

  after_each(function()
    helpers.remove_temp_files()
  end)

  describe("script arguments", function()
    it("gives the script arg[0] = its path and its arguments from arg[1]", function()
      local path = script("")
      local f = assert(io.open(path, "wb"))
      f:write(([[
        assert(arg[0] == %q, "arg[0] is " .. tostring(arg[0]))
        io.write(arg[1], "|", arg[2], "|", #arg, "\n")
      ]]):format(path))
      f:close()
      local out, err, code = mylua({ path, "a", "b" })
      assert.are.equal("", err)
      assert.are.equal(0, code)
      assert.are.equal("a|b|2\n", out)
    end)

    it("passes the arguments as the chunk's varargs (...)", function()
      local path = script([[
        local n = select("#", ...)
        io.write(n, ":", table.concat({ ... }, "|"), "\n")
      ]])
      local out, err, code = mylua({ path, "a", "b" })
      assert.are.equal("", err)
      assert.are.equal(0, code)
      assert.are.equal("2:a|b\n", out)
    end)

    it("keeps an argument with spaces and quotes as one argument", function()
      local path = script([[io.write(#arg, ":", arg[1], "\n")]])
      local out, _, code = mylua({ path, "it's a b" })
      assert.are.equal(0, code)
      assert.are.equal("1:it's a b\n", out)
    end)

    it("puts the program at arg[-1]", function()
      local path = script([[io.write(tostring(arg[-1]), "\n")]])
      local out, _, code = mylua({ path })
      assert.are.equal(0, code)
      assert.are.equal(bin .. "\n", out)
    end)

    it("gives a script run without arguments an empty arg list", function()
      local path = script([[io.write(#arg, " ", select("#", ...), "\n")]])
      local out, _, code = mylua({ path })
      assert.are.equal(0, code)
      assert.are.equal("0 0\n", out)
    end)
  end)

  describe("-e", function()
    it("runs the code given", function()
      local out, err, code = mylua({ "-e", "print(1+1)" })
      assert.are.equal("", err)
      assert.are.equal(0, code)
      assert.are.equal("2\n", out)
    end)

    it("runs several -e in order", function()
      local out, _, code = mylua({ "-e", "x = 1", "-e", "x = x * 10 + 2", "-e", "io.write(x, '\\n')" })
      assert.are.equal(0, code)
      assert.are.equal("12\n", out)
    end)

    it("runs -e before the script, in the same state", function()
      local path = script([[io.write(tostring(preset), "\n")]])
      local out, _, code = mylua({ "-e", "preset = 'yes'", path })
      assert.are.equal(0, code)
      assert.are.equal("yes\n", out)
    end)

    it("stops at the first -e that fails", function()
      local out, err, code = mylua({ "-e", "error('first')", "-e", "print('second')" })
      assert.are.equal(1, code)
      assert.are.equal("", out)
      assert_one_error_line(err)
      assert.truthy(err:find("first", 1, true))
    end)

    it("exits 2 with a usage message when -e has no argument", function()
      local out, err, code = mylua({ "-e" })
      assert.are.equal(2, code)
      assert.are.equal("", out)
      assert.truthy(err:find("usage", 1, true), "no usage on stderr: " .. err)
    end)
  end)

  describe("embedded modules", function()
    local env = "env -u LUA_PATH -u LUA_CPATH -u LUA_PATH_5_4 -u LUA_CPATH_5_4 "

    it("loads require 'mylua' without LUA_PATH", function()
      local out, err, code = helpers.run(env .. q(bin) .. " -e " ..
        q("local m = require 'mylua'; io.write(type(m.connect), ' ', type(m.version), '\\n')"))
      assert.are.equal("", err)
      assert.are.equal(0, code)
      assert.are.equal("function string\n", out)
    end)

    it("loads require 'mylua.safe' without LUA_PATH", function()
      local out, err, code = helpers.run(env .. q(bin) .. " -e " ..
        q("local s = require 'mylua.safe'; io.write(type(s.connect), '\\n')"))
      assert.are.equal("", err)
      assert.are.equal(0, code)
      assert.are.equal("function\n", out)
    end)

    it("does not look for the modules on the file system", function()
      -- A directory with a decoy mylua.lua first on LUA_PATH is not used.
      local dir = os.tmpname()
      os.remove(dir)
      assert(os.execute("mkdir " .. q(dir)))
      local f = assert(io.open(dir .. "/mylua.lua", "wb"))
      f:write("return { decoy = true }\n")
      f:close()
      local out, _, code = helpers.run("LUA_PATH=" .. q(dir .. "/?.lua;;") .. " " .. q(bin) .. " -e " ..
        q("io.write(tostring(require('mylua').decoy), '\\n')"))
      os.remove(dir .. "/mylua.lua")
      os.remove(dir)
      assert.are.equal(0, code)
      assert.are.equal("nil\n", out)
    end)
  end)

  describe("uncaught errors", function()
    it("print one line on stderr starting with 'mylua: ' and exit 1", function()
      local path = script([[
        io.write("before\n")
        error("boom")
        io.write("after\n")
      ]])
      local out, err, code = mylua({ path })
      assert.are.equal(1, code)
      assert.are.equal("before\n", out)
      assert_one_error_line(err)
      assert.truthy(err:find(":2: boom", 1, true), err)
    end)

    it("print a non-string error value as one line too", function()
      local out, err, code = mylua({ "-e", "error(setmetatable({}, { __tostring = function() return 'custom' end }))" })
      assert.are.equal(1, code)
      assert.are.equal("", out)
      assert.are.equal("mylua: custom\n", err)
    end)

    it("print a server error object in the mysql client's format, placed at the script's line", function()
      local p = helpers.params()
      local path = script(([[
        local mylua = require "mylua"
        local db = mylua.connect(%s)
        db:query("SELECT * FROM nope")
        print("not reached")
      ]]):format(params_source()))
      local out, err, code = mylua({ path })
      assert.are.equal(1, code)
      assert.are.equal("", out)
      assert.are.equal(("mylua: %s:3: ERROR 1146 (42S02): Table '%s.nope' doesn't exist\n"):format(path, p.database), err)
    end)

    it("print a client error object in the same format", function()
      local out, err, code = mylua({ "-e",
        "require('mylua').connect{ host = '127.0.0.1', port = 1, user = 'x', connect_timeout = 5 }" })
      assert.are.equal(1, code)
      assert.are.equal("", out)
      assert_one_error_line(err)
      assert.truthy(err:match("^mylua: %(command line%):1: ERROR 2003 %(HY000%): "), err)
    end)

    it("add a traceback with --traceback", function()
      local path = script([[
        local function inner() error("deep") end
        local function outer() inner() end
        outer()
      ]])
      local out, err, code = mylua({ "--traceback", path })
      assert.are.equal(1, code)
      assert.are.equal("", out)
      local l = lines(err)
      assert(#l > 1, "expected a traceback, got: " .. err)
      assert.truthy(l[1]:match("^mylua: .*deep"), err)
      assert.truthy(err:find("stack traceback:", 1, true), err)
      assert.truthy(err:find("inner", 1, true), err)
    end)

    it("add a traceback to an error object with --traceback", function()
      local path = script(([[
        local db = require("mylua").connect(%s)
        db:query("SELECT * FROM nope")
      ]]):format(params_source()))
      local _, err, code = mylua({ "--traceback", path })
      assert.are.equal(1, code)
      local l = lines(err)
      assert(#l > 1, "expected a traceback, got: " .. err)
      assert.truthy(l[1]:match("^mylua: [^\n]*:2: ERROR 1146 %(42S02%): "), err)
    end)

    it("report a syntax error in the script on one line and exit 1", function()
      local path = script("local x = = 1\n")
      local out, err, code = mylua({ path })
      assert.are.equal(1, code)
      assert.are.equal("", out)
      assert_one_error_line(err)
      assert.truthy(err:find(":1:", 1, true), err)
    end)

    it("report a syntax error in -e code on one line and exit 1", function()
      local out, err, code = mylua({ "-e", "print(" })
      assert.are.equal(1, code)
      assert.are.equal("", out)
      assert_one_error_line(err)
    end)

    it("report a missing script file on one line and exit 1", function()
      local missing = os.tmpname()
      os.remove(missing)
      local out, err, code = mylua({ missing .. ".lua" })
      assert.are.equal(1, code)
      assert.are.equal("", out)
      assert_one_error_line(err)
      assert.truthy(err:find(missing .. ".lua", 1, true), err)
    end)
  end)

  describe("exit codes", function()
    it("exits 0 when the script ends normally, printing nothing", function()
      local out, err, code = mylua({ script("local x = 1\n") })
      assert.are.equal(0, code)
      assert.are.equal("", out)
      assert.are.equal("", err)
    end)

    it("exits with os.exit(n)", function()
      local _, err, code = mylua({ "-e", "os.exit(3)" })
      assert.are.equal(3, code)
      assert.are.equal("", err)
    end)

    it("exits 0 with os.exit(true) and 1 with os.exit(false)", function()
      local _, _, code = mylua({ "-e", "os.exit(true)" })
      assert.are.equal(0, code)
      _, _, code = mylua({ "-e", "os.exit(false)" })
      assert.are.equal(1, code)
    end)

    it("exits 2 with usage on stderr for an unknown option", function()
      local out, err, code = mylua({ "--no-such-option", script("print('ran')") })
      assert.are.equal(2, code)
      assert.are.equal("", out)
      assert.truthy(err:find("usage", 1, true), "no usage on stderr: " .. err)
      assert.truthy(err:find("--no-such-option", 1, true), "the option is not named: " .. err)
    end)
  end)

  describe("other options and input", function()
    it("prints a version with -V and --version", function()
      for _, flag in ipairs{ "-V", "--version" } do
        local out, err, code = mylua({ flag })
        assert.are.equal(0, code)
        assert.are.equal("", err)
        assert.truthy(out:match("^mylua %d+%.%d+"), out)
      end
    end)

    it("prints its usage with --help and exits 0", function()
      local out, err, code = mylua({ "--help" })
      assert.are.equal(0, code)
      assert.are.equal("", err)
      assert.truthy(out:find("usage: mylua", 1, true), out)
    end)

    it("reads the script from standard input with -", function()
      local out, err, code = mylua({ "-", "a", "b" },
        "io.write(arg[0], ' ', table.concat({ ... }, '|'), '\\n')")
      assert.are.equal("", err)
      assert.are.equal(0, code)
      assert.are.equal("- a|b\n", out)
    end)

    it("reports an error in a script from standard input on one line", function()
      local out, err, code = mylua({ "-" }, "error('from stdin')")
      assert.are.equal(1, code)
      assert.are.equal("", out)
      assert_one_error_line(err)
      assert.truthy(err:find("from stdin", 1, true), err)
    end)
  end)

  describe("the Lua state", function()
    it("keeps warn() off until warn('@on'), as lua does, and writes warnings to stderr", function()
      local out, err, code = mylua({ "-e", [[
        warn("not shown")
        warn("@on")
        warn("first ", "in ", "pieces")
        warn("second")
        warn("@off")
        warn("not shown either")
        io.write("done\n")
      ]] })
      assert.are.equal(0, code)
      assert.are.equal("done\n", out)
      assert.are.equal("Lua warning: first in pieces\nLua warning: second\n", err)
    end)

    it("runs the collector in generational mode, as lua does, and a script can switch it back", function()
      local out, err, code = mylua({ "-e", [[
        local was = collectgarbage("incremental")
        local now = collectgarbage("generational")
        io.write(was, " ", now, "\n")
      ]] })
      assert.are.equal("", err)
      assert.are.equal(0, code)
      assert.are.equal("generational incremental\n", out)
    end)

    it("keeps every value of a garbage-heavy run and gives its memory back to Lua's count", function()
      -- strings of every class size and past it, tables grown and shrunk,
      -- all collected, then counted again
      local out, err, code = mylua({ "-e", [[
        local before = collectgarbage("count")
        local keep, sum = {}, 0
        for i = 1, 300000 do
          local s = ("%d:"):format(i) .. ("x"):rep(i % 700)
          local t = { s, i, name = s:sub(1, 20) }
          if i % 100 == 0 then keep[#keep + 1] = t end
          sum = sum + #t[1] + #t.name
        end
        local peak = collectgarbage("count")
        for k, t in ipairs(keep) do
          local i = k * 100
          assert(t[1] == ("%d:"):format(i) .. ("x"):rep(i % 700) and t[2] == i, "row " .. i .. " changed")
        end
        keep = nil
        collectgarbage() collectgarbage()
        local after = collectgarbage("count")
        io.write(sum, " ", after < peak and after - before < 1024 and "freed" or
                 ("kept %.0f KiB of %.0f"):format(after - before, peak - before), "\n")
      ]] })
      assert.are.equal("", err)
      assert.are.equal(0, code)
      local want = 0
      for i = 1, 300000 do
        local n = #("%d:"):format(i) + i % 700
        want = want + n + math.min(n, 20)
      end
      assert.are.equal(want .. " freed\n", out)
    end)
  end)

  describe("connections left open", function()
    local db

    before_each(function()
      db = helpers.connect()
    end)

    after_each(function()
      if db then db:close() end
    end)

    local function thread_alive(id)
      local res = db:query("SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE ID = ?", id)
      return res:row(1).n > 0
    end

    -- Polls for up to two seconds; true when thread `id` is gone.
    local function gone_soon(id)
      for _ = 1, 20 do
        if not thread_alive(id) then return true end
        sleep(0.1)
      end
      return false
    end

    local function aborted_clients()
      local res = db:query("SHOW GLOBAL STATUS LIKE 'Aborted_clients'")
      return tonumber(res:row(1, "a")[2])
    end

    -- Runs a script that connects, prints its thread id, then `tail`.
    local function run_leaving_open(tail)
      local path = script(([[
        local mylua = require "mylua"
        kept = mylua.connect(%s)
        local forgotten = mylua.connect(%s)
        io.write(kept.thread_id, " ", forgotten.thread_id, "\n")
        io.stdout:flush()
        %s
      ]]):format(params_source(), params_source(), tail))
      local out, err, code = mylua({ path })
      local a, b = out:match("^(%d+) (%d+)\n")
      assert(a, "no thread ids printed; stdout: " .. out .. "; stderr: " .. err)
      return math.tointeger(tonumber(a)), math.tointeger(tonumber(b)), code, err
    end

    it("are closed when the script ends", function()
      local before = aborted_clients()
      local a, b, code, err = run_leaving_open("")
      assert.are.equal(0, code, err)
      assert.is_true(gone_soon(a), "thread " .. a .. " still there")
      assert.is_true(gone_soon(b), "thread " .. b .. " still there")
      -- closed with COM_QUIT, not dropped: the server counts no aborted client
      assert.are.equal(before, aborted_clients())
    end)

    it("are closed when the script ends with an uncaught error", function()
      local before = aborted_clients()
      local a, b, code = run_leaving_open("error('stop')")
      assert.are.equal(1, code)
      assert.is_true(gone_soon(a), "thread " .. a .. " still there")
      assert.is_true(gone_soon(b), "thread " .. b .. " still there")
      assert.are.equal(before, aborted_clients())
    end)

    it("are gone when the script calls os.exit", function()
      local a, b, code = run_leaving_open("os.exit(4)")
      assert.are.equal(4, code)
      assert.is_true(gone_soon(a), "thread " .. a .. " still there")
      assert.is_true(gone_soon(b), "thread " .. b .. " still there")
    end)
  end)
end)
