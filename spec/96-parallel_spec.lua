-- mylua.parallel (one function against many servers from one process), the
-- connection's deadline cap under it, and the host program's --hosts FILE.

local mylua = require "mylua"
local core = require "mylua.core"
local helpers = require "helpers"
local peer = require "support.peer"

local raises = helpers.raises

-- A TCP port on 127.0.0.1 that nothing listens on.
local function closed_port()
  local out = helpers.run([[python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])']])
  return assert(math.tointeger(tonumber(out)), "no free port")
end

local function server_target(extra)
  local p = helpers.params()
  return helpers.params(extra or {}), p.host .. ":" .. p.port
end

-- Kills the server sessions whose ids are in `ids` (left blocked by a test).
local function kill_sessions(ids)
  local admin = helpers.connect()
  for _, id in pairs(ids) do pcall(admin.query, admin, "KILL " .. math.tointeger(id)) end
  admin:close()
end

describe("the deadline cap", function()
  it("ends a query on a hung session by the cap, as a timeout: 2013, then the connection is broken", function()
    local db = helpers.connect()
    core.deadline_cap(db, mylua.monotonic() + 0.5)
    local id = db.thread_id
    local _, elapsed = raises(2013, db.query, db, "SELECT SLEEP(10)")
    assert.is_true(elapsed >= 0.4 and elapsed < 2.5, "took " .. elapsed .. " s")
    assert.is_true(db.broken)
    db:close()
    kill_sessions{ id }
  end)

  it("is no cap at 0, and a cap already past fails the next wait at once", function()
    local db = helpers.connect()
    core.deadline_cap(db, 0)
    assert.equal(1, db:query("SELECT SLEEP(0.2) + 1 AS v"):row(1).v)
    core.deadline_cap(db, mylua.monotonic() - 1)
    local _, elapsed = raises(2013, db.query, db, "SELECT 1")
    assert.is_true(elapsed < 1, "took " .. elapsed .. " s")
    db:close()
  end)

  it("refuses a closed connection", function()
    local db = helpers.connect()
    db:close()
    helpers.raises_string("closed connection", core.deadline_cap, db, 1)
  end)
end)

describe("mylua.parallel", function()
  local peers = {}
  after_each(function()
    for _, p in ipairs(peers) do p:stop() end
    peers = {}
    helpers.remove_temp_files()
  end)

  it("over 20 targets where 3 hang and 2 refuse: bounded by the timeout, every outcome reported", function()
    local silent = peer.start("silent")
    peers[#peers + 1] = silent
    local holder = helpers.connect()
    assert.equal(1, holder:query("SELECT GET_LOCK('mylua_par_96', 5) AS g"):row(1).g)
    local targets, kinds = {}, {}
    for i = 1, 20 do
      targets[i] = (server_target())
      kinds[i] = "healthy"
    end
    targets[2] = "127.0.0.1:" .. silent.port
    kinds[2] = "silent"
    targets[5], kinds[5] = "127.0.0.1:" .. closed_port(), "refused"
    targets[11], kinds[11] = "127.0.0.1:" .. closed_port(), "refused"
    kinds[8] = "sleep"
    kinds[17] = "lock"
    local index = {}
    for i, t in ipairs(targets) do index[t] = i end
    local blocked = {}
    local timeout = 2
    local t0 = mylua.monotonic()
    local results, summary = mylua.parallel(targets, function(db, target)
      local i = index[target]
      if kinds[i] == "sleep" then
        blocked[i] = db.thread_id
        db:query("SELECT SLEEP(60)")
      elseif kinds[i] == "lock" then
        blocked[i] = db.thread_id
        db:query("SELECT GET_LOCK('mylua_par_96', 60)")
      end
      return db:query("SELECT ? * 7 + CHAR_LENGTH(REPEAT('x', ?)) AS v", i, i):row(1).v
    end, { concurrency = 8, timeout = timeout, connect = helpers.params() })
    local elapsed = mylua.monotonic() - t0
    holder:close()
    kill_sessions(blocked)
    assert.is_true(elapsed >= timeout * 0.9, "ended early: " .. elapsed .. " s")
    assert.is_true(elapsed < timeout + 2, "took " .. elapsed .. " s: a hung target held others")
    assert.equal(20, #results)
    for i, r in ipairs(results) do
      assert.equal(targets[i], r.target)
      assert.is_number(r.seconds)
      local kind = kinds[i]
      if kind == "healthy" then
        assert.is_true(r.ok, "target " .. i .. ": " .. tostring(r.error))
        assert.equal(i * 8, r.value)
        assert.is_nil(r.error)
        assert.is_true(r.seconds < timeout, "healthy target " .. i .. " took " .. r.seconds)
      elseif kind == "refused" then
        assert.is_false(r.ok)
        assert.is_nil(r.timed_out)
        assert.is_true(mylua.is_error(r.error))
        assert.equal(2003, r.error.code)
        assert.is_true(r.seconds < timeout)
      else -- silent, sleep, lock
        assert.is_false(r.ok, kind)
        assert.is_true(r.timed_out, kind)
        assert.is_true(mylua.is_error(r.error), kind .. ": " .. tostring(r.error))
        assert.equal(2013, r.error.code)
        assert.is_true(r.seconds >= timeout * 0.95 and r.seconds < timeout + 1,
          kind .. " took " .. r.seconds)
      end
    end
    assert.same({ total = 20, ok = 15, failed = 2, timed_out = 3 },
      { total = summary.total, ok = summary.ok, failed = summary.failed,
        timed_out = summary.timed_out })
    assert.is_true(summary.seconds >= timeout * 0.9 and summary.seconds <= elapsed)
  end)

  it("does not let a hung target left with one other hold the targets still to start", function()
    local silent = peer.start("silent")
    peers[#peers + 1] = silent
    -- the first fails at once, before the second runs (with a bind
    -- address it is not probed: its refused connect runs inline)
    local targets = { helpers.params{ port = closed_port(), bind_address = "127.0.0.1" },
                      "127.0.0.1:" .. silent.port }
    for i = 3, 6 do targets[i] = (server_target()) end
    local t0 = mylua.monotonic()
    local results, summary = mylua.parallel(targets, function(db)
      db:query("SELECT 1")
      return mylua.monotonic() - t0
    end, { concurrency = 2, timeout = 2, connect = helpers.params() })
    assert.same({ 2003, 2013 }, { results[1].error.code, results[2].error.code })
    assert.equal(4, summary.ok)
    for i = 3, 6 do
      assert.is_true(results[i].value < 1.5, ("target %d ended %.2f s in"):format(i, results[i].value))
    end
  end)

  it("runs at most `concurrency` sessions at a time, and that many at once", function()
    local admin = helpers.connect()
    admin:query("CREATE DATABASE IF NOT EXISTS mylua_par_conc")
    local targets = {}
    for i = 1, 12 do targets[i] = server_target{ database = "mylua_par_conc" } end
    local concurrency, running, most_running, started = 4, 0, 0, 0
    local results = mylua.parallel(targets, function(db)
      started = started + 1
      running = running + 1
      most_running = math.max(most_running, running)
      -- Connecting yields too, and on a loaded machine the logins of one
      -- wave end far apart: wait (yielding) until the wave is complete, so
      -- that the sleeps below overlap.
      local give_up = mylua.monotonic() + 5
      while running < concurrency and started < #targets and mylua.monotonic() < give_up do
        db:query("DO SLEEP(0.02)")
      end
      db:query("SELECT SLEEP(0.3)")
      -- the other sessions of this run sleeping now, as the server sees them
      local others = db:query([[SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST
        WHERE DB = 'mylua_par_conc' AND COMMAND = 'Query' AND INFO LIKE 'SELECT SLEEP%']]):row(1).n
      db:query("SELECT SLEEP(0.3)")
      running = running - 1
      return others
    end, { concurrency = concurrency })
    admin:query("DROP DATABASE mylua_par_conc")
    admin:close()
    local most_seen = 0
    for i, r in ipairs(results) do
      assert.is_true(r.ok, "target " .. i .. ": " .. tostring(r.error))
      most_seen = math.max(most_seen, r.value)
    end
    assert.equal(concurrency, most_running)
    assert.equal(concurrency - 1, most_seen)
  end)

  it("overlaps the queries of its tasks: 8 sleeps of 0.5 s take about 0.5 s", function()
    local targets = {}
    for i = 1, 8 do targets[i] = server_target() end
    local t0 = mylua.monotonic()
    local results, summary = mylua.parallel(targets, function(db)
      return db:query("SELECT SLEEP(0.5) AS s"):row(1).s
    end, { concurrency = 8 })
    local elapsed = mylua.monotonic() - t0
    assert.equal(8, summary.ok)
    for _, r in ipairs(results) do assert.equal(0, r.value) end
    assert.is_true(elapsed < 2, "took " .. elapsed .. " s: the queries ran one after another")
  end)

  it("reports errors inside fn per target, and closes each task's connection", function()
    local targets, seen = {}, {}
    for i = 1, 4 do targets[i] = server_target() end
    local results, summary = mylua.parallel(targets, function(db, target)
      local i
      for k, t in ipairs(targets) do if t == target then i = k end end
      seen[i] = db
      if i == 2 then error("boom in target two") end
      if i == 3 then db:query("SELEKT 1") end
      if i == 4 then error({ custom = true }) end
      return "fine"
    end)
    assert.same({ total = 4, ok = 1, failed = 3, timed_out = 0 },
      { total = summary.total, ok = summary.ok, failed = summary.failed,
        timed_out = summary.timed_out })
    assert.is_true(results[1].ok)
    assert.equal("fine", results[1].value)
    assert.is_false(results[2].ok)
    assert.is_truthy(tostring(results[2].error):find("boom in target two", 1, true))
    assert.is_true(mylua.is_error(results[3].error))
    assert.equal(1064, results[3].error.code)
    assert.is_true(results[4].error.custom)
    for i = 1, 4 do assert.is_true(seen[i].closed, "connection of target " .. i) end
  end)

  it("takes host[:port] strings over the connect option, and a table's own options over it", function()
    local p = helpers.params()
    local results = mylua.parallel({ p.host .. ":" .. p.port, { port = p.port, database = "mysql" } },
      function(db) return db:query("SELECT DATABASE() AS d"):row(1).d end,
      { connect = helpers.params{ port = helpers.NONE } })
    assert.is_true(results[1].ok, tostring(results[1].error))
    assert.equal(p.database, results[1].value)
    assert.is_true(results[2].ok, tostring(results[2].error))
    assert.equal("mysql", results[2].value)
  end)

  it("with connect = false hands fn a connect function, and closes what it opened", function()
    local opened
    local results = mylua.parallel({ (server_target()) }, function(connect)
      assert.is_function(connect)
      opened = connect{ database = "mysql" }
      return opened:query("SELECT DATABASE() AS d"):row(1).d
    end, { connect = false })
    assert.equal("mysql", results[1].value)
    assert.is_true(opened.closed)
  end)

  it("keeps a connection busy while its query runs: another task's use raises", function()
    local shared, first_started
    local results = mylua.parallel({ (server_target()), (server_target()) }, function(connect, target)
      if not first_started then
        first_started = true
        shared = connect()
        return shared:query("SELECT SLEEP(0.5) AS s"):row(1).s
      end
      -- connecting yields too: this task's own wait lets the first one
      -- reach its long query before the shared connection is used
      local mine = connect()
      mine:query("SELECT SLEEP(0.2)")
      assert(shared, "the first task has not connected yet")
      return shared:query("SELECT 1")
    end, { connect = false })
    assert.is_true(results[1].ok, tostring(results[1].error))
    assert.is_false(results[2].ok)
    assert.is_truthy(tostring(results[2].error):find("while it runs a query", 1, true),
      tostring(results[2].error))
  end)

  it("runs queries inline outside parallel and in coroutines of fn's own", function()
    local co = coroutine.wrap(function()
      local db = helpers.connect()
      local v = db:query("SELECT 41 + 1 AS v"):row(1).v
      db:close()
      return v
    end)
    assert.equal(42, co())
    local results = mylua.parallel({ (server_target()) }, function(db)
      local inner = coroutine.wrap(function() return db:query("SELECT 5 AS v"):row(1).v end)
      return inner() + db:query("SELECT 1 AS v"):row(1).v
    end)
    assert.equal(6, results[1].value)
  end)

  it("checks its arguments", function()
    helpers.raises_string("table of targets expected", mylua.parallel, "x", print)
    helpers.raises_string("function expected", mylua.parallel, {}, 1)
    helpers.raises_string("unknown option 'bogus'", mylua.parallel, {}, print, { bogus = 1 })
    helpers.raises_string("'concurrency'", mylua.parallel, {}, print, { concurrency = 0 })
    helpers.raises_string("'timeout'", mylua.parallel, {}, print, { timeout = -1 })
    helpers.raises_string("is not host[:port]", mylua.parallel, { "h:99999" }, print)
    local results, summary = mylua.parallel({}, print)
    assert.same({}, results)
    assert.equal(0, summary.total)
  end)

  it("shows a progress bar when asked (one log line when stderr is no terminal)", function()
    local path = helpers.temp_script(([[
      local mylua = require "mylua"
      local t = %s
      local _, s = mylua.parallel({ t, t, t }, function(db) return 1 end,
        { progress = { label = "fleet" } })
      print(s.ok)
    ]]):format(helpers.options_source(helpers.params())))
    local out, err, code = helpers.run_host({ path })
    assert.equal(0, code, err)
    assert.equal("3\n", out)
    assert.is_truthy(err:find("fleet: 3", 1, true), err)
  end)
end)

describe("mylua.parallel in the host program", function()
  after_each(helpers.remove_temp_files)

  -- A script whose 3 targets each sleep 30 s on the server, as a tagged
  -- statement.
  local function sleepers()
    local t = helpers.options_source(helpers.params())
    return helpers.temp_script(([[
      local mylua = require "mylua"
      local t = %s
      mylua.parallel({ t, t, t }, function(db)
        db:query("SELECT SLEEP(30) /* spec96 stop */")
      end)
      print("not stopped")
    ]]):format(t))
  end

  local function sleeping_sessions()
    local db = helpers.connect()
    local n = db:query([[SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST
      WHERE INFO LIKE 'SELECT SLEEP(30) /* spec96 stop */%']]):row(1).n
    db:close()
    return n
  end

  for _, case in ipairs{
    { "--timeout stops every task's statement and exits 4", { "--timeout", "1" }, "", 4,
      "run timed out after 1 s" },
    -- --foreground: without it timeout signals the child and then its whole
    -- process group, and a second SIGINT means "exit now" to the host
    { "SIGINT does the same and exits 130", {}, "timeout --foreground -s INT --preserve-status 1 ", 130,
      "interrupted by SIGINT" },
  } do
    it(case[1], function()
      local args = helpers.append(case[2], sleepers())
      local quoted = {}
      for i, a in ipairs(args) do quoted[i] = helpers.shell_quote(a) end
      local t0 = mylua.monotonic()
      local out, err, code = helpers.run(case[3] .. helpers.shell_quote(helpers.bin()) .. " "
        .. table.concat(quoted, " "))
      local elapsed = mylua.monotonic() - t0
      assert.equal(case[4], code, err)
      assert.equal("", out)
      assert.is_truthy(err:find(case[5], 1, true), err)
      assert.is_true(elapsed < 5, "took " .. elapsed .. " s")
      local left = sleeping_sessions()
      for _ = 1, 20 do
        if left == 0 then break end
        mylua.sleep(0.1)
        left = sleeping_sessions()
      end
      assert.equal(0, left)
    end)
  end
end)

describe("the host program's --hosts FILE", function()
  after_each(helpers.remove_temp_files)

  local function hosts_file(lines)
    return helpers.temp_script(table.concat(lines, "\n") .. "\n")
  end

  local function credentials()
    local p = helpers.params()
    return { "--no-defaults", "-u", p.user, "-p" .. p.password, "-D", p.database }
  end

  it("runs the script once per host, output prefixed, exit 0 when every host succeeded", function()
    local p = helpers.params()
    local a, b = "127.0.0.1:" .. p.port, "[::1]:" .. p.port
    if (os.getenv("MYLUA_TEST_HOST6") or "") == "" then b = a end -- no IPv6: the same twice
    local file = hosts_file{ "# the fleet", a, "", "  " .. b .. "   # the second" }
    local script = helpers.temp_script([[
      local mylua = require "mylua"
      local db = mylua.connect()
      io.write("port ", db:query("SELECT @@port AS p"):row(1).p)
      io.write(" arg ", ..., "\n")
      mylua.log.warn("to stderr")
    ]])
    local out, err, code = helpers.run_host(helpers.append(credentials(), "--hosts", file,
      "--parallel", "2", script, "xyz"))
    assert.equal(0, code, err)
    local lines = {}
    for line in out:gmatch("[^\n]+") do lines[#lines + 1] = line end
    table.sort(lines)
    local want = { a .. ": port " .. p.port .. " arg xyz", b .. ": port " .. p.port .. " arg xyz" }
    table.sort(want)
    assert.same(want, lines)
    assert.is_truthy(err:find(a .. ": [^\n]*to stderr"), err)
    assert.is_truthy(err:find(b .. ": [^\n]*to stderr"), err)
    assert.is_truthy(err:find("mylua: 2 of 2 hosts succeeded", 1, true), err)
  end)

  it("reports each failed host and exits 1", function()
    local p = helpers.params()
    local good, refused = "127.0.0.1:" .. p.port, "127.0.0.1:" .. closed_port()
    local file = hosts_file{ good, refused }
    local script = helpers.temp_script([[
      local db = require("mylua").connect()
      print(db:query("SELECT 1 AS one"):row(1).one)
    ]])
    local out, err, code = helpers.run_host(helpers.append(credentials(), "--hosts", file, script))
    assert.equal(1, code, err)
    assert.equal(good .. ": 1\n", out)
    assert.is_truthy(err:find("mylua: " .. refused .. ": ERROR 2003", 1, true), err)
    assert.is_truthy(err:find("mylua: 1 of 2 hosts succeeded, 1 failed", 1, true), err)
  end)

  it("refuses a bad hosts file, --parallel without --hosts and --hosts without a script", function()
    local _, err, code = helpers.run_host({ "--no-defaults", "--hosts",
      hosts_file{ "db1 db2" }, helpers.temp_script("print(1)") })
    assert.equal(1, code)
    assert.is_truthy(err:find("one host[:port] per line", 1, true), err)
    _, err, code = helpers.run_host({ "--no-defaults", "--hosts", "/nonexistent/hosts",
      helpers.temp_script("print(1)") })
    assert.equal(1, code)
    assert.is_truthy(err:find("--hosts: cannot read", 1, true), err)
    helpers.assert_host_usage_error({ "--parallel", "3" }, "--parallel")
    helpers.assert_host_usage_error({ "--parallel", "0", "--hosts", "x" }, "--parallel")
    local _, err2, code2 = helpers.run_host({ "--no-defaults", "--hosts", hosts_file{ "db1" },
      "-e", "print(1)" })
    assert.equal(2, code2)
    assert.is_truthy(err2:find("'--hosts' runs a script", 1, true), err2)
  end)
end)
