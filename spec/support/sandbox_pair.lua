-- Throw-away MariaDB servers of a spec's own, started with
-- scripts/sandbox-server into a temporary directory each: the same
-- bootstrap gives them the same initial state, and their sockets and ports
-- (picked free by the script) never collide with scripts/check's servers.
--
--   local servers = sandbox_pair.start(2)   -- raises if any did not start
--   sandbox_pair.start(2, { {"--log-bin"}, {} })  -- extra mariadbd options, per server
--   servers[1].params     -- connect options (Unix socket)
--   servers[1].port       -- its TCP port on 127.0.0.1
--   servers[1].cnf        -- an option file for the mariadb client tools
--   sandbox_pair.stop(servers)  -- stops them and removes their directories;
--                               -- safe on a partial or nil list, and twice
--
-- A primary and a replica (real replication by binlog position):
--
--   local servers = sandbox_pair.start(2, sandbox_pair.REPLICATION_OPTIONS)
--   sandbox_pair.replicate(servers, primary_conn, replica_conn)
--
-- sandbox_pair.start(n, options, dirs) uses the directories dirs[i] instead of
-- new temporary ones (scripts/check --cluster starts the pair it keeps running
-- for the cluster specs that way, through spec/support/start_replica_pair.lua).

local sandbox_pair = {}

local SCRIPT = "scripts/sandbox-server"

local function quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

local function slurp(path)
  local f = io.open(path, "rb")
  if not f then return "" end
  local s = f:read("a")
  f:close()
  return s
end

-- A fresh directory with a short path (a Unix socket path has ~100 bytes).
local function temp_dir()
  local base = os.getenv("TMPDIR")
  if not base or base == "" or #base > 40 then base = "/tmp" end
  local p = assert(io.popen("mktemp -d " .. quote(base .. "/myl48.XXXXXX")))
  local dir = p:read("l")
  p:close()
  assert(dir and dir ~= "", "mktemp -d failed")
  return dir
end

-- Starts n servers at once (their bootstraps run in parallel); options[i],
-- when given, lists extra mariadbd options for server i; dirs[i], when given,
-- is server i's directory.
function sandbox_pair.start(n, options, dirs)
  local servers, cmds = {}, {}
  for i = 1, n do
    local dir = dirs and dirs[i] or temp_dir()
    if dirs then assert(os.execute("mkdir -p " .. quote(dir)), "cannot create " .. dir) end
    servers[i] = { dir = dir }
    local extra = {}
    for j, o in ipairs(options and options[i] or {}) do extra[j] = " " .. quote(o) end
    cmds[i] = ("%s start %s%s >%s 2>&1 </dev/null &"):format(
      SCRIPT, quote(dir), table.concat(extra), quote(dir .. "/start.log"))
  end
  os.execute(table.concat(cmds, " ") .. " wait")
  for i, s in ipairs(servers) do
    local env = slurp(s.dir .. "/env")
    if env == "" then
      local log = slurp(s.dir .. "/start.log")
      sandbox_pair.stop(servers)
      error(("sandbox server %d did not start:\n%s"):format(i, log), 2)
    end
    local function var(name)
      local v = env:match(name .. "=(%S+)")
      return v and v:gsub("^'(.*)'$", "%1")
    end
    s.socket = var("MYLUA_TEST_SOCKET")
    s.port = math.tointeger(tonumber(var("MYLUA_TEST_PORT")))
    s.cnf = s.dir .. "/client.cnf"
    s.params = {
      socket = s.socket,
      user = var("MYLUA_TEST_USER"),
      password = var("MYLUA_TEST_PASSWORD"),
      database = var("MYLUA_TEST_DB"),
      read_timeout = 120,
    }
  end
  return servers
end

function sandbox_pair.stop(servers)
  for _, s in ipairs(servers or {}) do
    if s.dir and not s.stopped then
      os.execute(("%s stop %s >/dev/null 2>&1"):format(SCRIPT, quote(s.dir)))
      os.execute("rm -rf " .. quote(s.dir))
      s.stopped = true
    end
  end
end

-- The mariadbd options of a primary (servers[1]) and its replica (servers[2]).
sandbox_pair.REPLICATION_OPTIONS = {
  { "--server-id=1", "--log-bin=primary-bin", "--binlog-format=ROW" },
  { "--server-id=2", "--relay-log=replica-relay", "--skip-slave-start" },
}

-- Makes servers[2] (connection `replica`) replicate from servers[1]
-- (connection `primary`) from the primary's current position: the bootstrap
-- before it (the test database and user) is on both servers already. Waits
-- (up to 15 s) until both replication threads run; raises otherwise.
function sandbox_pair.replicate(servers, primary, replica)
  local params = servers[1].params
  local m = primary:query("SHOW MASTER STATUS"):row(1)
  replica:query(("CHANGE MASTER TO MASTER_HOST = '127.0.0.1', MASTER_PORT = %d, MASTER_USER = %s, "
    .. "MASTER_PASSWORD = %s, MASTER_LOG_FILE = %s, MASTER_LOG_POS = %d, MASTER_CONNECT_RETRY = 1")
    :format(servers[1].port, replica:quote(params.user), replica:quote(params.password),
      replica:quote(m.File), m.Position))
  replica:query("START SLAVE")
  local s
  for _ = 1, 300 do
    s = replica:query("SHOW SLAVE STATUS"):row(1)
    if s.Slave_IO_Running == "Yes" and s.Slave_SQL_Running == "Yes" then return end
    assert(s.Last_IO_Errno == 0 and s.Last_SQL_Errno == 0,
      ("replication failed: %s %s"):format(s.Last_IO_Error, s.Last_SQL_Error))
    os.execute("sleep 0.05")
  end
  error("replication did not start")
end

sandbox_pair.quote = quote
sandbox_pair.slurp = slurp

return sandbox_pair
