-- mylua.connect options: every known key is accepted, an unknown key or a
-- key that is not a string raises an error naming it, values of the wrong
-- kind or range raise, and a NUL byte in a string option raises instead of
-- cutting the string short.  The option checks run before any network
-- traffic.

local mylua = require "mylua"
local safe = require "mylua.safe"
local helpers = require "helpers"

local raises_string = helpers.raises_string

-- The options of the test server plus every other known key with a valid
-- value (transport belongs to the transport layer and is left out).
local function every_option()
  return helpers.params{
    protocol = "tcp",
    socket = "/nonexistent/ignored-because-tcp.sock",
    charset = "utf8mb4",
    collation = "utf8mb4_unicode_ci",
    connect_timeout = 5,
    read_timeout = 30,
    write_timeout = 30,
    multi_statements = false,
    attrs = { program_name = "options-spec" },
    max_packet = 4 * 1024 * 1024,
    max_result_bytes = 0,
  }
end

describe("connect options", function()
  it("accept every known key", function()
    local db = mylua.connect(every_option())
    assert.equal("utf8mb4_unicode_ci", db:query("SELECT @@collation_connection"):row(1, "v"))
    -- multi_statements = false reached the server
    assert.is_true(pcall(db.query, db, "SELECT 1") and not pcall(db.query, db, "SELECT 1; SELECT 2"))
    db:close()
  end)

  it("take a port given as a float with an integer value", function()
    local p = helpers.params()
    p.port = p.port + 0.0
    mylua.connect(p):close()
  end)

  it("raise for an unknown key, naming it", function()
    local err = raises_string("unknown option 'read_timout'", mylua.connect,
      helpers.params{ read_timout = 1 })
    assert.truthy(err:find("did you mean 'read_timeout'?", 1, true), err)
    raises_string("unknown option 'colour'", mylua.connect, helpers.params{ colour = "blue" })
    local e = raises_string("unknown option 'xyzzy_frobnicate'", mylua.connect, { xyzzy_frobnicate = 1 })
    assert.is_nil(e:find("did you mean", 1, true), e)
  end)

  it("show an unknown key's control bytes, so it does not look like a known one", function()
    local err = raises_string("unknown option 'host\\000x'", mylua.connect, { ["host\0x"] = "h" })
    assert.truthy(err:find("did you mean 'host'?", 1, true), err)
    raises_string("unknown option '" .. ("k"):rep(64) .. "...'", mylua.connect, { [("k"):rep(1000)] = 1 })
  end)

  it("check the binding's own options before any network traffic", function()
    raises_string("option 'reconnect' must be a boolean", mylua.connect,
      { host = "127.0.0.1", port = 1, reconnect = 1 })
    raises_string("option 'host_order' must be", mylua.connect,
      { host = "127.0.0.1", port = 1, host_order = "sideways" })
    raises_string("option 'require' must be", mylua.connect,
      { host = "127.0.0.1", port = 1, require = true })
  end)

  it("raise for a key that is not a string", function()
    raises_string("option names must be strings (got a number key)", mylua.connect, { "localhost" })
    raises_string("option names must be strings (got a boolean key)", mylua.connect, { [true] = 1 })
    raises_string("option names must be strings (got a table key)", mylua.connect, { [{}] = 1 })
  end)

  it("are checked before any network traffic", function()
    -- nothing listens on port 1: a connect attempt would be 2003
    raises_string("unknown option 'sssl'", mylua.connect, { host = "127.0.0.1", port = 1, sssl = 1 })
    raises_string("option 'password' contains a NUL byte", mylua.connect,
      { host = "127.0.0.1", port = 1, password = "a\0b" })
  end)

  it("come back as nil, err through mylua.safe", function()
    local db, err = safe.connect(helpers.params{ read_timout = 1 })
    assert.is_nil(db)
    assert.truthy(tostring(err):find("unknown option 'read_timout'", 1, true))
  end)

  describe("with a NUL byte in a string", function()
    it("raise for the password instead of logging in with what precedes it", function()
      local p = helpers.params()
      p.password = p.password .. "\0junk"
      raises_string("option 'password' contains a NUL byte", mylua.connect, p)
    end)

    for _, key in ipairs{ "user", "database", "socket", "host", "charset", "collation", "protocol" } do
      it("raise for " .. key, function()
        local p = helpers.params()
        p[key] = (p[key] or "x") .. "\0tail"
        raises_string("option '" .. key .. "' contains a NUL byte", mylua.connect, p)
      end)
    end

    it("raise for an attribute name or value", function()
      raises_string("option 'attrs' contains a NUL byte", mylua.connect,
        helpers.params{ attrs = { ["program\0name"] = "x" } })
      raises_string("option 'attrs' contains a NUL byte", mylua.connect,
        helpers.params{ attrs = { program_name = "x\0y" } })
    end)
  end)

  describe("with a value of the wrong kind", function()
    local cases = {
      { "host", 5, "option 'host' must be a string" },
      { "port", "3306", "option 'port' must be an integer from 1 to 65535" },
      { "port", 0, "option 'port' must be an integer from 1 to 65535" },
      { "port", 65536, "option 'port' must be an integer from 1 to 65535" },
      { "port", 3306.5, "option 'port' must be an integer from 1 to 65535" },
      { "protocol", "udp", "option 'protocol' must be \"tcp\" or \"socket\"" },
      { "connect_timeout", -1, "option 'connect_timeout' must be a number of seconds from 0 to 31536000" },
      { "read_timeout", 0 / 0, "option 'read_timeout' must be a number of seconds" },
      { "write_timeout", math.huge, "option 'write_timeout' must be a number of seconds" },
      { "read_timeout", "5", "option 'read_timeout' must be a number of seconds" },
      { "multi_statements", 1, "option 'multi_statements' must be a boolean" },
      { "attrs", "x", "option 'attrs' must be a table mapping strings to strings" },
      { "attrs", { 1, 2 }, "option 'attrs' must be a table mapping strings to strings" },
      { "max_packet", 1000, "option 'max_packet' must be an integer from 1024 to 1073741824" },
      { "max_packet", 2 ^ 30 + 1, "option 'max_packet' must be an integer from 1024 to 1073741824" },
      { "max_result_bytes", -1, "option 'max_result_bytes' must be an integer from 0" },
      { "max_result_bytes", 1.5, "option 'max_result_bytes' must be an integer from 0" },
    }
    for _, c in ipairs(cases) do
      local shown = type(c[2]) == "string" and ("%q"):format(c[2])
        or type(c[2]) == "table" and "an array"
        or c[2] ~= c[2] and "NaN"
        or tostring(c[2])
      it(("raise for %s = %s"):format(c[1], shown), function()
          raises_string(c[3], mylua.connect, helpers.params{ [c[1]] = c[2] })
        end)
    end
  end)

  it("accept the bounds of max_packet and a max_result_bytes ceiling", function()
    mylua.connect(helpers.params{ max_packet = 1024 }):close()
    mylua.connect(helpers.params{ max_packet = 2 ^ 30 }):close()
    mylua.connect(helpers.params{ max_result_bytes = 1024 * 1024 }):close()
  end)

  it("default to utf8mb4 with multi-statements on", function()
    local db = helpers.connect()
    assert.equal("utf8mb4", db.charset)
    local res = db:query("SELECT 1 AS a; SELECT 2 AS a")
    assert.equal(2, res:next_result():row(1).a)
    db:close()
  end)

  it("default the user to the login name ($USER)", function()
    -- a user the server does not know is refused under the name that was sent
    local name = "mylua_nobody_" .. math.random(100000, 999999)
    local out, err, code = helpers.run(("USER=%s %s -e %s"):format(name, helpers.shell_quote(helpers.bin()),
      helpers.shell_quote(("local p = %s; p.user = nil; require('mylua').connect(p)"):format(
        ("{ host = %q, port = %d, password = 'x', connect_timeout = 5 }"):format(
          helpers.params().host, helpers.params().port)))))
    assert.equal(1, code, out)
    assert.truthy(err:find("Access denied for user '" .. name .. "'", 1, true), err)
  end)
end)
