-- The elliptic-curve logins of MariaDB: client_ed25519 against the sandbox
-- (which loads auth_ed25519), and parsec (MariaDB 11.6+) against
-- spec/support/parsecpeer.py, which also checks a published ed25519
-- signature byte for byte and plays the hostile cases.

local mylua = require "mylua"
local helpers = require "helpers"
local peer = require "support.peer"

local raises = helpers.raises

-- The greeting names mysql_native_password; each account below makes the
-- server switch the client to client_ed25519 (and, for the chain, on to
-- mysql_native_password when the signature does not match).
local ACCOUNTS = {
  ed = "IDENTIFIED VIA ed25519 USING PASSWORD('ed-secret')",
  ed_chain = "IDENTIFIED VIA ed25519 USING PASSWORD('first') "
    .. "OR mysql_native_password USING PASSWORD('second')",
}

local function user_name(key) return "mylua_" .. key end

local TRANSPORTS = {
  { name = "TCP", params = helpers.params },
  { name = "the Unix socket", params = helpers.socket_params },
}

describe("client_ed25519 against MariaDB", function()
  local admin

  setup(function()
    admin = helpers.connect()
    for key, how in pairs(ACCOUNTS) do
      admin:query(("CREATE OR REPLACE USER ?@'%%' %s"):format(how), user_name(key))
    end
  end)

  teardown(function()
    if admin then
      for key in pairs(ACCOUNTS) do admin:query("DROP USER IF EXISTS ?@'%'", user_name(key)) end
      admin:close()
    end
  end)

  for _, t in ipairs(TRANSPORTS) do
    local function login(key, password)
      return mylua.connect(t.params { user = user_name(key), password = password,
                                      database = helpers.NONE, connect_timeout = 5 })
    end

    local function logs_in_as(key, password)
      local db <close> = login(key, password)
      assert.equal(user_name(key) .. "@%", db:query("SELECT CURRENT_USER() AS u"):row(1).u)
    end

    describe("over " .. t.name, function()
      it("logs in with the right password", function()
        logs_in_as("ed", "ed-secret")
      end)

      it("is refused with a wrong password (1045)", function()
        raises(1045, login, "ed", "ed-secreT")
      end)

      it("is refused with an empty password", function()
        raises(1045, login, "ed", "")
      end)

      it("logs in through the first plugin of a chain", function()
        logs_in_as("ed_chain", "first")
      end)

      it("follows the server's second switch, to mysql_native_password, mid-handshake", function()
        logs_in_as("ed_chain", "second")
      end)

      it("is refused when no plugin of the chain takes the password", function()
        raises(1045, login, "ed_chain", "third")
      end)
    end)
  end
end)

