-- Retries on a real Galera cluster: a certification failure (two nodes
-- writing the same row) is reported as 1213, retryable, and transaction()
-- with retries re-runs the loser; a node SIGKILLed in the middle of a
-- retried transaction (the connection lists all three nodes, reconnect =
-- true): the transaction finishes on another node, exactly once; a node
-- SIGKILLed during a purge: nothing lost, nothing deleted twice, the job
-- finishes; max_flow_control reads a real node's flow control counters; a
-- purge on the primary waits while the replica's SQL thread is stopped.
-- Every test leaves the three nodes running and synced, and the replica
-- replicating.

local helpers = require "helpers"
local mylua = require "mylua"
local cluster = require "support.cluster"

local function scalar(db, sql, ...)
  return db:query(sql, ...):row(1, "a")[1]
end

-- The three nodes as a host list: "127.0.0.1:P1", ...
local function host_list()
  local list = {}
  for i, n in ipairs(cluster.nodes()) do list[i] = ("%s:%d"):format(n.host, n.port) end
  return list
end

-- SIGKILLs node i after `seconds`, in the background (the test goes on).
local function kill_later(i, seconds)
  os.execute(("(sleep %.2f; scripts/galera-cluster kill %s %d) >/dev/null 2>&1 &"):format(seconds,
    helpers.shell_quote(os.getenv("MYLUA_GALERA_DIR")), i))
end

-- Waits (up to 30 s) until every node sees `n` rows matching `where` in t:
-- the writes of the last commit are applied everywhere.
local function converged(nodes, t, where, n)
  for _ = 1, 150 do
    local all = true
    for _, db in ipairs(nodes) do
      if scalar(db, ("SELECT COUNT(*) FROM %s WHERE %s"):format(t, where)) ~= n then all = false end
    end
    if all then return true end
    os.execute("sleep 0.2")
  end
  return false
end

