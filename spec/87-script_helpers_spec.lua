-- The helpers a script gets for unattended work: mylua.log (levels,
-- timestamped terminal-safe lines on stderr, the host's --verbose and
-- --quiet), mylua.progress (a bar on a terminal, one summary line
-- otherwise), mylua.sleep, mylua.now and mylua.monotonic; and installing
-- the program: make install / uninstall, the installed module under a
-- plain lua5.4, the man page.

local helpers = require "helpers"

local q = helpers.shell_quote
local script, mylua = helpers.temp_script, helpers.run_host

local LEVEL_LINE = "^(%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d%.%d%d%d[+-]%d%d:%d%d) (%u+) +(.*)$"

local function lines(s)
  local t = {}
  for l in s:gmatch("([^\n]*)\n") do t[#t + 1] = l end
  return t
end

-- The log lines of stderr as { level = "INFO", message = "..." }; fails on
-- a line that does not have the log's shape.
local function log_lines(stderr)
  local t = {}
  for _, l in ipairs(lines(stderr)) do
    local stamp, level, message = l:match(LEVEL_LINE)
    assert(stamp, "not a log line: " .. ("%q"):format(l))
    t[#t + 1] = { stamp = stamp, level = level, message = message }
  end
  return t
end

-- A command line running a plain lua5.4 on `code`, which finds the module
-- through LUA_PATH and LUA_CPATH (set by scripts/check, or given).  A build
-- under the sanitizers needs their runtime loaded first.
local function plain_lua(code, lua_path, lua_cpath)
  local env = {}
  if lua_path then env[#env + 1] = "LUA_PATH=" .. q(lua_path) end
  if lua_cpath then env[#env + 1] = "LUA_CPATH=" .. q(lua_cpath) end
  if os.getenv("MYLUA_SANITIZE") == "1" then
    local f = assert(io.popen("gcc -print-file-name=libasan.so"))
    local asan = f:read("l")
    f:close()
    env[#env + 1] = "LD_PRELOAD=" .. q(asan) .. " ASAN_OPTIONS=detect_leaks=0"
  end
  return ("env %s lua5.4 -e %s"):format(table.concat(env, " "), q(code))
end

-- Runs `command` under a pseudo-terminal (util-linux's script), so that
-- its stderr is a terminal; returns what the terminal showed, with the
-- terminal's CR LF turned back into LF.
local function on_terminal(command)
  local out, err, code = helpers.run("script -qfec " .. q(command) .. " /dev/null")
  assert(code == 0, ("exit status %s: %s%s"):format(tostring(code), out, err))
  return (out:gsub("\r\n", "\n"))
end

describe("script helpers", function()
  setup(function()
    assert(helpers.bin() and helpers.bin() ~= "", "MYLUA_BIN is not set")
  end)

  after_each(function()
    helpers.remove_temp_files()
  end)

  describe("mylua.log", function()
    local LEVELS = [[
      local log = require("mylua").log
      log.debug("a debug line")
      log.info("an info line")
      log.warn("a warn line")
      log.error("an error line")
    ]]

    local function levels(stderr)
      local t = {}
      for i, l in ipairs(log_lines(stderr)) do t[i] = l.level .. " " .. l.message end
      return table.concat(t, "|")
    end

    it("writes info, warn and error by default, each a timestamped line on stderr", function()
      local out, err, code = mylua({ "-e", LEVELS })
      assert.are.equal(0, code)
      assert.are.equal("", out)
      assert.are.equal("INFO an info line|WARN a warn line|ERROR an error line", levels(err))
    end)

    it("adds the debug lines with --verbose and keeps only errors with --quiet", function()
      local _, err = mylua({ "--verbose", "-e", LEVELS })
      assert.are.equal("DEBUG a debug line|INFO an info line|WARN a warn line|ERROR an error line", levels(err))
      _, err = mylua({ "--quiet", "-e", LEVELS })
      assert.are.equal("ERROR an error line", levels(err))
      _, err = mylua({ "--quiet", "--verbose", "-e", LEVELS })
      assert.are.equal("DEBUG a debug line", levels(err):match("^[^|]*"), "the last option wins")
    end)

    it("lists --verbose and --quiet in --help", function()
      local out = mylua({ "--help" })
      assert.truthy(out:find("\n  --verbose ", 1, true), out)
      assert.truthy(out:find("\n  --quiet ", 1, true), out)
    end)

    it("stamps local time with milliseconds and the UTC offset", function()
      local before = os.time()
      -- a POSIX TZ string needs no time zone database: UTC+05:30
      local _, err = helpers.run("TZ=IST-5:30 " .. q(helpers.bin()) .. " -e " .. q([[require("mylua").log.info("x")]]))
      local after = os.time()
      local l = log_lines(err)[1]
      local stamp = l.stamp
      assert.are.equal("+05:30", stamp:sub(-6))
      local shifted = {}
      for t = before, after + 1 do shifted[os.date("!%Y-%m-%dT%H:%M:%S", t + 5 * 3600 + 1800)] = true end
      assert.truthy(shifted[stamp:sub(1, 19)], stamp)
      assert.truthy(stamp:match("%.%d%d%d[+-]"), stamp)
    end)

    it("formats with string.format when arguments follow, and writes a lone message as it is", function()
      local _, err, code = mylua({ "-e", [[
        local log = require("mylua").log
        log.info("%d rows in %s", 42, "t")
        log.info("100% done")
        log("warn", "by name: %s", "yes")
        log.info(require("mylua").new_error(1062, "Duplicate entry", "23000"))
      ]] })
      assert.are.equal(0, code, err)
      local t = log_lines(err)
      assert.are.equal("42 rows in t", t[1].message)
      assert.are.equal("100% done", t[2].message)
      assert.are.equal("WARN", t[3].level)
      assert.are.equal("by name: yes", t[3].message)
      assert.are.equal("ERROR 1062 (23000): Duplicate entry", t[4].message)
    end)

    it("escapes control characters and keeps one message on one line", function()
      local _, err = mylua({ "-e", [[
        require("mylua").log.warn("red \27[31mtext\r\nnext\tcol \194\155 end \127")
      ]] })
      local t = log_lines(err)
      assert.are.equal(1, #t)
      assert.are.equal("red \\27[31mtext next\tcol \\194\\155 end \\127", t[1].message)
      assert.falsy(err:find("\27", 1, true))
    end)

    it("has a level to read and set, and says which levels are written", function()
      local out, err, code = mylua({ "-e", [[
        local log = require("mylua").log
        io.write(log.level, " ", tostring(log.enabled("debug")), " ", tostring(log.enabled("info")), "\n")
        log.level = "warn"
        log.info("hidden")
        log.warn("shown")
        io.write(log.level, "\n")
        local ok, e = pcall(function() log.level = "loud" end)
        io.write(tostring(ok), " ", e, "\n")
        ok, e = pcall(log, "verbose", "x")
        io.write(tostring(ok), " ", e, "\n")
      ]] })
      assert.are.equal(0, code, err)
      local o = lines(out)
      assert.are.equal("info false true", o[1])
      assert.are.equal("warn", o[2])
      assert.truthy(o[3]:find('^false .*unknown log level "loud" %(debug, info, warn or error%)'), o[3])
      assert.truthy(o[4]:find('^false .*unknown log level "verbose"'), o[4])
      local t = log_lines(err)
      assert.are.equal(1, #t)
      assert.are.equal("shown", t[1].message)
    end)

    it("raises at the caller for a format that does not fit its arguments", function()
      local _, err, code = mylua({ "-e", [[require("mylua").log.info("%d", "x")]] })
      assert.are.equal(1, code)
      assert.truthy(err:find("^mylua: %(command line%):1: log: bad argument #2 to '[%w.]*format'"), err)
    end)

    it("works the same from the module loaded by a plain lua5.4", function()
      local _, err, code = helpers.run(plain_lua([[
        local log = require("mylua").log
        log.debug("not shown")
        log.info("from %s", "lua5.4")
      ]]))
      assert.are.equal(0, code, err)
      local t = log_lines(err)
      assert.are.equal(1, #t)
      assert.are.equal("from lua5.4", t[1].message)
    end)
  end)

  describe("mylua.progress", function()
    it("writes one summary line at done() when stderr is not a terminal", function()
      local _, err, code = mylua({ "-e", [[
        local mylua = require "mylua"
        local p = mylua.progress{ total = 5, label = "rows" }
        for _ = 1, 4 do p:add() end
        p:add(1)
        io.stderr:write("before done\n")
        p:done()
        p:done()
        local u = mylua.progress{ label = "items" }
        u:set(7)
        u:done()
      ]] })
      assert.are.equal(0, code, err)
      local first, rest = err:match("^([^\n]*)\n(.*)$")
      assert.are.equal("before done", first)
      local t = log_lines(rest)
      assert.are.equal(2, #t)
      assert.are.equal("INFO", t[1].level)
      assert.truthy(t[1].message:find("^rows: 5 of 5 in %d+%.%d s %([%d.]+/s%)$"), t[1].message)
      assert.truthy(t[2].message:find("^items: 7 in %d+%.%d s %([%d.]+/s%)$"), t[2].message)
    end)

    it("says nothing with --quiet", function()
      local out, err, code = mylua({ "--quiet", "-e", [[
        local p <close> = require("mylua").progress{ total = 3, label = "rows" }
        p:add(3)
      ]] })
      assert.are.equal(0, code)
      assert.are.equal("", out)
      assert.are.equal("", err)
    end)

    it("finishes at the end of a <close> scope, also when an error unwinds it", function()
      local _, err, code = mylua({ "-e", [[
        do
          local p <close> = require("mylua").progress{ label = "rows" }
          p:add(2)
        end
        local p <close> = require("mylua").progress{ label = "failing" }
        p:add()
        error("boom")
      ]] })
      assert.are.equal(1, code)
      local l = lines(err)
      assert.are.equal(3, #l, err)
      assert.truthy(l[1]:find(" INFO  rows: 2 in ", 1, true), l[1])
      assert.truthy(l[2]:find(" INFO  failing: 1 in ", 1, true), l[2])
      assert.truthy(l[3]:find("^mylua: %(command line%):7: boom$"), l[3])
    end)

    it("rejects bad options and counts, and use after done", function()
      local out, err, code = mylua({ "-e", [[
        local mylua = require "mylua"
        local function try(f, ...) local ok, e = pcall(f, ...); io.write(tostring(ok), " ", tostring(e), "\n") end
        try(mylua.progress, { totl = 3 })
        try(mylua.progress, { total = -1 })
        try(mylua.progress, { label = 7 })
        local p = mylua.progress{ total = 3 }
        try(p.add, p, "x")
        try(p.set, p, 0 / 0)
        p:done()
        try(p.add, p)
      ]] })
      assert.are.equal(0, code, err)
      local o = lines(out)
      assert.truthy(o[1]:find('^false .*unknown option "totl"'), o[1])
      assert.truthy(o[2]:find("^false .*total must be a count >= 0"), o[2])
      assert.truthy(o[3]:find("^false .*label must be a string"), o[3])
      assert.truthy(o[4]:find("^false .*'add' %(a count >= 0 expected, got string%)"), o[4])
      assert.truthy(o[5]:find("^false .*'set' %(a count >= 0 expected, got NaN%)"), o[5])
      assert.truthy(o[6]:find("^false .*add: the progress is done"), o[6])
    end)

    describe("on a terminal", function()
      it("draws a bar with the count, the rate and the ETA, and ends it with a newline", function()
        local path = script([[
          local mylua = require "mylua"
          local p = mylua.progress{ total = 20, label = "rows" }
          for _ = 1, 20 do mylua.sleep(0.02); p:add() end
          p:done()
          io.stdout:write("END\n")
        ]])
        local screen = on_terminal(q(helpers.bin()) .. " " .. q(path))
        local draws = {}
        for line in screen:gmatch("\r\27%[K([^\r\n]*)") do draws[#draws + 1] = line end
        assert.truthy(#draws >= 3, "expected several drawings, got: " .. ("%q"):format(screen))
        -- a drawing on the way: the bar, the percentage, the count, the rate, the ETA
        local with_eta
        for i = 1, #draws - 1 do
          if draws[i]:find("^rows  %[#+ +%]  +%d+%%  %d+/20  [%d.]+/s  ETA %d+:%d%d$") then with_eta = draws[i] end
        end
        assert.truthy(with_eta, "no drawing with an ETA: " .. ("%q"):format(screen))
        -- the final line: everything counted, the time taken, then the newline
        local final = draws[#draws]
        assert.truthy(final:find("^rows  %[####################%]  100%%  20/20  [%d.]+/s  in 0:0%d$"), final)
        assert.truthy(screen:find("in 0:0%d\nEND\n$"), ("%q"):format(screen))
        -- redrawn at most about ten times a second (the run takes ~0.4 s)
        assert.truthy(#draws <= 12, #draws .. " drawings")
      end)

      it("redraws at most ten times a second however often it is updated", function()
        local path = script([[
          local mylua = require "mylua"
          local t0 = mylua.monotonic()
          local p = mylua.progress{ label = "rows" }
          for _ = 1, 200000 do p:add() end
          p:done()
          io.stdout:write(("ELAPSED %.3f\n"):format(mylua.monotonic() - t0))
        ]])
        local screen = on_terminal(q(helpers.bin()) .. " " .. q(path))
        local elapsed = tonumber(screen:match("ELAPSED ([%d.]+)"))
        local draws = select(2, screen:gsub("\r\27%[K", ""))
        assert.truthy(draws <= math.ceil(elapsed / 0.1) + 2, ("%d drawings in %.3f s"):format(draws, elapsed))
        -- without a total: the count, the rate and the time, no bar
        assert.truthy(screen:find("\r\27%[Krows  200000  [%d.]+/s  in %d+:%d%d\n"), ("%q"):format(screen))
      end)

      it("writes log lines above the bar and draws the bar again below them", function()
        local screen = on_terminal(q(helpers.bin()) .. " -e " .. q([[
          local mylua = require "mylua"
          local p = mylua.progress{ total = 2, label = "rows" }
          p:add()
          mylua.log.warn("in between")
          p:done()
        ]]))
        local above, below = screen:match("\r\27%[K(rows  %[[^\r\n]*)\r\27%[K[^\r\n]* WARN  in between\n(rows  %[[^\r\n]*)\r\27%[K")
        assert.truthy(above, ("%q"):format(screen))
        assert.are.equal(above, below)
        -- done() before the total: the final line keeps the count reached
        assert.truthy(screen:find("\r\27%[Krows  %[##########          %]   50%%  1/2  [%d.]+/s  in 0:00\n$"),
          ("%q"):format(screen))
      end)

      it("shows nothing with --quiet", function()
        local screen = on_terminal(q(helpers.bin()) .. " --quiet -e " .. q([[
          local p <close> = require("mylua").progress{ total = 2, label = "rows" }
          p:add(2)
        ]]))
        assert.are.equal("", screen)
      end)
    end)
  end)

  describe("mylua.sleep", function()
    local mylua = require "mylua"

    it("takes at least the time asked, in fractions of a second", function()
      local t0 = mylua.monotonic()
      assert.are.equal(0, mylua.sleep(0.05))
      local took = mylua.monotonic() - t0
      assert.truthy(took >= 0.05, took)
      assert.truthy(took < 1, took)
      assert.are.equal(0, mylua.sleep(0))
      assert.are.equal(0, mylua.sleep(0.0))
    end)

    it("rejects a negative, NaN, infinite or non-number duration", function()
      assert.has_error(function() mylua.sleep(-0.5) end, "bad argument #1 to 'sleep' (negative duration)")
      assert.has_error(function() mylua.sleep(0 / 0) end, "bad argument #1 to 'sleep' (duration is NaN)")
      assert.has_error(function() mylua.sleep(math.huge) end,
        "bad argument #1 to 'sleep' (duration too long (at most 1e9 seconds))")
      assert.has_error(function() mylua.sleep("1") end, "bad argument #1 to 'sleep' (number expected, got string)")
      assert.has_error(function() mylua.sleep() end, "bad argument #1 to 'sleep' (number expected, got no value)")
    end)

    it("returns early when a signal arrives, so the signal's Lua hook runs at once", function()
      -- lua5.4 turns SIGINT into an "interrupted!" error raised by a hook
      local t0 = helpers.now()
      local _, err, code = helpers.run(plain_lua([[
        local mylua = require "mylua"
        os.execute("(sleep 0.3; kill -INT $PPID) &")
        mylua.sleep(20)
      ]]))
      local took = helpers.now() - t0
      assert.are.equal(1, code, err)
      assert.truthy(err:find("interrupted!", 1, true), err)
      assert.truthy(took < 10, took)
    end)
  end)

  describe("mylua.now and mylua.monotonic", function()
    local mylua = require "mylua"

    it("gives the wall clock in seconds since the epoch, as a float near os.time()", function()
      local t = mylua.now()
      assert.are.equal("float", math.type(t))
      assert.truthy(math.abs(t - os.time()) < 2, t)
    end)

    it("increases, with microsecond resolution", function()
      local a = mylua.now()
      mylua.sleep(0.01)
      local b = mylua.now()
      assert.truthy(b - a >= 0.009, b - a)
      local below_ms = false
      for _ = 1, 50 do
        local v = mylua.now()
        local us = v * 1e6
        assert.truthy(math.abs(us - math.floor(us + 0.5)) < 0.3, ("%.7f is not whole microseconds"):format(v))
        if math.abs(v * 1000 - math.floor(v * 1000 + 0.5)) > 1e-3 then below_ms = true end
        mylua.sleep(0.0003)
      end
      assert.truthy(below_ms, "no value had digits below the millisecond")
    end)

    it("has a monotonic clock for durations", function()
      local a = mylua.monotonic()
      mylua.sleep(0.01)
      local b = mylua.monotonic()
      assert.truthy(b - a >= 0.01, b - a)
      assert.truthy(b - a < 1, b - a)
    end)
  end)

  describe("make install", function()
    local root

    -- The build under test (build or build-san), relative to the repository.
    local function build_dir()
      return assert(helpers.bin():match("([^/]+)/mylua$"))
    end

    local function make(target)
      local cmd = ("make -s %s DESTDIR=%s PREFIX=/usr BUILD=%s%s"):format(target, q(root), q(build_dir()),
        os.getenv("MYLUA_SANITIZE") == "1" and " SANITIZE=1" or "")
      local out, err, code = helpers.run(cmd)
      assert(code == 0, ("%s: exit %s\n%s%s"):format(cmd, tostring(code), out, err))
    end

    local function files_under(dir)
      local f = assert(io.popen("find " .. q(dir) .. " -type f | sort"))
      local t = {}
      for l in f:lines() do t[#t + 1] = l:sub(#dir + 2) end
      f:close()
      return t
    end

    setup(function()
      root = os.tmpname()
      os.remove(root)
      assert(os.execute("mkdir " .. q(root)))
      make("install")
    end)

    teardown(function()
      if root then os.execute("rm -rf " .. q(root)) end
    end)

    it("puts the program, the man page and the Lua module under DESTDIR and PREFIX", function()
      local files = table.concat(files_under(root), " ")
      for _, want in ipairs{ "usr/bin/mylua", "usr/share/man/man1/mylua.1", "usr/lib/lua/5.4/mylua/core.so",
        "usr/share/lua/5.4/mylua/init.lua", "usr/share/lua/5.4/mylua/safe.lua",
        "usr/share/lua/5.4/mylua/log.lua", "usr/share/lua/5.4/mylua/progress.lua" } do
        assert.truthy((" " .. files .. " "):find(" " .. want .. " ", 1, true), want .. " not in: " .. files)
      end
    end)

    it("installs a program that runs a script against the server without the source tree", function()
      local path = script(([[
        local db <close> = require("mylua").connect(%s)
        io.write(db:query("SELECT 6 * 7 AS n"):row(1).n, "\n")
        require("mylua").log.info("done")
      ]]):format(helpers.options_source(helpers.params())))
      local out, err, code = helpers.run("cd / && env -u LUA_PATH -u LUA_CPATH " .. q(root .. "/usr/bin/mylua")
        .. " " .. q(path))
      assert.are.equal(0, code, err)
      assert.are.equal("42\n", out)
      assert.are.equal("done", log_lines(err)[1].message)
    end)

    it("installs a module a plain lua5.4 loads from the Lua directories", function()
      local share, lib = root .. "/usr/share/lua/5.4", root .. "/usr/lib/lua/5.4"
      local out, err, code = helpers.run("cd / && " .. plain_lua([[
        local mylua = require "mylua"
        local safe = require "mylua.safe"
        io.write(package.searchpath("mylua.core", package.cpath), "\n")
        io.write(package.searchpath("mylua", package.path), "\n")
        io.write(mylua.version, " ", math.type(mylua.now()), " ", tostring(safe.sleep == mylua.sleep), "\n")
      ]], share .. "/?.lua;" .. share .. "/?/init.lua", lib .. "/?.so"))
      assert.are.equal(0, code, err)
      local o = lines(out)
      assert.are.equal(lib .. "/mylua/core.so", o[1])
      assert.are.equal(share .. "/mylua/init.lua", o[2])
      assert.truthy(o[3]:find("^%d+%.%d+%.%d+ float true$"), o[3])
    end)

    it("installs a man page that man renders without warnings", function()
      local page = root .. "/usr/share/man/man1/mylua.1"
      local out, err, code = helpers.run("MANWIDTH=80 man --warnings -l " .. q(page))
      assert.are.equal(0, code, err)
      assert.are.equal("", err)
      for _, section in ipairs{ "NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "ENVIRONMENT", "EXIT STATUS",
        "FILES", "EXAMPLES", "SEE ALSO" } do
        assert.truthy(out:find("\n" .. section .. "\n", 1, true), section)
      end
      for _, option in ipairs{ "--defaults-extra-file", "--lock", "--timeout", "--verbose", "--quiet",
        "--ssl-mode", "MYSQL_PWD", "MYLUA_TRACEBACK" } do
        assert.truthy(out:find(option, 1, true), option)
      end
      assert.truthy(out:find("15 3 * * * mylua", 1, true), "no crontab line")
      _, err, code = helpers.run("groff -man -Tutf8 -ww -z " .. q(page))
      assert.are.equal(0, code, err)
      assert.are.equal("", err)
    end)

    it("lists every option of --help in the man page", function()
      local help = mylua({ "--help" })
      local page = helpers.run("MANWIDTH=200 man -l " .. q(root .. "/usr/share/man/man1/mylua.1"))
      for option in help:gmatch("%-%-[%w-]+") do
        assert.truthy(page:find(option, 1, true), option .. " is in --help but not in the man page")
      end
    end)

    it("removes every file again with make uninstall", function()
      make("uninstall")
      assert.are.same({}, files_under(root))
      make("install")
    end)
  end)
end)
