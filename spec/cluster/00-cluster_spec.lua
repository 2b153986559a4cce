-- The clusters the cluster specs run against (scripts/check --cluster) are
-- what they claim to be: three Galera nodes in one synced cluster that
-- replicate writes, a primary whose replica applies them, a node that comes
-- back after SIGKILL, a desynced node that says so; and GET_LOCK, which the
-- lock row of the cluster lock exists for, is node-local on Galera: the same
-- name is granted on two nodes at once.

local helpers = require "helpers"
local mylua = require "mylua"
local cluster = require "support.cluster"

-- The value of a global status variable on connection db.
local function status(db, name)
  local row = db:query("SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = ?",
    name:upper()):row(1, "a")
  return row and row[1]
end

local function scalar(db, sql, ...)
  return db:query(sql, ...):row(1, "a")[1]
end

-- Polls fn() every 0.2 s until it returns true, up to `seconds`; returns
-- whether it did.
local function eventually(seconds, fn)
  local deadline = os.time() + seconds
  repeat
    if fn() then return true end
    os.execute("sleep 0.2")
  until os.time() > deadline
  return fn()
end

describe("the Galera cluster", function()
  local nodes = {}

  setup(function()
    for i = 1, 3 do nodes[i] = cluster.connect(i) end
  end)

  teardown(function()
    for _, db in pairs(nodes) do pcall(db.close, db) end
  end)

  it("has three nodes, each synced and ready, in one primary component of size 3", function()
    assert.are.equal(3, #cluster.nodes())
    local uuid
    for i, db in ipairs(nodes) do
      assert.are.equal(1, scalar(db, "SELECT @@wsrep_on"))
      assert.are.equal("4", status(db, "wsrep_local_state"))
      assert.are.equal("ON", status(db, "wsrep_ready"))
      assert.are.equal("3", status(db, "wsrep_cluster_size"))
      assert.are.equal("Primary", status(db, "wsrep_cluster_status"))
      local u = status(db, "wsrep_cluster_state_uuid")
      uuid = uuid or u
      assert.are.equal(uuid, u, "node " .. i .. " is in another cluster")
      assert.are.equal("mariabackup", scalar(db, "SELECT @@wsrep_sst_method"))
    end
    -- three servers, not one reached three times
    local ports = {}
    for _, db in ipairs(nodes) do ports[scalar(db, "SELECT @@port")] = true end
    local n = 0
    for _ in pairs(ports) do n = n + 1 end
    assert.are.equal(3, n)
  end)

  it("replicates a row written on node 1 to nodes 2 and 3", function()
    local name = helpers.unique_table()
    nodes[1]:query(("CREATE TABLE %s (id INT PRIMARY KEY, v VARCHAR(20)) ENGINE=InnoDB"):format(name))
    finally(function() nodes[1]:query("DROP TABLE IF EXISTS " .. name) end)
    nodes[1]:query(("INSERT INTO %s VALUES (1, 'from node 1')"):format(name))
    for i = 2, 3 do
      -- a causal read: waits until the node has applied what the cluster committed
      nodes[i]:query("SET SESSION wsrep_sync_wait = 1")
      assert.are.equal("from node 1", scalar(nodes[i], ("SELECT v FROM %s WHERE id = 1"):format(name)))
      nodes[i]:query("SET SESSION wsrep_sync_wait = 0")
    end
  end)

  it("takes a node back after SIGKILL: it rejoins, catches up and is synced", function()
    local name = helpers.unique_table()
    finally(function()
      cluster.ensure_all_synced()
      pcall(nodes[1].query, nodes[1], "DROP TABLE IF EXISTS " .. name)
    end)
    nodes[1]:query(("CREATE TABLE %s (id INT PRIMARY KEY) ENGINE=InnoDB"):format(name))
    pcall(nodes[3].close, nodes[3])
    cluster.kill(3)
    assert.is_false(cluster.running(3))
    assert.is_true(eventually(30, function() return status(nodes[1], "wsrep_cluster_size") == "2" end),
      "the others still count the killed node after 30 s")
    assert.are.equal("Primary", status(nodes[1], "wsrep_cluster_status"))
    -- written while node 3 is down: it has to get this by state transfer
    nodes[1]:query(("INSERT INTO %s VALUES (1), (2), (3)"):format(name))

    cluster.start_node(3)
    nodes[3] = cluster.connect(3)
    assert.are.equal("4", status(nodes[3], "wsrep_local_state"))
    assert.are.equal("ON", status(nodes[3], "wsrep_ready"))
    assert.is_true(eventually(30, function() return status(nodes[1], "wsrep_cluster_size") == "3" end))
    assert.are.equal("3", status(nodes[3], "wsrep_cluster_size"))
    nodes[3]:query("SET SESSION wsrep_sync_wait = 1")
    assert.are.equal(3, scalar(nodes[3], ("SELECT COUNT(*) FROM %s"):format(name)))
    nodes[3]:query("SET SESSION wsrep_sync_wait = 0")
  end)

  it("reports a desynced node as not synced (wsrep_local_state != 4), and synced again after", function()
    finally(function() cluster.ensure_all_synced() end)
    cluster.desync(2, true)
    assert.are_not.equal("4", status(nodes[2], "wsrep_local_state"))
    assert.are.equal(1, scalar(nodes[2], "SELECT @@wsrep_desync"))
    -- the others are not affected
    assert.are.equal("4", status(nodes[1], "wsrep_local_state"))
    cluster.desync(2, false)
    assert.are.equal("4", status(nodes[2], "wsrep_local_state"))
    assert.are.equal(0, scalar(nodes[2], "SELECT @@wsrep_desync"))
  end)

  it("grants GET_LOCK of one name on node 1 and on node 2 at the same time (it is node-local)", function()
    local lock = "mylua_cluster_spec_" .. tostring(os.time())
    local a1 = cluster.connect(1)
    local b1 = cluster.connect(1)
    local a2 = cluster.connect(2)
    finally(function()
      for _, db in ipairs({ a1, b1, a2 }) do pcall(db.close, db) end
    end)
    assert.are.equal(1, scalar(a1, "SELECT GET_LOCK(?, 0)", lock))
    -- on the same node the lock works: a second client is refused ...
    assert.are.equal(0, scalar(b1, "SELECT GET_LOCK(?, 0)", lock))
    -- ... but a client of node 2 gets the same name while node 1's holder keeps it
    assert.are.equal(1, scalar(a2, "SELECT GET_LOCK(?, 0)", lock))
    assert.are.equal(scalar(a1, "SELECT CONNECTION_ID()"), scalar(a1, "SELECT IS_USED_LOCK(?)", lock))
    assert.are.equal(scalar(a2, "SELECT CONNECTION_ID()"), scalar(a2, "SELECT IS_USED_LOCK(?)", lock))
    assert.are.equal(1, scalar(a1, "SELECT RELEASE_LOCK(?)", lock))
    assert.are.equal(1, scalar(a2, "SELECT RELEASE_LOCK(?)", lock))
  end)
end)

describe("the primary and its replica", function()
  local primary, replica

  setup(function()
    primary = mylua.connect(cluster.primary_params())
    replica = mylua.connect(cluster.replica_params())
  end)

  teardown(function()
    if replica then pcall(replica.close, replica) end
    if primary then pcall(primary.close, primary) end
  end)

  it("are two servers, the replica's threads running, reading from the primary", function()
    assert.are_not.equal(scalar(primary, "SELECT @@server_id"), scalar(replica, "SELECT @@server_id"))
    assert.are.equal(1, scalar(primary, "SELECT @@log_bin"))
    local s = replica:query("SHOW SLAVE STATUS"):row(1)
    assert.are.equal("Yes", s.Slave_IO_Running)
    assert.are.equal("Yes", s.Slave_SQL_Running)
    assert.are.equal(math.tointeger(tonumber(os.getenv("MYLUA_PRIMARY_PORT"))), s.Master_Port)
  end)

  it("applies on the replica a row written on the primary", function()
    local name = helpers.unique_table()
    finally(function() pcall(primary.query, primary, "DROP TABLE IF EXISTS " .. name) end)
    primary:query(("CREATE TABLE %s (id INT PRIMARY KEY, v VARCHAR(20)) ENGINE=InnoDB"):format(name))
    primary:query(("INSERT INTO %s VALUES (7, 'from the primary')"):format(name))
    local m = primary:query("SHOW MASTER STATUS"):row(1)
    local waited = scalar(replica, "SELECT MASTER_POS_WAIT(?, ?, 30)", m.File, m.Position)
    assert.is_true(waited ~= mylua.null and waited >= 0, "the replica did not catch up: " .. tostring(waited))
    assert.are.equal("from the primary", scalar(replica, ("SELECT v FROM %s WHERE id = 7"):format(name)))
  end)
end)
