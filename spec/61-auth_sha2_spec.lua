--- MySQL 8's SHA-256 authentication plugins, caching_sha2_password and
--- sha256_password, against spec/support/mysql8peer.py: a peer speaking
--- them byte for byte as MySQL 8.0 does (its cache, its RSA key pair, TLS
--- with the test certificates, a Unix socket, auth switch, hostile replies)
--- and logging what it received, so each test can check that the password
--- never went where someone in between could read it.

local mylua = require "mylua"
local helpers = require "helpers"

local raises = helpers.raises
local q = helpers.shell_quote

local here = debug.getinfo(1, "S").source:match("^@(.*)[/\\]") or "."
local peer_script = here .. "/support/mysql8peer.py"

-- MySQL's formula for "sha2-secret" over the scramble "ABCDEFGHIJKLMNOPQRST",
-- worked out with the openssl tool (`openssl dgst -sha256`, stage by stage):
-- XOR(SHA256(pw), SHA256(SHA256(SHA256(pw)) .. scramble)).
local SHA2_SECRET_TOKEN = "19b347668f2e9b61b00b86afad86443b2db98321611549924dda8387e102f5a5"

local NEEDS_SECURE = "requires a secure connection (TLS with a verified certificate or a Unix "
  .. "socket), or server_public_key / get_server_public_key"

local dir, peer
local tags, cache_epoch, cache_mode = 0, 0, "empty"

local function write_file(path, text)
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
end

local function sh(cmd)
  assert(os.execute(cmd .. " >/dev/null 2>&1"), "failed: " .. cmd)
end

-- The server's caching_sha2 cache starts over (empty or holding every
-- account) at the next connection.
local function reset_cache(mode)
  cache_epoch = cache_epoch + 1
  cache_mode = mode
end

-- What the peer logged for one connection.
local Login = {}
Login.__index = Login

