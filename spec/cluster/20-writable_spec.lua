-- require = "writable" on a Galera cluster: a node that is not synced
-- (desynced: wsrep_local_state != 4) is skipped by a host list with
-- require = "writable" and accepted by require = "any"; the same holds when
-- db:reconnect() goes through the list again.

local mylua = require "mylua"
local helpers = require "helpers"
local cluster = require "support.cluster"

local function entries()
  local list = {}
  for i, node in ipairs(cluster.nodes()) do list[i] = node.host .. ":" .. node.port end
  return list
end

local function connect(hosts, extra)
  local p = helpers.params(extra)
  p.host, p.port = hosts, nil
  p.connect_timeout = 10
  return mylua.connect(p)
end

local function local_state(db)
  return db:query("SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS " ..
    "WHERE VARIABLE_NAME = 'WSREP_LOCAL_STATE'"):row(1, "a")[1]
end

describe("require on a Galera cluster", function()
  it("takes the first node when every node is synced", function()
    local list = entries()
    local db = connect(list, { require = "writable" })
    assert.equal(list[1] .. " via TCP/IP", db.host_info)
    assert.equal("4", local_state(db))
    db:close()
  end)

  it("skips a desynced node with \"writable\" and accepts it with \"any\"", function()
    finally(function() cluster.ensure_all_synced() end)
    local list = entries()
    cluster.desync(1, true)
    local db = connect(list, { require = "writable" })
    assert.equal(list[2] .. " via TCP/IP", db.host_info)
    assert.equal("4", local_state(db))
    db:close()
    db = connect(list, { require = "any" })
    assert.equal(list[1] .. " via TCP/IP", db.host_info)
    assert.are_not.equal("4", local_state(db))
    db:close()
    -- the desynced node alone: refused, saying why
    local err = helpers.raises(2003, connect, { list[1] }, { require = "writable" })
    assert.truthy(err.message:find("not synced", 1, true), err.message)
    assert.truthy(err.message:find(list[1], 1, true), err.message)
  end)

  it("skips it again when db:reconnect() goes through the list", function()
    finally(function() cluster.ensure_all_synced() end)
    local list = entries()
    local db = connect(list, { require = "writable" })
    assert.equal(list[1] .. " via TCP/IP", db.host_info)
    cluster.desync(1, true)
    db:reconnect()
    assert.equal(list[2] .. " via TCP/IP", db.host_info)
    cluster.desync(1, false)
    db:reconnect()
    assert.equal(list[1] .. " via TCP/IP", db.host_info)
    db:close()
  end)
end)
