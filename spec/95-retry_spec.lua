-- Retryable errors and transaction retries against the real server:
-- err.retryable on error objects from real failures (a deadlock, a lock
-- wait timeout, a lost connection, a missing table, ...) and on made ones
-- (1047, which only a Galera node gives); transaction({ retries = N }, fn)
-- re-running fn after a real deadlock (two connections locking two rows in
-- opposite order) and a real lock wait timeout, exactly once in effect;
-- retries running out (the last error raised, retryable); an error that is
-- not retryable raised at once; the backoff between attempts, measured;
-- retries refused on a nested transaction; a connection killed mid-way.

local helpers = require "helpers"
local mylua = require "mylua"

local q = helpers.shell_quote
local PARAMS = helpers.options_source(helpers.params())

local function sleep(s) os.execute(("sleep %.3f"):format(s)) end

-- Starts the host program in the background on a script; stderr to a file.
local function start(source)
  return helpers.start({ helpers.bin(), helpers.temp_script(source) })
end

-- Waits (up to 10 s) until pred() is true, looking every `every` seconds.
local function wait_until(what, pred, every)
  for _ = 1, math.ceil(10 / every) do
    if pred() then return end
    sleep(every)
  end
  error("gave up waiting: " .. what)
end

local function scalar(db, sql, ...)
  return db:query(sql, ...):row(1, "a")[1]
end

-- Calls f(...), which must raise; returns what it raised.
local function raised(f, ...)
  local ok, err = pcall(f, ...)
  assert.is_false(ok, "expected an error to be raised")
  return err
end

