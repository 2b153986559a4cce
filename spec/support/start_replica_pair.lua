-- Starts a primary and a replica replicating from it (sandbox_pair's, the
-- same as spec 92's) in DIR/primary and DIR/replica, and writes DIR/env:
--
--   export MYLUA_PRIMARY_HOST=127.0.0.1 MYLUA_PRIMARY_PORT=... MYLUA_PRIMARY_SOCKET=...
--          MYLUA_REPLICA_HOST=127.0.0.1 MYLUA_REPLICA_PORT=... MYLUA_REPLICA_SOCKET=...
--
--   lua5.4 spec/support/start_replica_pair.lua DIR   (from the repository root,
--                                                     LUA_PATH/LUA_CPATH as for the specs)
--
-- scripts/check --cluster runs it and stops the servers with
-- `scripts/sandbox-server stop DIR/primary` (and DIR/replica). On failure it
-- stops what it started and exits non-zero, saying why.

local mylua = require "mylua"
local sandbox_pair = require "support.sandbox_pair"

local dir = arg[1]
if not dir or dir == "" then
  io.stderr:write("usage: lua5.4 spec/support/start_replica_pair.lua DIR\n")
  os.exit(2)
end

local servers = sandbox_pair.start(2, sandbox_pair.REPLICATION_OPTIONS,
  { dir .. "/primary", dir .. "/replica" })

local ok, err = pcall(function()
  local primary <close> = mylua.connect(servers[1].params)
  local replica <close> = mylua.connect(servers[2].params)
  sandbox_pair.replicate(servers, primary, replica)
end)
if not ok then
  io.stderr:write("start_replica_pair: ", tostring(err), "\n")
  sandbox_pair.stop(servers)
  os.exit(1)
end

local q = sandbox_pair.quote
local f = assert(io.open(dir .. "/env.tmp", "w"))
f:write(("export MYLUA_PRIMARY_HOST=127.0.0.1 MYLUA_PRIMARY_PORT=%d MYLUA_PRIMARY_SOCKET=%s"
  .. " MYLUA_REPLICA_HOST=127.0.0.1 MYLUA_REPLICA_PORT=%d MYLUA_REPLICA_SOCKET=%s\n")
  :format(servers[1].port, q(servers[1].socket), servers[2].port, q(servers[2].socket)))
f:close()
assert(os.rename(dir .. "/env.tmp", dir .. "/env"))
print(("primary 127.0.0.1:%d, replica 127.0.0.1:%d replicating from it"):format(servers[1].port, servers[2].port))