describe("retries on a Galera cluster", function()
  local node = {}

  before_each(function()
    for i = 1, 3 do node[i] = cluster.connect(i) end
  end)

  after_each(function()
    for i = 1, 3 do if node[i] then pcall(node[i].close, node[i]) end end
    cluster.ensure_all_synced()
  end)

  it("a certification failure is 1213 and retryable, and transaction() re-runs the loser", function()
    local t = helpers.unique_table()
    node[1]:query("CREATE TABLE " .. t .. " (id INT PRIMARY KEY, v INT NOT NULL) ENGINE = InnoDB")
    node[1]:query("INSERT INTO " .. t .. " VALUES (1, 0)")
    assert.is_true(converged(node, t, "v = 0", 1))
    -- the raw failure: node 1's open transaction loses to node 2's commit
    node[1]:query("START TRANSACTION")
    node[1]:query("UPDATE " .. t .. " SET v = v + 1 WHERE id = 1")
    node[2]:query("UPDATE " .. t .. " SET v = v + 100 WHERE id = 1")
    local ok, err = pcall(function()
      node[1]:query("SELECT v FROM " .. t .. " WHERE id = 1")
      node[1]:query("COMMIT")
    end)
    pcall(node[1].query, node[1], "ROLLBACK")
    assert.is_false(ok)
    assert.is_true(mylua.is_error(err), tostring(err))
    assert.are.equal(1213, err.code)
    assert.is_true(err.retryable)
    -- through transaction(): the first run loses the same way, the second commits
    local runs, seen = 0, {}
    local res = node[1]:transaction({ retries = 3, backoff = 0.05, on_retry = function(e) seen[#seen + 1] = e end },
      function(db)
        runs = runs + 1
        db:query("UPDATE " .. t .. " SET v = v + 1 WHERE id = 1")
        if runs == 1 then node[2]:query("UPDATE " .. t .. " SET v = v + 1000 WHERE id = 1") end
        return runs
      end)
    assert.are.equal(2, res)
    assert.are.equal(1, #seen)
    assert.are.equal(1213, seen[1].code)
    -- 100 (node 2) + 1000 (node 2) + 1 (the second run only)
    assert.is_true(converged(node, t, "v = 1101", 1))
    node[1]:query("DROP TABLE " .. t)
  end)

  it("a node SIGKILLed during a retried transaction: it finishes on another node, exactly once", function()
    local t, log = helpers.unique_table(), helpers.unique_table()
    node[1]:query("CREATE TABLE " .. t .. " (id INT PRIMARY KEY, v INT NOT NULL) ENGINE = InnoDB")
    node[1]:query("INSERT INTO " .. t .. " VALUES (1, 0)")
    node[1]:query("CREATE TABLE " .. log .. " (n INT PRIMARY KEY, host VARCHAR(100)) ENGINE = InnoDB")
    local db = mylua.connect(helpers.params({ host = host_list(), host_order = "in order", reconnect = true,
      require = "writable", connect_timeout = 10, read_timeout = 60 }))
    local first_port = cluster.nodes()[1].port
    assert.truthy(db.host_info:find(":" .. first_port, 1, true), db.host_info)
    local runs, seen, hosts = 0, {}, {}
    local ok, res = pcall(db.transaction, db, { retries = 5, backoff = 0.2,
      on_retry = function(e, attempt) seen[attempt] = e end }, function(c)
        runs = runs + 1
        hosts[runs] = c.host_info
        c:query("INSERT INTO " .. log .. " VALUES (?, ?)", runs, c.host_info)
        c:query("UPDATE " .. t .. " SET v = v + 1 WHERE id = 1")
        if runs == 1 then
          kill_later(1, 0.5)
          c:query("SELECT SLEEP(10)") -- the node dies under it
        end
        return c.host_info
      end)
    db:close()
    assert.is_true(ok, tostring(res))
    assert.is_true(runs >= 2, "runs " .. runs)
    assert.truthy(hosts[1]:find(":" .. first_port, 1, true), hosts[1])
    assert.falsy(res:find(":" .. first_port, 1, true), "finished on the killed node: " .. res)
    assert.is_true(mylua.is_error(seen[1]), tostring(seen[1]))
    assert.is_true(seen[1].retryable)
    -- exactly once: one log row (the last run's), the row changed once,
    -- on both surviving nodes
    local survivors = { node[2], node[3] }
    assert.is_true(converged(survivors, log, "1=1", 1))
    assert.is_true(converged(survivors, t, "v = 1", 1))
    assert.are.equal(runs, scalar(node[2], "SELECT n FROM " .. log))
    -- and on the killed node once it is back
    cluster.start_node(1)
    node[1] = cluster.connect(1)
    assert.is_true(converged(node, t, "v = 1", 1))
    assert.is_true(converged(node, log, "1=1", 1))
    node[1]:query("DROP TABLE " .. t .. ", " .. log)
  end)

  it("a node SIGKILLed during a purge: nothing lost, nothing deleted twice, the job finishes", function()
    local batch = require "mylua.batch"
    local t = helpers.unique_table()
    local N = 3000
    node[1]:query("CREATE TABLE " .. t .. " (id INT PRIMARY KEY, v INT NOT NULL) ENGINE = InnoDB")
    node[1]:query(("INSERT INTO %s SELECT seq, seq FROM seq_1_to_%d"):format(t, N))
    local matching = N - N // 3 -- v % 3 <> 0
    assert.is_true(converged(node, t, "1=1", N))
    local db = mylua.connect(helpers.params({ host = host_list(), host_order = "in order", reconnect = true,
      require = "writable", connect_timeout = 10, read_timeout = 60 }))
    assert.truthy(db.host_info:find(":" .. cluster.nodes()[1].port, 1, true), db.host_info)
    -- each chunk's SELECT takes a while (SLEEP per row looked at): the kill
    -- lands inside a chunk's transaction
    kill_later(1, 1.5)
    local s = batch.purge(db, { table = t, where = "v % 3 <> 0 AND SLEEP(0.002) = 0", chunk_size = 50,
      retries = 10, retry_wait = 0.2, log = false })
    local finished_on = db.host_info
    db:close()
    assert.is_false(s.stopped)
    assert.is_true(s.retries >= 1, "retries " .. s.retries)
    assert.is_true(s.reconnects >= 1, "reconnects " .. s.reconnects)
    assert.falsy(finished_on:find(":" .. cluster.nodes()[1].port, 1, true), finished_on)
    -- every matching row gone, every other one kept, on the survivors
    local survivors = { node[2], node[3] }
    assert.is_true(converged(survivors, t, "v % 3 <> 0", 0))
    assert.is_true(converged(survivors, t, "v % 3 = 0", N // 3))
    -- counted once each: a chunk whose COMMIT was lost with the node may
    -- have committed uncounted, never counted twice
    assert.is_true(s.rows <= matching and s.rows >= matching - 50, ("rows %d of %d"):format(s.rows, matching))
    cluster.start_node(1)
    node[1] = cluster.connect(1)
    assert.is_true(converged(node, t, "1=1", N // 3))
    node[1]:query("DROP TABLE " .. t)
  end)

  it("max_flow_control reads a real node's flow control counter: an idle cluster is not held", function()
    local batch = require "mylua.batch"
    local t = helpers.unique_table()
    node[1]:query("CREATE TABLE " .. t .. " (id INT PRIMARY KEY, v INT NOT NULL) ENGINE = InnoDB")
    node[1]:query("INSERT INTO " .. t .. " SELECT seq, seq FROM seq_1_to_100")
    local before = tonumber(scalar(node[1], "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS"
      .. " WHERE VARIABLE_NAME = 'WSREP_FLOW_CONTROL_PAUSED_NS'"))
    assert.is_not_nil(before, "no wsrep_flow_control_paused_ns")
    local s = batch.purge(node[1], { table = t, where = "1=1", chunk_size = 10, max_flow_control = 0.5,
      throttle_wait = 0.1, log = false })
    assert.are.equal(100, s.rows)
    assert.are.equal(0, s.throttle_waits)
    node[1]:query("DROP TABLE " .. t)
  end)
end)

describe("lag throttling against the primary and its replica", function()
  local primary, replica

  setup(function()
    primary = mylua.connect(cluster.primary_params())
    replica = mylua.connect(cluster.replica_params())
  end)

  teardown(function()
    if replica then
      pcall(replica.query, replica, "START SLAVE")
      pcall(replica.close, replica)
    end
    if primary then pcall(primary.close, primary) end
  end)

  it("a purge waits while the replica's SQL thread is stopped, and finishes once it runs again", function()
    local batch = require "mylua.batch"
    local t = helpers.unique_table()
    primary:query(("CREATE TABLE %s (id INT PRIMARY KEY, v INT NOT NULL) ENGINE=InnoDB"):format(t))
    primary:query(("INSERT INTO %s SELECT seq, seq FROM seq_1_to_50"):format(t))
    local m = primary:query("SHOW MASTER STATUS"):row(1)
    local waited = scalar(replica, "SELECT MASTER_POS_WAIT(?, ?, 30)", m.File, m.Position)
    assert.is_true(waited ~= mylua.null and waited >= 0, "the replica did not catch up")
    replica:query("STOP SLAVE SQL_THREAD")
    -- the SQL thread starts again 1.5 s later, from another process
    local script = helpers.temp_script(([[
      local db = require("mylua").connect(%s)
      require("mylua").sleep(1.5)
      db:query("START SLAVE SQL_THREAD")
    ]]):format(helpers.options_source(cluster.replica_params())))
    os.execute(("%s %s >/dev/null 2>&1 &"):format(helpers.shell_quote(helpers.bin()), helpers.shell_quote(script)))
    local t0 = mylua.monotonic()
    local ok, s = pcall(batch.purge, primary, { table = t, where = "v % 2 = 0", chunk_size = 5, replica = replica,
      max_lag = 5, throttle_wait = 0.1, log = false })
    local took = mylua.monotonic() - t0
    if not ok then replica:query("START SLAVE SQL_THREAD") end
    assert(ok, s)
    assert.are.equal(25, s.rows)
    assert.is_true(s.throttle_waits >= 5, "waits " .. s.throttle_waits)
    assert.is_true(s.throttled >= 1 and took >= 1.2, ("throttled %.2f s, took %.2f s"):format(s.throttled, took))
    m = primary:query("SHOW MASTER STATUS"):row(1)
    waited = scalar(replica, "SELECT MASTER_POS_WAIT(?, ?, 30)", m.File, m.Position)
    assert.is_true(waited ~= mylua.null and waited >= 0, "the replica did not catch up")
    assert.are.equal(25, scalar(replica, "SELECT COUNT(*) FROM " .. t))
    primary:query("DROP TABLE " .. t)
    helpers.remove_temp_files()
  end)
end)
