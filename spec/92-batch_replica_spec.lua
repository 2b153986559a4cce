-- mylua.batch throttled by a real replica: the spec starts its own primary
-- (binary log on) and replica (replicating from it by binlog position), so
-- the shared sandbox servers are left alone, and always stops them.  A
-- purge with `replica` and `max_lag` goes straight through while the
-- replica keeps up, and waits, logging why, while its SQL thread is
-- stopped (Seconds_Behind_Master NULL) and while a MASTER_DELAY holds its
-- lag above max_lag, then finishes, the rows gone on both servers.

local helpers = require "helpers"
local mylua = require "mylua"
local sandbox_pair = require "support.sandbox_pair"

local q = helpers.shell_quote

local function sleep(s) os.execute(("sleep %.3f"):format(s)) end

-- Starts the host program in the background on a script; stderr to a file.
local function start(source)
  return helpers.start({ helpers.bin(), helpers.temp_script(source) })
end

describe("mylua.batch with a real replica", function()
  local servers, primary, replica
  local primary_params, replica_params

  -- One row of SHOW SLAVE STATUS on the replica.
  local function slave_status()
    return replica:query("SHOW SLAVE STATUS"):row(1)
  end

  -- Waits (up to 30 s) until the replica has applied all the primary wrote.
  local function sync()
    local m = primary:query("SHOW MASTER STATUS"):row(1)
    local got = replica:query("SELECT MASTER_POS_WAIT(?, ?, 30)", m.File, m.Position):row(1, "a")[1]
    assert(got ~= mylua.null and got >= 0, "the replica did not catch up: " .. tostring(got))
  end

  local function count(conn, name, where)
    return conn:query(("SELECT COUNT(*) FROM %s WHERE %s"):format(name, where or "1=1")):row(1, "a")[1]
  end

  -- A table of ids 1..n (v = id) on the primary, replicated.
  local function filled(n)
    local name = helpers.unique_table()
    primary:query(("CREATE TABLE %s (id INT PRIMARY KEY, v INT NOT NULL) ENGINE=InnoDB"):format(name))
    local vals = {}
    for i = 1, n do vals[i] = ("(%d, %d)"):format(i, i) end
    primary:query(("INSERT INTO %s VALUES %s"):format(name, table.concat(vals, ", ")))
    sync()
    assert.are.equal(n, count(replica, name))
    return name
  end

  setup(function()
    servers = sandbox_pair.start(2, sandbox_pair.REPLICATION_OPTIONS)
    primary_params, replica_params = servers[1].params, servers[2].params
    primary = mylua.connect(primary_params)
    replica = mylua.connect(replica_params)
    sandbox_pair.replicate(servers, primary, replica)
  end)

  teardown(function()
    sandbox_pair.stop(servers) -- first: nothing may keep the servers running
    if replica then pcall(replica.close, replica) end
    if primary then pcall(primary.close, primary) end
  end)

  -- a test that failed half-way leaves no replica thread stopped behind it
  before_each(function() replica:query("START SLAVE") end)
  after_each(function() helpers.remove_temp_files() end)

  it("reports what batch.lua reads: one row, Seconds_Behind_Master a number in sync, NULL with the SQL thread stopped",
    function()
      sync()
      local res = replica:query("SHOW SLAVE STATUS")
      assert.are.equal(1, #res)
      assert.are.equal(0, res:row(1).Seconds_Behind_Master)
      replica:query("STOP SLAVE SQL_THREAD")
      assert.are.equal(mylua.null, slave_status().Seconds_Behind_Master)
      replica:query("START SLAVE SQL_THREAD")
      sync()
      -- just restarted, the thread may read 1 for a moment before it
      -- settles: a number again (not NULL), then 0
      local lag
      for _ = 1, 50 do
        lag = slave_status().Seconds_Behind_Master
        assert.are.equal("number", math.type(lag) and "number" or tostring(lag))
        if lag == 0 then break end
        os.execute("sleep 0.2")
      end
      assert.are.equal(0, lag)
    end)

  it("purges without a wait while the replica keeps up; the rows go on both servers", function()
    local batch = require "mylua.batch"
    local t = filled(60)
    local s = batch.purge(primary, { table = t, where = "v % 2 = 0", chunk_size = 10, replica = replica,
      max_lag = 1, throttle_wait = 0.1, log = false })
    assert.are.equal(30, s.rows)
    assert.are.equal(0, s.throttle_waits)
    assert.are.equal(0, s.throttled)
    sync()
    for _, conn in ipairs({ primary, replica }) do
      assert.are.equal(0, count(conn, t, "v % 2 = 0"))
      assert.are.equal(30, count(conn, t))
    end
  end)

  it("waits while replication is stopped (logged), then completes once the replica runs again", function()
    local t = filled(60)
    replica:query("STOP SLAVE SQL_THREAD")
    local HOLD = 1.5
    local h = start(([[
      local mylua = require "mylua"
      local db = mylua.connect(%s)
      local replica = mylua.connect(%s)
      print("ready") io.stdout:flush()
      local s = require("mylua.batch").purge(db, { table = %q, where = "v %% 3 = 0", chunk_size = 5,
        replica = replica, max_lag = 1, throttle_wait = 0.1 })
      print(s.rows, s.throttle_waits, s.throttled)
    ]]):format(helpers.options_source(primary_params), helpers.options_source(replica_params), t))
    assert.are.equal("ready", h.read_line())
    local t0 = helpers.now()
    sleep(HOLD)
    local left = count(primary, t)
    replica:query("START SLAVE SQL_THREAD")
    local held = helpers.now() - t0
    local out, code, err = h.finish()
    -- nothing deleted while the replica could not keep up
    assert.are.equal(60, left)
    assert.are.equal(0, code, err)
    local rows, waits, throttled = out:match("^(%d+)\t(%d+)\t(%S+)\n$")
    assert.truthy(rows, out)
    assert.are.equal(20, tonumber(rows))
    assert.is_true(tonumber(waits) >= 5, "waits: " .. waits)
    throttled = tonumber(throttled)
    -- about as long as the SQL thread was stopped (the job's start is in it)
    assert.is_true(throttled >= HOLD - 0.5 and throttled <= held + 1.5,
      ("throttled %.2f s, replication stopped for %.2f s"):format(throttled, held))
    assert.truthy(err:find("waiting: replication is stopped (Seconds_Behind_Master is NULL)", 1, true), err)
    assert.truthy(err:find("going on", 1, true), err)
    assert.truthy(err:find("s waiting (throttled)", 1, true), err)
    sync()
    for _, conn in ipairs({ primary, replica }) do
      assert.are.equal(0, count(conn, t, "v % 3 = 0"))
      assert.are.equal(40, count(conn, t))
    end
  end)

  it("waits while Seconds_Behind_Master is above max_lag (a replica with MASTER_DELAY)", function()
    local batch = require "mylua.batch"
    local t = filled(30)
    local DELAY = 3
    replica:query("STOP SLAVE")
    replica:query(("CHANGE MASTER TO MASTER_DELAY = %d"):format(DELAY))
    replica:query("START SLAVE")
    local ok, err = pcall(function()
      -- a write the replica holds back DELAY s: its lag grows past max_lag
      local t0 = helpers.now()
      primary:query(("UPDATE %s SET v = v + 100 WHERE id = 1"):format(t))
      local lag
      for _ = 1, 100 do
        lag = slave_status().Seconds_Behind_Master
        if lag ~= mylua.null and lag >= 2 then break end
        sleep(0.05)
      end
      assert.is_true(lag ~= mylua.null and lag >= 2, "lag " .. tostring(lag))
      local s = batch.purge(primary, { table = t, where = "v % 2 = 0", chunk_size = 5, replica = replica,
        max_lag = 1, throttle_wait = 0.1, log = false })
      local lagged = helpers.now() - t0
      assert.are.equal(15, s.rows)
      assert.is_true(s.throttle_waits >= 1, "waits: " .. s.throttle_waits)
      -- the job waited until the held-back write was applied, DELAY s after it
      assert.is_true(s.throttled >= 0.3 and s.throttled <= DELAY + 1.5,
        ("throttled %.2f s, the write was applied %.2f s after it ran"):format(s.throttled, lagged))
      assert.are.equal(101, replica:query(("SELECT v FROM %s WHERE id = 1"):format(t)):row(1, "a")[1])
      sync()
      for _, conn in ipairs({ primary, replica }) do
        assert.are.equal(0, count(conn, t, "v % 2 = 0"))
        assert.are.equal(15, count(conn, t))
      end
    end)
    replica:query("STOP SLAVE")
    replica:query("CHANGE MASTER TO MASTER_DELAY = 0")
    replica:query("START SLAVE")
    assert(ok, err)
  end)
end)