describe("retryable errors and transaction retries", function()
  local db, other, t, log

  -- t: rows (1, 0) and (2, 0); log: one row per committed run of a fn.
  before_each(function()
    t, log = helpers.unique_table(), helpers.unique_table()
    db:query("CREATE TABLE " .. t .. " (id INT PRIMARY KEY, v INT NOT NULL) ENGINE = InnoDB")
    db:query("INSERT INTO " .. t .. " VALUES (1, 0), (2, 0)")
    db:query("CREATE TABLE " .. log .. " (n INT AUTO_INCREMENT PRIMARY KEY, what VARCHAR(20)) ENGINE = InnoDB")
  end)

  after_each(function()
    pcall(other.query, other, "ROLLBACK")
    if db.closed then db = helpers.connect() end
    pcall(db.query, db, "ROLLBACK")
    db:query("DROP TABLE IF EXISTS " .. t .. ", " .. log)
    helpers.remove_temp_files()
  end)

  setup(function()
    db = helpers.connect()
    other = helpers.connect()
  end)

  teardown(function()
    if other then pcall(other.close, other) end
    if db then pcall(db.close, db) end
  end)

  describe("err.retryable", function()
    it("is true on a real lock wait timeout (1205) and false on real errors that would fail again", function()
      other:query("START TRANSACTION")
      other:query("UPDATE " .. t .. " SET v = 1 WHERE id = 1")
      db:query("SET SESSION innodb_lock_wait_timeout = 1")
      local e = helpers.raises(1205, db.query, db, "UPDATE " .. t .. " SET v = 2 WHERE id = 1")
      assert.is_true(e.retryable)
      other:query("ROLLBACK")
      local cases = {
        [1146] = "SELECT * FROM no_such_table_here",
        [1064] = "SELEC 1",
        [1062] = "INSERT INTO " .. t .. " VALUES (1, 0)",
        [1054] = "SELECT no_such_column FROM " .. t,
      }
      for code, sql in pairs(cases) do
        local err = helpers.raises(code, db.query, db, sql)
        assert.are.equal(false, err.retryable, sql)
      end
    end)

    it("is true on a real lost connection (2013) and on the gone connection after it (2006)", function()
      local c = helpers.connect({ read_timeout = 0.3 })
      local lost = helpers.raises(2013, c.query, c, "SELECT SLEEP(3)")
      assert.is_true(lost.retryable)
      local gone = helpers.raises(2006, c.query, c, "SELECT 1")
      assert.is_true(gone.retryable)
      c:close()
      -- killed by another connection
      local k = helpers.connect()
      other:query("KILL CONNECTION " .. k.thread_id)
      local e = helpers.raises({ 2013, 2006, 1927 }, k.query, k, "SELECT 1")
      assert.are.equal(e.code ~= 1927, e.retryable)
      k:close()
    end)

    it("classifies made error objects by their code (1047 is a Galera node's: the sandbox cannot give it)", function()
      local expect = { [1213] = true, [1205] = true, [1047] = true, [2013] = true, [2006] = true,
        [1146] = false, [1062] = false, [1064] = false, [1045] = false, [2003] = false, [1317] = false,
        [1927] = false, [0] = false }
      for code, want in pairs(expect) do
        local e = mylua.new_error(code, "made")
        assert.are.equal(want, e.retryable, "code " .. code)
        assert.are.equal(code == 0 and 0 or code, e.code)
      end
    end)
  end)

  -- Runs db:transaction(opts, fn) where fn counts its runs and logs one
  -- row per run (so the log shows how many runs committed); returns the
  -- number of runs, the retries seen by on_retry and what transaction()
  -- returned or raised.
  local function counted(opts, body)
    local runs, seen = 0, {}
    local hook = opts.on_retry
    opts.on_retry = function(err, attempt, wait)
      seen[#seen + 1] = { err = err, attempt = attempt, wait = wait }
      if hook then hook(err, attempt, wait) end
    end
    local res = table.pack(pcall(db.transaction, db, opts, function(c, ...)
      runs = runs + 1
      c:query("INSERT INTO " .. log .. " (what) VALUES (?)", "run " .. runs)
      return body(c, runs, ...)
    end))
    return runs, seen, res
  end

  local function logged() return scalar(db, "SELECT COUNT(*) FROM " .. log) end
  local function v(id) return scalar(db, "SELECT v FROM " .. t .. " WHERE id = ?", id) end

  describe("transaction({ retries = N }, fn)", function()
    it("re-runs the deadlock victim's whole fn (a real deadlock), which then commits once in effect", function()
      -- the other transaction (another process) changes many rows, so
      -- InnoDB picks ours, the lighter one, as the victim
      local heavy = helpers.unique_table()
      db:query("CREATE TABLE " .. heavy .. " (id INT PRIMARY KEY, v INT NOT NULL) ENGINE = InnoDB")
      db:query("INSERT INTO " .. heavy .. " SELECT seq, 0 FROM seq_1_to_200")
      local h = start(([[
        local mylua = require "mylua"
        local db = mylua.connect(%s)
        db:query("START TRANSACTION")
        db:query("UPDATE %s SET v = v + 1")
        db:query("UPDATE %s SET v = v + 10 WHERE id = 2")
        print("holding row 2") io.stdout:flush()
        -- until the victim waits for row 2, holding row 1 (INNODB_TRX is
        -- a cache refreshed after 0.1 s without a read: look every 0.25 s)
        local waiting = 0
        for _ = 1, 40 do
          waiting = db:query("SELECT COUNT(*) FROM information_schema.INNODB_TRX WHERE trx_state = 'LOCK WAIT'"
            .. " AND trx_mysql_thread_id = ?", %d):row(1, "a")[1]
          if waiting == 1 then break end
          mylua.sleep(0.25)
        end
        print("victim waits: " .. waiting) io.stdout:flush()
        db:query("UPDATE %s SET v = v + 10 WHERE id = 1") -- the cycle
        db:query("COMMIT")
        print("committed")
      ]]):format(PARAMS, heavy, t, db.thread_id, t))
      assert.are.equal("holding row 2", h.read_line())
      local runs, seen, res = counted({ retries = 3, backoff = 0.05 }, function(c, run)
        c:query("UPDATE " .. t .. " SET v = v + 1 WHERE id = 1")
        c:query("UPDATE " .. t .. " SET v = v + 1 WHERE id = 2") -- waits for the other process
        return "done", run
      end)
      local out, code, err = h.finish()
      db:query("DROP TABLE " .. heavy)
      assert.are.equal(0, code, err)
      assert.are.equal("victim waits: 1\ncommitted\n", out)
      assert.is_true(res[1], tostring(res[2]))
      assert.are.same({ "done", 2 }, { res[2], res[3] })
      assert.are.equal(2, runs)
      assert.are.equal(1, #seen)
      assert.are.equal(1213, seen[1].err.code)
      assert.is_true(seen[1].err.retryable)
      assert.are.equal(1, seen[1].attempt)
      assert.are.equal(0.05, seen[1].wait)
      -- the first run left nothing: one log row (the second run's), and
      -- each row changed once by us and once by the other process
      assert.are.equal(1, logged())
      assert.are.equal("run 2", scalar(db, "SELECT what FROM " .. log))
      assert.are.equal(11, v(1))
      assert.are.equal(11, v(2))
    end)

    it("re-runs fn after a real lock wait timeout (1205), once the lock is free", function()
      db:query("SET SESSION innodb_lock_wait_timeout = 1")
      other:query("START TRANSACTION")
      other:query("UPDATE " .. t .. " SET v = 100 WHERE id = 1")
      local runs, seen, res = counted({ retries = 2, backoff = 0, isolation = "READ COMMITTED",
        on_retry = function() other:query("ROLLBACK") end }, function(c)
        c:query("UPDATE " .. t .. " SET v = v + 1 WHERE id = 1")
        return "updated"
      end)
      -- the hook let the lock go after the first timeout
      assert.are.equal(1, #seen)
      assert.are.same({ true, "updated" }, { res[1], res[2] })
      assert.are.equal(2, runs)
      assert.are.equal(1205, seen[1].err.code)
      assert.are.equal(0, seen[1].wait)
      assert.are.equal(1, v(1))
      assert.are.equal(1, logged())
    end)

    it("raises the last error, retryable, when the retries run out; nothing committed", function()
      db:query("SET SESSION innodb_lock_wait_timeout = 1")
      other:query("START TRANSACTION")
      other:query("UPDATE " .. t .. " SET v = 100 WHERE id = 2")
      local runs, seen, res = counted({ retries = 2, backoff = 0 }, function(c)
        c:query("UPDATE " .. t .. " SET v = v + 1 WHERE id = 1")
        c:query("UPDATE " .. t .. " SET v = v + 1 WHERE id = 2")
      end)
      other:query("ROLLBACK")
      assert.is_false(res[1])
      assert.is_true(mylua.is_error(res[2]), tostring(res[2]))
      assert.are.equal(1205, res[2].code)
      assert.is_true(res[2].retryable)
      assert.are.equal(3, runs)
      assert.are.equal(2, #seen)
      assert.are.equal(2, seen[2].attempt)
      assert.are_not.equal(seen[2].err, res[2]) -- the last one, not the first
      assert.are.equal(0, logged())
      assert.are.equal(0, v(1))
      assert.is_false(db.status & 1 ~= 0, "a transaction is left open")
    end)

    it("raises an error that is not retryable (1146) at once, unchanged: fn ran once", function()
      local thrown
      local runs, seen, res = counted({ retries = 5, backoff = 0 }, function(c)
        local ok, e = pcall(c.query, c, "SELECT * FROM no_such_table_here")
        thrown = e
        assert(not ok)
        error(e, 0)
      end)
      assert.is_false(res[1])
      assert.are.equal(thrown, res[2]) -- the same object
      assert.are.equal(1146, res[2].code)
      assert.is_false(res[2].retryable)
      assert.are.equal(1, runs)
      assert.are.equal(0, #seen)
      assert.are.equal(0, logged())
      -- a string error is no error object: not retried either
      runs, seen, res = counted({ retries = 5, backoff = 0 }, function() error("plain failure", 0) end)
      assert.are.same({ false, "plain failure" }, { res[1], res[2] })
      assert.are.equal(1, runs)
    end)

    it("waits the backoff asked between attempts: seconds, a function of the attempt, or the default", function()
      local function timed(opts, failures)
        local stamps = {}
        local runs, seen, res = counted(opts, function(_, run)
          stamps[#stamps + 1] = mylua.monotonic()
          if run <= failures then error(mylua.new_error(1213, "made deadlock", "40001"), 0) end
          return run
        end)
        assert.is_true(res[1], tostring(res[2]))
        assert.are.equal(failures + 1, runs)
        assert.are.equal(failures, #seen)
        local gaps = {}
        for i = 2, #stamps do gaps[i - 1] = stamps[i] - stamps[i - 1] end
        return gaps, seen
      end
      -- a fixed wait
      local gaps = timed({ retries = 3, backoff = 0.2 }, 2)
      for _, g in ipairs(gaps) do assert.is_true(g >= 0.19 and g < 0.7, "gap " .. g) end
      -- a function of the attempt
      local asked = {}
      gaps = timed({ retries = 3, backoff = function(n) asked[#asked + 1] = n return 0.1 * n end }, 3)
      assert.are.same({ 1, 2, 3 }, asked)
      for i, g in ipairs(gaps) do assert.is_true(g >= 0.1 * i - 0.01 and g < 0.1 * i + 0.5, "gap " .. g) end
      -- the default: exponential from 50 ms with jitter (half to all of it)
      local seen
      gaps, seen = timed({ retries = 5 }, 5)
      for i, g in ipairs(gaps) do
        local full = 0.05 * 2 ^ (i - 1)
        assert.is_true(seen[i].wait >= full / 2 and seen[i].wait <= full, ("wait %d: %g"):format(i, seen[i].wait))
        assert.is_true(g >= seen[i].wait - 0.01 and g < seen[i].wait + 0.5, ("gap %d: %g"):format(i, g))
      end
      assert.are.equal(3, logged()) -- one run of each of the three committed
      -- a backoff function that returns no seconds raises
      local runs, _, res = counted({ retries = 3, backoff = function() return "soon" end }, function()
        error(mylua.new_error(1213, "made deadlock"), 0)
      end)
      assert.is_false(res[1])
      assert.truthy(tostring(res[2]):find("backoff(1) returned soon", 1, true), tostring(res[2]))
      assert.are.equal(1, runs)
    end)

    it("refuses retries on a nested transaction, and bad retry options", function()
      local err = raised(db.transaction, db, function(c)
        c:transaction({ retries = 2 }, function() end)
      end)
      assert.truthy(tostring(err):find("retries apply only to the outermost transaction", 1, true), err)
      db:query("BEGIN")
      err = raised(db.transaction, db, { retries = 1 }, function() end)
      assert.truthy(tostring(err):find("retries apply only to the outermost transaction", 1, true), err)
      db:query("ROLLBACK")
      for _, opts in ipairs({ { retries = -1 }, { retries = 1.5 }, { backoff = 1 }, { retries = 1, backoff = -1 },
        { retries = 1, backoff = "1" }, { retries = 1, on_retry = 3 }, { retries = 1, colour = "red" } }) do
        err = raised(db.transaction, db, opts, function() end)
        assert.truthy(tostring(err):find("bad argument #1 to 'transaction'", 1, true), tostring(err))
      end
      -- retries = 0: as without the option
      local runs, seen, res = counted({ retries = 0 }, function() error(mylua.new_error(1213, "made"), 0) end)
      assert.are.same({ false, 1, 0 }, { res[1], runs, #seen })
    end)

    it("re-runs fn when COMMIT fails retryably (Galera's certification failure), never when its outcome is unknown",
      function()
        -- a COMMIT cannot be made to fail on one server at will: the
        -- connection's query method answers COMMIT with a made error the
        -- first time (1213, as a Galera node reports a certification
        -- failure), or with a lost connection (2013), whose COMMIT may
        -- have been applied
        local methods = require("mylua.core").connection_methods
        local real_query = methods.query
        local function failing_commit(code)
          local failed = false
          methods.query = function(c, sql, ...)
            if c == db and sql == "COMMIT" and not failed then
              failed = true
              real_query(c, "ROLLBACK")
              error(mylua.new_error(code, "made failure at COMMIT"), 0)
            end
            return real_query(c, sql, ...)
          end
        end
        local ok, err = pcall(function()
          failing_commit(1213)
          local runs, seen, res = counted({ retries = 2, backoff = 0 }, function() return "ok" end)
          assert.are.same({ true, "ok" }, { res[1], res[2] })
          assert.are.equal(2, runs)
          assert.are.equal(1213, seen[1].err.code)
          assert.are.equal(1, logged())
          failing_commit(2013)
          runs, seen, res = counted({ retries = 2, backoff = 0 }, function() return "ok" end)
          assert.is_false(res[1])
          assert.are.equal(2013, res[2].code)
          assert.is_true(res[2].retryable) -- retryable as an error, but not at COMMIT
          assert.are.equal(1, runs)
          assert.are.equal(0, #seen)
        end)
        methods.query = real_query
        assert(ok, err)
      end)

    it("after a lost connection, reconnects and re-runs fn when the connection can reconnect", function()
      local c = helpers.connect()
      local victim_id = c.thread_id
      local runs, seen = 0, {}
      local ok, res = pcall(c.transaction, c, { retries = 2, backoff = 0,
        on_retry = function(e) seen[#seen + 1] = e end }, function(x)
        runs = runs + 1
        x:query("INSERT INTO " .. log .. " (what) VALUES ('run')")
        if runs == 1 then
          other:query("KILL CONNECTION " .. victim_id)
          x:query("SELECT 1")
        end
        return x.thread_id
      end)
      if c.reconnect then
        assert.is_true(ok, tostring(res))
        assert.are.equal(2, runs)
        assert.are_not.equal(victim_id, res)
        assert.are.equal(1, #seen)
        assert.is_true(seen[1].retryable)
        assert.are.equal(1, logged())
      else
        -- no reconnect(): the lost connection's error, raised after one run
        assert.is_false(ok)
        assert.is_true(mylua.is_error(res), tostring(res))
        assert.is_true(res.retryable)
        assert.are.equal(1, runs)
        assert.are.equal(0, #seen)
        assert.are.equal(0, logged())
      end
      pcall(c.close, c)
    end)
  end)
end)