describe("a scripted MariaDB 11.8", function()
  after_each(peer.stop_all)

  local function start(scenario) return peer.start(scenario, "parsecpeer.py") end

  local function options(p, password, ssl)
    return { host = "127.0.0.1", port = p.port, user = "u", password = password,
             connect_timeout = 5, read_timeout = 5, ssl = ssl }
  end

  -- The peer's lines until `done`, as a table key -> value.
  local function lines_of(p)
    local seen = {}
    for line in function() return p:line() end do
      local k, v = line:match("^([%w_]+)=(.*)$")
      if k then seen[k] = v end
      if line == "done" then break end
    end
    return seen
  end

  describe("client_ed25519", function()
    it("signs MariaDB's published nonce exactly as MariaDB's own test expects", function()
      local p = start("ed25519_vector")
      local db <close> = mylua.connect(options(p, "foobar"))
      assert.equal("u@%", db:query("SELECT CURRENT_USER() AS u"):row(1).u)
      db:close()
      local seen = lines_of(p)
      assert.equal("64", seen.response)
      assert.equal("match", seen.signature)
      assert.equal("ok", seen.auth)
    end)

    it("signs something else for another password, which the server refuses", function()
      local p = start("ed25519_vector")
      raises(1045, mylua.connect, options(p, "foobaR"))
      local seen = lines_of(p)
      assert.equal("mismatch", seen.signature)
      assert.equal("denied", seen.auth)
    end)

    it("refuses a nonce that is not 32 bytes, at once, sending nothing", function()
      local p = start("ed25519_short_nonce")
      local err, elapsed = raises(2012, mylua.connect, options(p, "foobar"))
      assert.truthy(err.message:find("nonce of 21 bytes, 32 expected", 1, true), err.message)
      assert.is_true(elapsed < 1.5, "took " .. elapsed .. " s")
      local seen = lines_of(p)
      assert.equal("yes", seen.client_gone)
      assert.is_nil(seen.response)
    end)

    -- The proof is over the password's public key and the greeting's
    -- scramble, which the switch to client_ed25519 leaves in place.
    it("takes the server's proof of an untrusted certificate (MariaDB 11.4+)", function()
      local p = start("ed25519_proof")
      local db <close> = mylua.connect(options(p, "foobar", { mode = "verify_ca" }))
      assert.equal("server proof", db.tls.verified)
      assert.equal("u@%", db:query("SELECT CURRENT_USER() AS u"):row(1).u)
    end)

    it("refuses a proof made with another key: someone in between", function()
      local p = start("ed25519_proof_other_key")
      local err = raises(2026, mylua.connect, options(p, "foobar", { mode = "preferred" }))
      assert.truthy(err.message:find("proof does not match", 1, true), err.message)
      assert.equal("ok", lines_of(p).auth, "refused after the login, on the proof")
    end)
  end)

  describe("parsec", function()
    local PASSWORD = "MyPassword123!" -- of the account in MariaDB's release notes

    -- The proof is over what the server stores: the ext-salt and the
    -- public key, which the client learns only from the login.
    it("takes the server's proof of an untrusted certificate (MariaDB 11.6+)", function()
      local p = start("parsec_proof")
      local db <close> = mylua.connect(options(p, PASSWORD, { mode = "verify_ca" }))
      assert.equal("server proof", db.tls.verified)
      assert.equal("u@%", db:query("SELECT CURRENT_USER() AS u"):row(1).u)
    end)

    it("refuses a proof made with another salt: someone in between", function()
      local p = start("parsec_proof_other_salt")
      local err = raises(2026, mylua.connect, options(p, PASSWORD, { mode = "preferred" }))
      assert.truthy(err.message:find("proof does not match", 1, true), err.message)
    end)

    local function logs_in(scenario)
      local p = start(scenario)
      local db <close> = mylua.connect(options(p, PASSWORD))
      assert.equal("u@%", db:query("SELECT CURRENT_USER() AS u"):row(1).u)
      db:close()
      return lines_of(p)
    end

    it("logs in to the account of MariaDB's release notes, after the switch from native", function()
      local seen = logs_in("parsec")
      assert.equal("mysql_native_password", seen.client_plugin)
      assert.equal("0", seen.salt_request, "the ext-salt is asked for with an empty packet")
      assert.equal("96", seen.response, "client scramble and signature")
      assert.equal("ok", seen.auth)
    end)

    it("sends a fresh client scramble each time", function()
      local first = logs_in("parsec").client_scramble
      local second = logs_in("parsec").client_scramble
      assert.equal(64, #first)
      assert.are_not.equal(first, second)
    end)

    it("stretches the password with 8192 iterations (factor 3, the most MariaDB stores)", function()
      assert.equal("ok", logs_in("parsec_factor3").auth)
    end)

    it("reads the ext-salt the same when it comes as AuthMoreData", function()
      assert.equal("ok", logs_in("parsec_salt_wrapped").auth)
    end)

    it("is refused with a wrong or an empty password (1045)", function()
      for _, password in ipairs { "MyPassword123?", "" } do
        local p = start("parsec")
        raises(1045, mylua.connect, options(p, password))
        assert.equal("denied", lines_of(p).auth)
      end
    end)

    for _, case in ipairs {
      { "parsec_short_scramble", 2012, "parsec scramble of 21 bytes, 32 expected", "salt_request" },
      { "parsec_short_salt", 2012, "ext-salt of 19 bytes, 20 expected", "response" },
      { "parsec_long_salt", 2012, "ext-salt of 34 bytes, 20 expected", "response" },
      { "parsec_factor4", 2061, "1024 << 4 PBKDF2 iterations; at most 1024 << 3 (8192)", "response" },
      { "parsec_factor255", 2061, "1024 << 255 PBKDF2 iterations", "response" },
      { "parsec_unknown_kdf", 2061, "unknown key derivation 'S'", "response" },
    } do
      local scenario, code, text, unsent = case[1], case[2], case[3], case[4]
      it(("stops at once on %s with a clear error (%d)"):format(scenario:sub(8), code), function()
        local p = start(scenario)
        local err, elapsed = raises(code, mylua.connect, options(p, PASSWORD))
        assert.truthy(err.message:find(text, 1, true), err.message)
        assert.is_true(elapsed < 1.5, "took " .. elapsed .. " s")
        local seen = lines_of(p)
        assert.equal("yes", seen.client_gone)
        assert.is_nil(seen[unsent], "the client went on to send " .. unsent)
      end)
    end
  end)
end)