-- The connection's log lines (without the tag) once `key` (a `key=` line or
-- a bare word) shows up, or its `done` (within 5 s).
function Login:lines(key)
  local deadline = helpers.now() + 5
  repeat
    local lines, seen = {}, false
    local f = io.open(dir .. "/log")
    if f then
      for l in f:lines() do
        local rest = l:match("^" .. self.tag .. " (.*)$")
        if rest then
          lines[#lines + 1] = rest
          if rest == "done" or rest == key or (key and rest:find(key .. "=", 1, true) == 1) then
            seen = true
          end
        end
      end
      f:close()
    end
    if seen then return lines end
    os.execute("sleep 0.05")
  until helpers.now() > deadline
  error("the peer never logged " .. tostring(key or "done") .. " for " .. self.tag)
end

-- The value of the connection's first `key=` line, or nil.
function Login:value(key)
  for _, l in ipairs(self:lines(key)) do
    local v = l:match("^" .. key .. "=(.*)$")
    if v then return v end
  end
end

-- Everything logged, once the connection is over.
function Login:log() return table.concat(self:lines(), "\n") end

-- The next connection's settings for the peer (mysql8peer.py's ctl file).
local function next_login(ctl)
  tags = tags + 1
  local login = setmetatable({ tag = "t" .. tags }, Login)
  local lines = { "tag=" .. login.tag, "cache_epoch=" .. cache_epoch, "cache=" .. cache_mode }
  for k, v in pairs(ctl or {}) do lines[#lines + 1] = k .. "=" .. v end
  write_file(dir .. "/ctl", table.concat(lines, "\n") .. "\n")
  return login
end

-- Connect options for the peer over plain TCP, merged with `extra`.
local function options(extra)
  local o = {
    host = "127.0.0.1", port = peer.port, user = "sha2", password = "sha2-secret",
    connect_timeout = 3, read_timeout = 3, ssl = false,
  }
  for k, v in pairs(extra or {}) do
    if v == helpers.NONE then o[k] = nil else o[k] = v end
  end
  return o
end

local function socket_options(extra)
  local o = options(extra)
  o.host, o.port, o.socket = nil, nil, dir .. "/mysqld.sock"
  return o
end

local function verified_tls() return { mode = "verify_ca", ca = helpers.tls_file("ca.pem") } end

local function scalar(db, sql) return db:query(sql):row(1, "a")[1] end
local function status(db, name) return db:query("SHOW STATUS LIKE '" .. name .. "'"):row(1, "a")[2] end

-- Connects with `opts` under the peer settings `ctl`; returns what the
-- login's peer saw, the user the session runs as and how it authenticated.
local function login_ok(opts, ctl)
  local login = next_login(ctl)
  local db = mylua.connect(opts)
  local user, path = scalar(db, "SELECT CURRENT_USER()"), status(db, "peer_auth_path")
  db:close()
  assert.equal("ok", login:value("auth"))
  return login, user, path
end

-- Connecting with `opts` must fail with `code`; returns the error and the log.
local function login_fails(code, opts, ctl)
  local login = next_login(ctl)
  local err, elapsed = raises(code, mylua.connect, opts)
  assert(elapsed < 3, ("the refusal took %.1f s"):format(elapsed))
  return err, login
end

local function assert_contains(text, part)
  assert(text:find(part, 1, true), ("%q does not contain %q"):format(text, part))
end

-- The password never reached the peer, in clear or in any other form it
-- could read, and nothing followed the request for it.
local function assert_nothing_sent(login)
  assert.equal("0", login:value("password_seen"))
  local log = login:log()
  assert.falsy(log:find("full_auth=", 1, true), log)
  assert.falsy(log:find("key_request=", 1, true), log)
  assert.falsy(log:find("auth=ok", 1, true), log)
end

setup(function()
  dir = os.tmpname()
  os.remove(dir)
  sh("mkdir -m 700 " .. q(dir))
  local pipe = assert(io.popen(("echo $$; exec python3 %s %s %s")
    :format(q(peer_script), q(dir), q(helpers.tls_file("")))))
  peer = { pipe = pipe, pid = tonumber(pipe:read("l")) }
  peer.port = tonumber(pipe:read("l"))
  assert(peer.pid and peer.port, "mysql8peer.py did not start")
  -- keys the client is given instead of the server's
  sh(("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 | openssl pkey -pubout -out %s")
     :format(q(dir .. "/ec-public.pem")))
  write_file(dir .. "/junk.pem", "-----BEGIN PUBLIC KEY-----\nnot base64 at all\n-----END PUBLIC KEY-----\n")
end)

teardown(function()
  if peer then
    os.execute("kill " .. math.tointeger(peer.pid) .. " 2>/dev/null")
    peer.pipe:close()
  end
  if dir then os.execute("rm -rf " .. q(dir)) end
end)

describe("caching_sha2_password's fast path", function()
  it("follows a first login's full authentication, once the server's cache knows the account", function()
    reset_cache("empty")
    local key = { server_public_key = dir .. "/public.pem" }
    local first, user, path = login_ok(options(key))
    assert.equal("sha2@localhost", user)
    assert.equal("caching_sha2_password full rsa", path)
    assert.equal("miss", first:value("fast_auth"))
    local second
    second, user, path = login_ok(options(key))
    assert.equal("sha2@localhost", user)
    assert.equal("caching_sha2_password fast", path)
    assert.equal("hit", second:value("fast_auth"))
    assert.equal("0", second:value("password_seen"))
    assert.falsy(second:log():find("full_auth", 1, true))
  end)

  it("sends the token of MySQL's formula (a fixed vector) as its first answer", function()
    reset_cache("full")
    local login, _, path = login_ok(options(), { scramble = "fixed" })
    assert.equal(SHA2_SECRET_TOKEN, login:value("token_hex"))
    assert.equal("caching_sha2_password", login:value("client_plugin"))
    assert.equal("caching_sha2_password fast", path)
  end)

  it("gets no OK for a wrong password: the server asks for the password, and refuses it (1045)", function()
    reset_cache("full")
    local err, login = login_fails(1045, options { password = "wrong", get_server_public_key = true })
    assert.equal("28000", err.sqlstate)
    assert_contains(err.message, "Access denied for user 'sha2'@'localhost' (using password: YES)")
    assert.equal("miss", login:value("fast_auth"))
    assert.equal("rsa", login:value("full_auth"))
    assert.equal("denied", login:value("auth"))
  end)

  it("answers an empty password with nothing, which the server takes for no password", function()
    local login, user, path = login_ok(options { user = "sha2_empty", password = "" })
    assert.equal("sha2_empty@localhost", user)
    assert.equal("caching_sha2_password empty", path)
    assert.falsy(login:log():find("token_hex", 1, true))
    local err = login_fails(1045, options { password = "" })
    assert_contains(err.message, "(using password: NO)")
  end)

  it("works over TLS whose certificate is not verified: only the token goes", function()
    reset_cache("full")
    local login, _, path = login_ok(options { ssl = { mode = "required" } })
    assert.equal("tls", login:value("transport"))
    assert.equal("caching_sha2_password fast", path)
  end)
end)

describe("caching_sha2_password's full authentication", function()
  before_each(function() reset_cache("empty") end)

  it("sends the password in clear over TLS with a verified certificate", function()
    local login = next_login()
    local db = mylua.connect(options { ssl = verified_tls() })
    assert.equal("ca", db.tls.verified)
    assert.equal("caching_sha2_password full clear", status(db, "peer_auth_path"))
    assert.truthy(#status(db, "Ssl_cipher") > 0)
    db:close()
    assert.equal("tls", login:value("transport"))
    assert.equal("clear", login:value("full_auth"))
  end)

  it("sends the password in clear over the Unix socket", function()
    local login, user, path = login_ok(socket_options())
    assert.equal("socket", login:value("transport"))
    assert.equal("sha2@localhost", user)
    assert.equal("caching_sha2_password full clear", path)
  end)

  it("encrypts the password with the key of the server_public_key file over plain TCP", function()
    local login, _, path = login_ok(options { server_public_key = dir .. "/public.pem" })
    assert.equal("tcp", login:value("transport"))
    assert.equal("caching_sha2_password full rsa", path)
    assert.equal("0", login:value("password_seen"))
    assert.equal("12", login:value("rsa_plain_len"), "the password and its NUL, XORed")
    assert.falsy(login:log():find("key_request", 1, true), "asked for a key it had")
  end)

  it("asks the server for its key (0x02) with get_server_public_key over plain TCP", function()
    local login, _, path = login_ok(options { get_server_public_key = true })
    assert.equal("1", login:value("key_request"))
    assert.equal("caching_sha2_password full rsa", path)
    assert.equal("0", login:value("password_seen"))
  end)

  it("refuses (2061) with neither a secure channel nor a key, and sends nothing of the password", function()
    local err, login = login_fails(2061, options())
    assert_contains(err.message, "Authentication plugin 'caching_sha2_password' reported error")
    assert_contains(err.message, NEEDS_SECURE)
    assert.equal("miss", login:value("fast_auth"))
    assert.equal("1", login:value("client_closed"))
    assert_nothing_sent(login)
  end)

  it("treats TLS with an unverified certificate as insecure: 2061, even with a key file", function()
    for _, extra in ipairs {
      { ssl = { mode = "required" } },
      { ssl = { mode = "required" }, server_public_key = dir .. "/public.pem", get_server_public_key = true },
    } do
      reset_cache("empty")
      local err, login = login_fails(2061, options(extra))
      assert_contains(err.message, "certificate is not verified")
      assert_contains(err.message, "verify_ca")
      assert.equal("tls", login:value("transport"))
      assert_nothing_sent(login)
    end
  end)

  it("names a server_public_key file that is missing, or holds no RSA public key", function()
    local cases = {
      { file = dir .. "/no-such.pem", says = "cannot open the server_public_key file '" .. dir .. "/no-such.pem'" },
      { file = dir .. "/junk.pem", says = "the server_public_key file '" .. dir .. "/junk.pem' is not an RSA public key in PEM format" },
      { file = dir .. "/ec-public.pem", says = "the server_public_key file '" .. dir .. "/ec-public.pem' is a" },
      { file = dir .. "/ctl", says = "the server_public_key file '" .. dir .. "/ctl' is not an RSA public key" },
    }
    for _, case in ipairs(cases) do
      local err, login = login_fails(2061, options { server_public_key = case.file })
      assert_contains(err.message, case.says)
      assert_nothing_sent(login)
    end
  end)

  it("refuses an RSA key too small for the password, before sending anything", function()
    local err, login = login_fails(2061, options {
      user = "sha2_long", password = ("x"):rep(40), server_public_key = dir .. "/small-public.pem",
    })
    assert_contains(err.message, "(512 bits) is too small for a password of 40 bytes")
    assert_nothing_sent(login)
  end)

  it("refuses a wrong password over each channel (1045)", function()
    for _, o in ipairs {
      options { password = "wrong", ssl = verified_tls() },
      socket_options { password = "wrong" },
      options { password = "wrong", server_public_key = dir .. "/public.pem" },
    } do
      local err, login = login_fails(1045, o)
      assert_contains(err.message, "Access denied for user 'sha2'")
      assert.equal("denied", login:value("auth"))
    end
  end)
end)

describe("sha256_password", function()
  local function sha256(extra)
    local o = { user = "sha256", password = "sha256-secret" }
    for k, v in pairs(extra or {}) do o[k] = v end
    return o
  end

  it("is switched to from the greeting's caching_sha2_password, and sends the password in clear over verified TLS", function()
    local login, user, path = login_ok(options(sha256 { ssl = verified_tls() }))
    assert.equal("sha256_password", login:value("switch"))
    assert.equal("sha256@localhost", user)
    assert.equal("sha256_password clear", path)
    assert.equal("tls", login:value("transport"))
  end)

  it("encrypts over the Unix socket, asking the server for its key there (as the server expects RSA)", function()
    local login, _, path = login_ok(socket_options(sha256()))
    assert.equal("sha256_password rsa", path)
    assert.equal("1", login:value("key_request"))
    assert.equal("0", login:value("password_seen"))
  end)

  it("encrypts with the key of the server_public_key file over plain TCP", function()
    local login, _, path = login_ok(options(sha256 { server_public_key = dir .. "/public.pem" }))
    assert.equal("sha256_password rsa", path)
    assert.equal("14", login:value("rsa_plain_len"))
    assert.equal("0", login:value("password_seen"))
    assert.falsy(login:log():find("key_request", 1, true))
  end)

  it("asks for the key (0x01) with get_server_public_key over plain TCP", function()
    local login, _, path = login_ok(options(sha256 { get_server_public_key = true }))
    assert.equal("1", login:value("key_request"))
    assert.equal("sha256_password rsa", path)
  end)

  it("answers the greeting's own sha256_password at once, without a switch", function()
    local login, _, path = login_ok(options(sha256 { server_public_key = dir .. "/public.pem" }),
                                    { greeting = "sha256_password" })
    assert.equal("sha256_password", login:value("client_plugin"))
    assert.falsy(login:log():find("switch=", 1, true))
    assert.equal("sha256_password rsa", path)
  end)

  it("refuses (2061) with neither a secure channel nor a key, and sends nothing of the password", function()
    local err, login = login_fails(2061, options(sha256()))
    assert_contains(err.message, "Authentication plugin 'sha256_password' reported error")
    assert_contains(err.message, NEEDS_SECURE)
    assert_nothing_sent(login)
  end)

  it("treats TLS with an unverified certificate as insecure (2061)", function()
    local err, login = login_fails(2061, options(sha256 {
      ssl = { mode = "required" }, server_public_key = dir .. "/public.pem",
    }))
    assert_contains(err.message, "certificate is not verified")
    assert_nothing_sent(login)
  end)

  it("names a missing server_public_key file", function()
    local err = login_fails(2061, options(sha256 { server_public_key = dir .. "/gone.pem" }))
    assert_contains(err.message, "'" .. dir .. "/gone.pem'")
  end)

  it("is refused a wrong password (1045)", function()
    local err, login = login_fails(1045, options(sha256 { password = "wrong", ssl = verified_tls() }))
    assert_contains(err.message, "Access denied for user 'sha256'")
    assert.equal("clear", login:value("full_auth"))
  end)

  it("sends a single 0x00 for an empty password", function()
    local _, user, path = login_ok(options { user = "sha256_empty", password = "" })
    assert.equal("sha256_empty@localhost", user)
    assert.equal("sha256_password empty", path)
    local err = login_fails(1045, options(sha256 { password = "" }))
    assert_contains(err.message, "(using password: NO)")
  end)
end)

describe("an auth switch", function()
  it("from the greeting's mysql_native_password to caching_sha2_password, full then fast", function()
    reset_cache("empty")
    local ctl = { greeting = "mysql_native_password" }
    local first, user, path = login_ok(options { ssl = verified_tls() }, ctl)
    assert.equal("mysql_native_password", first:value("client_plugin"))
    assert.equal("caching_sha2_password", first:value("switch"))
    assert.equal("sha2@localhost", user)
    assert.equal("caching_sha2_password full clear", path)
    local second
    second, _, path = login_ok(options(), ctl)
    assert.equal("caching_sha2_password", second:value("switch"))
    assert.equal("caching_sha2_password fast", path)
  end)

  it("from the greeting's caching_sha2_password to mysql_native_password", function()
    local login, user, path = login_ok(options { user = "native", password = "native-secret" })
    assert.equal("mysql_native_password", login:value("switch"))
    assert.equal("native@localhost", user)
    assert.equal("mysql_native_password", path)
  end)
end)

describe("a hostile peer", function()
  before_each(function() reset_cache("empty") end)

  it("sending junk for its public key gets a clear error, and no password", function()
    local err, login = login_fails(2061, options { get_server_public_key = true }, { hostile = "garbage_pem" })
    assert_contains(err.message, "the server's public key reply is not an RSA public key in PEM format")
    assert.equal("1", login:value("key_request"))
    assert.equal("0", login:value("password_seen"))
  end)

  it("sending an overlong public key gets a clear error", function()
    local err = login_fails(2061, options { get_server_public_key = true }, { hostile = "huge_pem" })
    assert_contains(err.message, "the server's public key reply is longer than 16 KiB")
  end)

  it("sending a key too small for the password gets a clear error", function()
    local err = login_fails(2061, options {
      user = "sha2_long", password = ("x"):rep(40), get_server_public_key = true,
    }, { hostile = "small_key" })
    assert_contains(err.message, "too small for a password of 40 bytes")
  end)

  it("answering the token with an unknown status or nothing is a malformed packet", function()
    local err = login_fails(2027, options(), { hostile = "bad_status" })
    assert_contains(err.message, "caching_sha2_password: unexpected reply from the server: 1 bytes, first 0x07")
    err = login_fails(2027, options(), { hostile = "empty_more" })
    assert_contains(err.message, "0 bytes")
  end)

  it("saying fast auth success twice instead of OK is a malformed packet", function()
    reset_cache("full")
    local err = login_fails(2027, options(), { hostile = "double_fast" })
    assert_contains(err.message, "only OK or ERR may follow")
  end)

  it("cutting its reply short is a lost connection", function()
    local err = login_fails({ 2013, 2027 }, options(), { hostile = "truncated" })
    assert.truthy(#err.message > 0)
  end)

  it("switching with a short scramble is a handshake error", function()
    local err = login_fails(2012, options(), { hostile = "short_switch" })
    assert_contains(err.message, "caching_sha2_password: scramble of 10 bytes, 20 expected")
  end)
end)

describe("the host program's key options", function()
  -- A script that logs in to the peer with what the command line gives it
  -- and prints how the peer authenticated it.
  local function run_login(...)
    local code = ([[
      local db = require("mylua").connect{ host = "127.0.0.1", port = %d, user = "sha2",
        password = "sha2-secret", ssl = false, connect_timeout = 3, read_timeout = 3 }
      print(db:query("SHOW STATUS LIKE 'peer_auth_path'"):row(1, "a")[2])
    ]]):format(peer.port)
    local args = { ... }
    args[#args + 1] = "-e"
    args[#args + 1] = code
    return helpers.run_host(args)
  end

  before_each(function() reset_cache("empty") end)

  it("--server-public-key-path encrypts with the key file", function()
    local login = next_login()
    local out, err, code = run_login("--server-public-key-path=" .. dir .. "/public.pem")
    assert.equal(0, code, err)
    assert.equal("caching_sha2_password full rsa\n", out)
    assert.equal("0", login:value("password_seen"))
    assert.falsy(login:log():find("key_request", 1, true))
  end)

  it("--get-server-public-key asks the server for its key", function()
    local login = next_login()
    local out, err, code = run_login("--get-server-public-key")
    assert.equal(0, code, err)
    assert.equal("caching_sha2_password full rsa\n", out)
    assert.equal("1", login:value("key_request"))
  end)

  it("without either, refuses to send the password over plain TCP", function()
    local login = next_login()
    local out, err, code = run_login()
    assert.equal(1, code)
    assert.equal("", out)
    assert_contains(err, "2061")
    assert_contains(err, NEEDS_SECURE)
    assert_nothing_sent(login)
  end)
end)
