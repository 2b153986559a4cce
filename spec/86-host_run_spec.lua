-- Unattended runs of the host program: the exit codes a cron job is judged
-- by (0, 1 with one line, 2, 3 for --lock held, 4 for --timeout, 128 +
-- the signal), the named lock of --lock, the whole-run bound of --timeout
-- (through a long statement, a Lua loop, pcall), and SIGINT and SIGTERM,
-- which cancel the statement on the server (KILL QUERY, the connection
-- stays) and end the script.

local helpers = require "helpers"

local bin = helpers.bin()
local q = helpers.shell_quote
local script, mylua = helpers.temp_script, helpers.run_host

local PARAMS = helpers.options_source(helpers.params())

-- The lock's connection is made as mylua.connect() with no arguments:
-- from the command line's connection options.  Where the command line
-- names no server, an --auth-hook file (which runs before the lock is
-- taken) puts the test server into connect's defaults instead.
local conn_args
local function connection_args()
  if conn_args then return conn_args end
  local help = mylua({ "--help" })
  local p = helpers.params()
  if help:find("--host", 1, true) and help:find("--password", 1, true) then
    conn_args = { "--host=" .. p.host, "--port=" .. p.port, "--user=" .. p.user,
                  "--password=" .. p.password, "--database=" .. p.database }
  else
    local set = {}
    for k, v in pairs(p) do set[#set + 1] = ("t[%q] = %q"):format(k, tostring(v)) end
    table.sort(set)
    local path = os.tmpname()
    local f = assert(io.open(path, "wb"))
    f:write("local t = debug.getregistry()['mylua.host_defaults']\n", table.concat(set, "\n"),
      "\nt.port = math.tointeger(t.port)\nreturn {}\n")
    f:close()
    conn_args = { "--auth-hook", path }
  end
  return conn_args
end

local function with_conn(...)
  return helpers.append(connection_args(), ...)
end

-- A unique lock name per test.
local lock_no = 0
local function lock_name()
  lock_no = lock_no + 1
  return ("mylua-spec86-%d-%d"):format(math.random(1, 1 << 30), lock_no)
end

-- Starts the host program in the background with `args`; stderr goes to
-- a file.  Returns a handle: its pid, and read_line/finish for its stdout
-- and exit code.  Every run is bounded by --timeout 60 of its own.
local function start(args)
  return helpers.start(helpers.append({ bin, "--timeout", "60" }, table.unpack(args)))
end

-- Waits (up to 10 s) until pred() is true.
local function wait_until(what, pred, observer)
  for _ = 1, 200 do
    if pred() then return end
    observer:query("DO SLEEP(0.05)")
  end
  error("gave up waiting: " .. what)
end

describe("an unattended run of the host program", function()
  local observer

  setup(function()
    assert(bin and bin ~= "", "MYLUA_BIN is not set")
    observer = helpers.connect()
  end)

  teardown(function()
    if observer then observer:close() end
    if conn_args and conn_args[1] == "--auth-hook" then os.remove(conn_args[2]) end
  end)

  after_each(function()
    helpers.remove_temp_files()
  end)

  local function aborted_clients()
    return math.tointeger(tonumber(
      observer:query("SHOW GLOBAL STATUS LIKE 'Aborted_clients'"):row(1, "a")[2]))
  end

  local function process(id)
    return observer:query("SELECT COMMAND, INFO FROM information_schema.PROCESSLIST WHERE ID = ?",
      id):row(1, "a")
  end

  -- True once the thread's statement running `text` shows in the processlist.
  local function running(id, text)
    local row = process(id)
    return row ~= nil and type(row[2]) == "string" and row[2]:find(text, 1, true) ~= nil
  end

  local function lock_holder(name)
    local id = observer:query("SELECT IS_USED_LOCK(?)", name):row(1, "a")[1]
    return math.type(id) and id or nil
  end

  describe("exit codes", function()
    it("is 0 with nothing printed when the script succeeds, with --lock and --timeout too", function()
      local path = script(([[
        local db = require("mylua").connect(%s)
        db:query("SELECT 1")
      ]]):format(PARAMS))
      local out, err, code = mylua(with_conn("--lock", lock_name(), "--timeout", "30", path))
      assert.are.equal("", err)
      assert.are.equal("", out)
      assert.are.equal(0, code)
    end)

    it("is 1 for an uncaught error: one line, the script's place and the server's error", function()
      local path = script(([[
        local db = require("mylua").connect(%s)
        db:query("SELEC 1")
      ]]):format(PARAMS))
      local out, err, code = mylua({ "--timeout", "30", path })
      assert.are.equal(1, code)
      assert.are.equal("", out)
      local pat = "^mylua: " .. path:gsub("%p", "%%%0") .. ":2: ERROR 1064 %(42000%): [^\n]*\n$"
      assert.truthy(err:find(pat), err)
    end)

    it("is 1 with the traceback after the line with --traceback", function()
      local path = script(([[
        local db = require("mylua").connect(%s)
        local function run() db:query("SELEC 1") end
        run()
      ]]):format(PARAMS))
      local _, err, code = mylua({ "--traceback", path })
      assert.are.equal(1, code)
      assert.truthy(err:find("^mylua: [^\n]*:2: ERROR 1064 %(42000%)"), err)
      assert.truthy(err:find("\nstack traceback:\n", 1, true), err)
      assert.truthy(err:find("in local 'run'", 1, true), err)
    end)

    it("is 2 for a bad --lock or --timeout", function()
      helpers.assert_host_usage_error({ "--timeout", "0" }, "--timeout")
      helpers.assert_host_usage_error({ "--timeout", "-3" }, "--timeout")
      helpers.assert_host_usage_error({ "--timeout=soon" }, "--timeout")
      helpers.assert_host_usage_error({ "--timeout", "nan" }, "--timeout")
      helpers.assert_host_usage_error({ "--timeout", "1e9" }, "--timeout")
      helpers.assert_host_usage_error({ "--lock=" }, "--lock")
      helpers.assert_host_usage_error({ "--lock", ("x"):rep(65) }, "--lock")
      local _, err, code = mylua({ "--lock" })
      assert.are.equal(2, code)
      assert.truthy(err:find("'--lock' needs an argument", 1, true), err)
    end)

    it("takes --timeout with a fraction and --lock=NAME", function()
      local out, err, code = mylua(with_conn("--timeout=2.5", "--lock=" .. lock_name(),
        "-e", "print('ran')"))
      assert.are.equal("", err)
      assert.are.equal("ran\n", out)
      assert.are.equal(0, code)
    end)
  end)

  describe("--lock", function()
    it("exits 3 without running anything while another session holds the lock, naming it and the holder", function()
      local name = lock_name()
      assert.are.equal(1, observer:query("SELECT GET_LOCK(?, 0)", name):row(1, "a")[1])
      local out, err, code = mylua(with_conn("--lock", name, "-e", "print('ran')"))
      observer:query("DO RELEASE_LOCK(?)", name)
      assert.are.equal(3, code)
      assert.are.equal("", out)
      assert.are.equal(("mylua: lock '%s' is held by another run (connection %d)\n")
        :format(name, observer.thread_id), err)
    end)

    it("lets one of two runs with the same lock run; the lock is free once it ends", function()
      local name = lock_name()
      local flag = os.tmpname()
      os.remove(flag)
      local first = start(with_conn("--lock", name, script(([[
        print("running")
        io.stdout:flush()
        local db = require("mylua").connect(%s)
        while not io.open(%q) do db:query("DO SLEEP(0.05)") end
      ]]):format(PARAMS, flag))))
      assert.are.equal("running", first.read_line())
      local holder = lock_holder(name)
      assert.is_not_nil(holder, "the lock is not held while the first run runs")

      local out, err, code = mylua(with_conn("--lock", name, "-e", "print('second ran')"))
      assert.are.equal(3, code)
      assert.are.equal("", out)
      assert.are.equal(("mylua: lock '%s' is held by another run (connection %d)\n")
        :format(name, holder), err)

      assert(io.open(flag, "w")):close()
      local rest, code1, err1 = first.finish()
      os.remove(flag)
      assert.are.equal("", err1)
      assert.are.equal("", rest)
      assert.are.equal(0, code1)
      assert.is_nil(lock_holder(name))
      assert.are.equal(1, observer:query("SELECT IS_FREE_LOCK(?)", name):row(1, "a")[1])
      -- and the next run takes it
      out, err, code = mylua(with_conn("--lock", name, "-e", "print('third ran')"))
      assert.are.same({ "third ran\n", "", 0 }, { out, err, code })
    end)

    it("holds the lock on a connection of its own, which the script does not see", function()
      local name = lock_name()
      local out, err, code = mylua(with_conn("--lock", name, "-e", ([[
        local db = require("mylua").connect(%s)
        local holder = db:query("SELECT IS_USED_LOCK(?)", %q):row(1, "a")[1]
        io.write(tostring(math.type(holder) and holder ~= db.thread_id), "\n")
      ]]):format(PARAMS, name)))
      assert.are.same({ "true\n", "", 0 }, { out, err, code })
    end)

    it("warns at the end when the lock's connection was lost during the run", function()
      local name = lock_name()
      local out, err, code = mylua(with_conn("--lock", name, "-e", ([[
        local db = require("mylua").connect(%s)
        local holder = db:query("SELECT IS_USED_LOCK(?)", %q):row(1, "a")[1]
        db:query("KILL ?", holder)
        print("done")
      ]]):format(PARAMS, name)))
      assert.are.equal(0, code) -- the script's own status
      assert.are.equal("done\n", out)
      assert.truthy(err:find(("^mylua: warning: lock '%s' was lost during the run %%(its connection failed: [^\n]*another run may have taken it meanwhile\n$")
        :format(name:gsub("%p", "%%%0"))), err)
      assert.is_nil(lock_holder(name))
    end)

    it("fails with exit 1 and one line when the lock cannot be asked for", function()
      -- connect's defaults name a port where nobody listens
      local hook = script([[
        local t = debug.getregistry()['mylua.host_defaults']
        t.host, t.port, t.protocol = "127.0.0.1", 1, "tcp"
        return {}
      ]])
      local out, err, code = mylua({ "--auth-hook", hook, "--lock", "nobody-there", "-e", "print('ran')" })
      assert.are.equal(1, code)
      assert.are.equal("", out)
      assert.truthy(err:find("^mylua: %-%-lock 'nobody%-there': ERROR 2003 %(HY000%): [^\n]*\n$"), err)
    end)
  end)

  describe("--timeout", function()
    local function timed(args)
      local t0 = helpers.now()
      local out, err, code = mylua(args)
      return out, err, code, helpers.now() - t0
    end

    it("cancels a long statement on the server and exits 4", function()
      local path = script(([[
        local db = require("mylua").connect(%s)
        print(db.thread_id)
        io.stdout:flush()
        db:query("SELECT SLEEP(30) /* spec86 timeout */")
      ]]):format(PARAMS))
      local before = aborted_clients()
      local out, err, code, took = timed({ "--timeout", "1", path })
      assert.are.equal(4, code)
      assert.truthy(took < 6, "took " .. took .. " s")
      assert.truthy(err:find("^mylua: run timed out after 1 s %([^\n]*:4: ERROR 1317 %(70100%): [^\n]*%)\n$"), err)
      local id = math.tointeger(tonumber(out:match("^(%d+)\n")))
      wait_until("the script's connection ends", function() return process(id) == nil end, observer)
      assert.are.equal(before, aborted_clients()) -- closed with COM_QUIT: it was never killed
    end)

    it("stops a pure Lua loop", function()
      local path = script("local n = 0\nwhile true do n = n + 1 end\n")
      local out, err, code, took = timed({ "--timeout", "0.5", path })
      assert.are.equal(4, code)
      assert.are.equal("", out)
      assert.truthy(took < 5, "took " .. took .. " s")
      assert.are.equal(("mylua: run timed out after 0.5 s (at %s:2)\n"):format(path), err)
    end)

    it("stops a script that catches every error with pcall", function()
      local path = script(([[
        local db = require("mylua").connect(%s)
        while true do
          pcall(db.query, db, "SELECT SLEEP(30)")
          pcall(function() while true do end end)
        end
      ]]):format(PARAMS))
      local _, err, code, took = timed({ "--timeout", "1", path })
      assert.are.equal(4, code)
      assert.truthy(took < 6, "took " .. took .. " s")
      assert.truthy(err:find("^mylua: run timed out after 1 s[^\n]*\n$"), err)
    end)

    it("ends the program itself when the script does not stop within 5 s (a loop in a coroutine)", function()
      local path = script("coroutine.wrap(function() while true do end end)()\n")
      local out, err, code, took = timed({ "--timeout", "0.5", path })
      assert.are.equal(4, code)
      assert.are.equal("", out)
      assert.truthy(took >= 5 and took < 10, "took " .. took .. " s")
      assert.are.equal("mylua: run timed out after 0.5 s, and the script did not stop within 5 s: exiting\n", err)
    end)

    it("bounds the whole run: the time taken before counts", function()
      local path = script(([[
        local db = require("mylua").connect(%s)
        db:query("DO SLEEP(0.6)")
        print("first")
        io.stdout:flush()
        db:query("DO SLEEP(0.6)")
        print("second")
      ]]):format(PARAMS))
      local out, _, code = timed({ "--timeout", "1", path })
      assert.are.equal(4, code)
      assert.are.equal("first\n", out)
    end)
  end)

  describe("signals", function()
    -- Starts a script that prints its connection's thread id and runs
    -- SELECT SLEEP(10) on it; returns the handle and the id once the
    -- statement shows in the processlist.
    local function start_sleeper(extra_args, connect_opts)
      local h = start(helpers.append(extra_args or {}, script(([[
        local db = require("mylua").connect(%s)
        print(db.thread_id)
        io.stdout:flush()
        db:query("SELECT SLEEP(10) /* spec86 signal */")
        print("not interrupted")
      ]]):format(connect_opts or PARAMS))))
      local id = math.tointeger(tonumber(h.read_line()))
      assert(id, "no thread id printed")
      wait_until("the statement runs", function() return running(id, "spec86 signal") end, observer)
      return h, id
    end

    local function check_cancelled(signame, status)
      local before = aborted_clients()
      local h, id = start_sleeper()
      local t0 = helpers.now()
      h.signal(signame)
      local rest, code, err = h.finish()
      assert.truthy(helpers.now() - t0 < 5, "did not stop promptly")
      assert.are.equal(status, code)
      assert.are.equal("", rest)
      -- KILL QUERY: the statement ended with 1317, not the connection (which
      -- would give 2013), and the script stopped right there
      assert.truthy(err:find(("^mylua: interrupted by SIG%s %%([^\n]*:4: ERROR 1317 %%(70100%%): Query execution was interrupted%%)\n$")
        :format(signame)), err)
      wait_until("the script's connection ends", function() return process(id) == nil end, observer)
      -- the connection lived on to the script's end and was closed with COM_QUIT
      assert.are.equal(before, aborted_clients())
    end

    it("SIGINT cancels the statement on the server and exits 130", function()
      check_cancelled("INT", 130)
    end)

    it("SIGTERM does the same and exits 143", function()
      check_cancelled("TERM", 143)
    end)

    it("SIGINT stops a Lua loop that catches errors with pcall", function()
      local h = start({ "-e", "print('looping') io.stdout:flush() while true do pcall(function() while true do end end) end" })
      assert.are.equal("looping", h.read_line())
      h.signal("INT")
      local rest, code, err = h.finish()
      assert.are.equal(130, code)
      assert.are.equal("", rest)
      assert.are.equal("mylua: interrupted by SIGINT (at (command line):1)\n", err)
    end)

    it("a second SIGINT ends at once when the first cannot stop the script", function()
      -- A connection over a transport the script opened cannot be logged
      -- into again from the canceller's thread: its statement goes on.
      local fault_opts = PARAMS:gsub("^{", "{ transport = require('mylua_fault').opener{},")
      local h, id = start_sleeper({}, fault_opts)
      h.signal("INT")
      -- the first one is reported as not cancelling the statement
      wait_until("the canceller gives up on the connection", function()
        return running(id, "spec86 signal")
      end, observer)
      observer:query("DO SLEEP(0.3)")
      assert.truthy(running(id, "spec86 signal"), "the statement was cancelled after all")
      local t0 = helpers.now()
      h.signal("INT")
      local rest, code, err = h.finish()
      assert.truthy(helpers.now() - t0 < 2, "the second SIGINT did not end the program at once")
      assert.are.equal(130, code)
      assert.are.equal("", rest)
      assert.truthy(err:find(("mylua: could not cancel the statement of connection %d: [^\n]*transport"):format(id)), err)
      assert.truthy(err:find("mylua: interrupted again by SIGINT, exiting now\n", 1, true), err)
      pcall(observer.query, observer, "KILL ?", id) -- its SLEEP would outlive the program
    end)
  end)
end)
