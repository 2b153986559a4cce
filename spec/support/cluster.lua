-- The Galera cluster and the primary/replica pair that scripts/check --cluster
-- starts for the specs under spec/cluster/ (see the head of scripts/check):
--
--   local cluster = require "support.cluster"
--   cluster.nodes()            -- { {host=, port=}, ... } from MYLUA_GALERA_NODES
--   cluster.params(i, extra)   -- connect options for node i (helpers.params merged)
--   cluster.connect(i, extra)
--   cluster.kill(i)            -- SIGKILL node i
--   cluster.start_node(i)      -- restart it; returns when it is synced
--   cluster.wait_synced(i)
--   cluster.desync(i, on)      -- SET GLOBAL wsrep_desync; off waits until synced
--   cluster.ensure_all_synced() -- restarts any node not running, waits for all:
--                              -- for a spec's finally/after_each
--   cluster.primary_params(extra), cluster.replica_params(extra)
--
-- The actions run scripts/galera-cluster and raise with its output when it fails.

local helpers = require "helpers"

local cluster = {}

local function need(name)
  local v = os.getenv(name)
  if v == nil or v == "" then error(name .. " is not set: run the cluster specs with scripts/check --cluster", 3) end
  return v
end

function cluster.nodes()
  local list = {}
  for host, port in need("MYLUA_GALERA_NODES"):gmatch("([^,]+):(%d+)") do
    list[#list + 1] = { host = host, port = math.tointeger(tonumber(port)) }
  end
  return list
end

function cluster.params(i, extra)
  local node = cluster.nodes()[i] or error("no cluster node " .. tostring(i), 2)
  local e = { host = node.host, port = node.port, connect_timeout = 10, read_timeout = 60 }
  for k, v in pairs(extra or {}) do e[k] = v end
  return helpers.params(e)
end

function cluster.connect(i, extra)
  return require("mylua").connect(cluster.params(i, extra))
end

-- Runs scripts/galera-cluster ACTION DIR ARGS...; returns its output, raises
-- with it when the script fails.
function cluster.run(action, ...)
  local words = { "scripts/galera-cluster", action, need("MYLUA_GALERA_DIR"), ... }
  for i, w in ipairs(words) do words[i] = helpers.shell_quote(tostring(w)) end
  local p = assert(io.popen(table.concat(words, " ") .. " 2>&1 </dev/null"))
  local out = p:read("a")
  local ok, _, code = p:close()
  if not ok then
    error(("scripts/galera-cluster %s %s failed (exit %s):\n%s"):format(action,
      table.concat({ ... }, " "), tostring(code), out), 2)
  end
  return out
end

function cluster.kill(i) return cluster.run("kill", i) end
function cluster.start_node(i) return cluster.run("start-node", i) end
function cluster.wait_synced(i) return cluster.run("wait-synced", i) end
function cluster.desync(i, on) return cluster.run("desync", i, on and "on" or "off") end

-- Is node i's mariadbd running (per the script's status)?
function cluster.running(i)
  local p = assert(io.popen(("scripts/galera-cluster status %s 2>&1 </dev/null")
    :format(helpers.shell_quote(need("MYLUA_GALERA_DIR")))))
  local out = p:read("a")
  p:close()
  return out:find(("node %d: %%S+ pid"):format(i)) ~= nil
end

-- Leaves the cluster as the specs expect to find it: every node running, not
-- desynced, synced.
function cluster.ensure_all_synced()
  for i = 1, #cluster.nodes() do
    if not cluster.running(i) then
      cluster.start_node(i)
    else
      cluster.run("sql", i, "SET GLOBAL wsrep_desync = OFF")
      cluster.wait_synced(i)
    end
  end
end

local function pair_params(role, extra)
  local e = {
    host = need("MYLUA_" .. role .. "_HOST"),
    port = math.tointeger(tonumber(need("MYLUA_" .. role .. "_PORT"))),
    read_timeout = 60,
  }
  for k, v in pairs(extra or {}) do e[k] = v end
  return helpers.params(e)
end

function cluster.primary_params(extra) return pair_params("PRIMARY", extra) end
function cluster.replica_params(extra) return pair_params("REPLICA", extra) end

return cluster
