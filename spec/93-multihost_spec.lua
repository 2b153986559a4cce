-- Multi-host connect: host = { ... } or "a,b:port", tried in order or at
-- random under one overall connect_timeout, require = "writable" skipping
-- read-only servers, db.host_info naming the host that answered, and a
-- failure that lists every host with its own error.  The second real
-- server is the TLS sandbox; a refused port and a listener that never
-- speaks stand for hosts that are down.

local mylua = require "mylua"
local helpers = require "helpers"
local peer = require "support.peer"

local P = helpers.params()
local T = helpers.tls_params()

-- A TCP port on 127.0.0.1 that nothing listens on.
local function closed_port()
  local out = helpers.run([[python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])']])
  return assert(math.tointeger(tonumber(out)), "no free port")
end

local function entry(host, port) return host .. ":" .. math.tointeger(port) end
local MAIN = entry(P.host, P.port)
local SECOND = entry(T.host, T.port)

local function connect(hosts, extra)
  local p = helpers.params(extra)
  p.host, p.port = hosts, nil
  return mylua.connect(p)
end

local function port_of(db)
  return db:query("SELECT @@port"):row(1, "a")[1]
end

describe("a host list", function()
  after_each(function() peer.stop_all() end)

  it("connects to the first host that answers and says which in host_info", function()
    local refused = entry("127.0.0.1", closed_port())
    local db = connect({ refused, MAIN, SECOND })
    assert.equal(P.port, port_of(db))
    assert.equal(MAIN .. " via TCP/IP", db.host_info)
    db:close()
    db = connect({ refused, SECOND, MAIN })
    assert.equal(T.port, port_of(db))
    assert.equal(SECOND .. " via TCP/IP", db.host_info)
    db:close()
  end)

  it("takes the comma-separated string form, as the mariadb client does", function()
    local db = connect(entry("127.0.0.1", closed_port()) .. ", " .. SECOND)
    assert.equal(T.port, port_of(db))
    assert.equal(SECOND .. " via TCP/IP", db.host_info)
    db:close()
  end)

  it("uses the port option for entries without one", function()
    local p = helpers.params{ host = { "127.0.0.1" }, port = T.port }
    local db = mylua.connect(p)
    assert.equal(T.port, port_of(db))
    assert.equal("127.0.0.1:" .. T.port .. " via TCP/IP", db.host_info)
    db:close()
  end)

  it("lists every host with its own error when none answers, with the last one's code", function()
    local a, b = closed_port(), closed_port()
    local p = helpers.params{ host = { entry("127.0.0.1", a), "[::1]:" .. b,
                                       "no-such-host.invalid:3306" } }
    local err = helpers.raises({ 2005, 2003 }, mylua.connect, p)
    local lines = {}
    for l in err.message:gmatch("[^\n]+") do lines[#lines + 1] = l end
    assert.equal(4, #lines, err.message)
    assert.truthy(lines[1]:find("any of the 3 hosts", 1, true), lines[1])
    assert.truthy(lines[2]:find("127.0.0.1:" .. a .. ": ", 1, true), lines[2])
    assert.truthy(lines[2]:find("(2003)", 1, true), lines[2])
    assert.truthy(lines[3]:find("[::1]:" .. b .. ": ", 1, true), lines[3])
    assert.truthy(lines[4]:find("no-such-host.invalid:3306: ", 1, true), lines[4])
    assert.equal(3, #err.hosts)
    assert.equal("127.0.0.1", err.hosts[1].host)
    assert.equal(a, err.hosts[1].port)
    assert.equal(2003, err.hosts[1].code)
    assert.equal("::1", err.hosts[2].host)
    assert.equal(err.hosts[3].code, err.code)
  end)

  it("keeps one host's behaviour and error exactly as before", function()
    local port = closed_port()
    local err = helpers.raises(2003, mylua.connect, helpers.params{ port = port })
    assert.falsy(err.message:find("any of", 1, true), err.message)
    assert.is_nil(err.hosts)
    local db = helpers.connect()
    assert.equal(P.host .. " via TCP/IP", db.host_info)
    db:close()
  end)

  it("rejects entries that are not hosts, naming them", function()
    for _, bad in ipairs({ "db:abc", "[::1", "db:0", "db:70000", "", "[::1]x" }) do
      local ok, err = pcall(mylua.connect, helpers.params{ host = { MAIN, bad } })
      assert.is_false(ok)
      assert.truthy(tostring(err):find("is not a host", 1, true), tostring(err))
    end
    local ok, err = pcall(mylua.connect, helpers.params{ host = {} })
    assert.is_false(ok)
    assert.truthy(tostring(err):find("at least one host", 1, true), tostring(err))
    ok, err = pcall(mylua.connect, helpers.params{ host = { MAIN, 3306 } })
    assert.is_false(ok)
    assert.truthy(tostring(err):find("entry 2 is a number", 1, true), tostring(err))
    ok, err = pcall(mylua.connect, helpers.params{ host = { MAIN }, host_order = "shuffled" })
    assert.is_false(ok)
    assert.truthy(tostring(err):find("host_order", 1, true), tostring(err))
    ok, err = pcall(mylua.connect, helpers.params{ host = { MAIN }, require = "primary" })
    assert.is_false(ok)
    assert.truthy(tostring(err):find("'require' must be", 1, true), tostring(err))
  end)
end)

describe("one connect_timeout for the whole list", function()
  after_each(function() peer.stop_all() end)

  it("is shared: a host that never speaks uses it up and the rest are not tried", function()
    local silent = peer.start("silent")
    local t0 = helpers.now()
    local p = helpers.params{ host = { entry("127.0.0.1", silent.port), MAIN }, connect_timeout = 1 }
    local err = helpers.raises({ 2013, 2003 }, mylua.connect, p)
    local elapsed = helpers.now() - t0
    assert.is_true(elapsed >= 0.9 and elapsed < 2, "took " .. elapsed .. " s")
    assert.truthy(err.message:find("not tried", 1, true), err.message)
    assert.equal(2, #err.hosts)
  end)

  it("leaves what is left to the next host", function()
    local silent = peer.start("silent")
    local t0 = helpers.now()
    local p = helpers.params{ host = { entry("127.0.0.1", closed_port()), MAIN,
                                       entry("127.0.0.1", silent.port) }, connect_timeout = 3 }
    local db = mylua.connect(p)
    assert.equal(MAIN .. " via TCP/IP", db.host_info)
    assert.is_true(helpers.now() - t0 < 1, "a good host after a refused one took long")
    db:close()
    -- two silent hosts under 1.5 s in all, not 1.5 s each
    local other = peer.start("silent")
    t0 = helpers.now()
    p = helpers.params{ host = { entry("127.0.0.1", silent.port), entry("127.0.0.1", other.port) },
                        connect_timeout = 1.5 }
    helpers.raises({ 2013, 2003 }, mylua.connect, p)
    local elapsed = helpers.now() - t0
    assert.is_true(elapsed >= 1.4 and elapsed < 2.5, "took " .. elapsed .. " s")
  end)
end)

describe("host_order", function()
  it("\"in order\" (the default) always takes the first that answers", function()
    for _ = 1, 5 do
      local db = connect({ MAIN, SECOND }, { host_order = "in order" })
      assert.equal(MAIN .. " via TCP/IP", db.host_info)
      db:close()
    end
  end)

  it("\"random\" actually varies the host", function()
    local seen = {}
    for _ = 1, 40 do
      local db = connect({ MAIN, SECOND }, { host_order = "random" })
      seen[db.host_info] = (seen[db.host_info] or 0) + 1
      db:close()
    end
    assert.is_true((seen[MAIN .. " via TCP/IP"] or 0) > 0, "never the first")
    assert.is_true((seen[SECOND .. " via TCP/IP"] or 0) > 0, "never the second")
  end)
end)

describe("require", function()
  local admin
  before_each(function()
    admin = mylua.connect(helpers.tls_params())
    admin:query("SET GLOBAL read_only = 1")
  end)
  after_each(function()
    admin:query("SET GLOBAL read_only = 0")
    admin:close()
  end)

  it("\"writable\" skips a read-only server, \"any\" (the default) takes it", function()
    local db = connect({ SECOND, MAIN }, { require = "writable" })
    assert.equal(MAIN .. " via TCP/IP", db.host_info)
    db:close()
    db = connect({ SECOND, MAIN }, { require = "any" })
    assert.equal(SECOND .. " via TCP/IP", db.host_info)
    db:close()
    db = connect({ SECOND, MAIN })
    assert.equal(SECOND .. " via TCP/IP", db.host_info)
    db:close()
  end)

  it("\"writable\" with only read-only servers fails saying why for each", function()
    local err = helpers.raises(2003, connect, { SECOND, entry("127.0.0.1", closed_port()) },
      { require = "writable" })
    assert.truthy(err.message:find(SECOND .. ": the server is read-only (read_only is ON)", 1, true),
      err.message)
    -- one host, not a list: its own reason alone
    local p = helpers.tls_params{ require = "writable" }
    err = helpers.raises(2003, mylua.connect, p)
    assert.truthy(err.message:find("read-only", 1, true), err.message)
  end)
end)

describe("the host program", function()
  it("takes -h 'a,b' as a host list", function()
    local refused = entry("127.0.0.1", closed_port())
    local out, err, code = helpers.run_host({ "--no-defaults", "-h", refused .. "," .. SECOND,
      "-u", P.user, "-p" .. P.password, "-D", P.database, "-e",
      "local db = require('mylua').connect() print(db.host_info) print(db:query('SELECT @@port'):row(1, 'a')[1])" })
    assert.equal("", err)
    assert.equal(0, code)
    assert.equal(SECOND .. " via TCP/IP\n" .. T.port .. "\n", out)
  end)

  it("reports every host when none answers", function()
    local a, b = closed_port(), closed_port()
    local _, err, code = helpers.run_host({ "--no-defaults", "-h", entry("127.0.0.1", a) .. "," ..
      entry("127.0.0.1", b), "-u", P.user, "-e", "require('mylua').connect()" })
    assert.is_not.equal(0, code)
    assert.truthy(err:find("127.0.0.1:" .. a, 1, true), err)
    assert.truthy(err:find("127.0.0.1:" .. b, 1, true), err)
  end)
end)
