-- TLS against real servers: the TLS sandbox scripts/check starts on the
-- certificates of scripts/test-certs, and the main sandbox, which has no
-- TLS at all.  Each ssl mode on both; certificate verification (CA, name,
-- expiry, revocation, pinned fingerprints); accounts created REQUIRE SSL /
-- X509 / SUBJECT / ISSUER / CIPHER; TLS over the Unix socket; what db.tls
-- says against what the server and the certificate say; TLS versions and
-- ciphers; unreadable files; the shapes of the ssl option.  Some cases swap the TLS server's certificate for
-- another one (FLUSH SSL reloads it) and put it back afterwards.

local mylua = require "mylua"
local helpers = require "helpers"

local raises, raises_string = helpers.raises, helpers.raises_string
local NONE = helpers.NONE
local file = helpers.tls_file

-- A TLS failure, or a connection the server dropped because of one.
local TLS_FAILED = 2026

local function status(db, name)
  local res = db:query("SHOW SESSION STATUS LIKE ?", name)
  assert.equal(1, #res, "no status variable " .. name)
  return res:row(1, "a")[2]
end

local function connect(params)
  return mylua.connect(params)
end

-- Connects to the TLS sandbox over TCP with `ssl`.
local function tls_db(ssl, extra)
  local p = helpers.tls_params(extra)
  p.ssl = ssl
  return mylua.connect(p)
end

local function assert_plain(db)
  assert.is_nil(db.tls)
  assert.equal("", status(db, "Ssl_version"))
end

-- The connection runs TLS, and db.tls says the version the server says.
local function assert_tls(db)
  local t = db.tls
  assert.equal("table", type(t), "db.tls is " .. tostring(t))
  local version = status(db, "Ssl_version")
  assert.matches("^TLSv1%.[23]$", version)
  assert.equal(version, t.version)
  return t
end

local function assert_mentions(err, ...)
  local msg = err.message:lower()
  for _, word in ipairs{ ... } do
    if msg:find(word:lower(), 1, true) then return end
  end
  error(("the message names none of %s: %s"):format(table.concat({ ... }, ", "), err.message), 2)
end

-- SHA-256 fingerprint of a certificate file, as the openssl tool gives it.
local function fingerprint(path)
  local out, err, code = helpers.run("openssl x509 -noout -fingerprint -sha256 -in "
    .. helpers.shell_quote(path))
  assert(code == 0, "openssl x509 failed: " .. err)
  return (assert(out:match("=([%x:]+)"), out))
end

local function read_all(path)
  local f = assert(io.open(path, "rb"))
  local data = f:read("a")
  f:close()
  return data
end

local function write_all(path, data)
  local f = assert(io.open(path, "wb"))
  assert(f:write(data))
  assert(f:close())
end

-- Makes the TLS sandbox serve `name`-cert.pem / `name`-key.pem from the
-- test certificates ("server" is its own).
local function serve(name)
  local dir = assert(os.getenv("MYLUA_TLS_SANDBOX"), "MYLUA_TLS_SANDBOX is not set") .. "/ssl/"
  write_all(dir .. "server-cert.pem", read_all(file(name .. "-cert.pem")))
  write_all(dir .. "server-key.pem", read_all(file(name .. "-key.pem")))
  local admin <close> = connect(helpers.tls_socket_params{ ssl = "disabled" })
  admin:query("FLUSH SSL")
end

-- Connects to the TLS sandbox with `ssl`, which must fail with 2026 before
-- the login: the client must not answer the server's login challenge over
-- a channel it was told how to verify and could not.  The server tells
-- which happened: a connection that ends before its login counts in
-- Aborted_connects, a logged-in session that is dropped in Aborted_clients.
local function refused_before_login(ssl, extra)
  local admin <close> = connect(helpers.tls_socket_params{ ssl = "disabled" })
  local function counts()
    local t = {}
    local res = admin:query("SHOW GLOBAL STATUS WHERE Variable_name IN "
      .. "('Aborted_connects', 'Aborted_clients')")
    for name, value in res:rows("v") do t[name] = math.tointeger(tonumber(value)) end
    return t.Aborted_connects, t.Aborted_clients
  end
  -- counts still moving for connections of earlier cases must settle first
  local connects, clients = counts()
  for _ = 1, 20 do
    admin:query("DO SLEEP(0.05)")
    local c2, a2 = counts()
    if c2 == connects and a2 == clients then break end
    connects, clients = c2, a2
  end
  local err = raises(TLS_FAILED, tls_db, ssl, extra)
  -- the server counts once its thread sees the connection end
  local connects_after, clients_after
  for _ = 1, 40 do
    connects_after, clients_after = counts()
    if connects_after + clients_after > connects + clients then break end
    admin:query("DO SLEEP(0.05)")
  end
  assert.equal(0, clients_after - clients,
    "the client logged in before giving up (" .. err.message .. ")")
  assert.equal(1, connects_after - connects)
  return err
end

describe("ssl modes against the TLS server", function()
  it("disabled: a plain connection", function()
    local db <close> = tls_db("disabled")
    assert_plain(db)
  end)

  it("preferred: TLS, the certificate not verified", function()
    local db <close> = tls_db("preferred")
    assert.is_false(assert_tls(db).verified)
  end)

  it("preferred is the default", function()
    local db <close> = connect(helpers.tls_params())
    assert.is_false(assert_tls(db).verified)
  end)

  it("required: TLS, the certificate not verified", function()
    local db <close> = tls_db("required")
    assert.is_false(assert_tls(db).verified)
  end)

  it("verify_ca with the test CA: TLS, verified by the CA", function()
    local db <close> = tls_db{ mode = "verify_ca", ca = file("ca.pem") }
    assert.equal("ca", assert_tls(db).verified)
  end)

  it("verify_ca with the test CA as a CA directory", function()
    local db <close> = tls_db{ mode = "verify_ca", capath = file("ca-dir") }
    assert.equal("ca", assert_tls(db).verified)
  end)

  it("verify_ca with a CA file holding an unrelated CA, then the test CA: verified", function()
    local bundle = os.tmpname()
    write_all(bundle, read_all(file("other-ca.pem")) .. read_all(file("ca.pem")))
    local ok, db = pcall(tls_db, { mode = "verify_ca", ca = bundle })
    os.remove(bundle)
    assert(ok, db)
    assert.equal("ca", assert_tls(db).verified)
    db:close()
  end)

  it("verify_identity with the test CA, by 127.0.0.1: verified", function()
    local db <close> = tls_db{ mode = "verify_identity", ca = file("ca.pem") }
    assert.equal("ca", assert_tls(db).verified)
  end)

  it("verify_identity by the name localhost over TCP: verified", function()
    local db <close> = tls_db({ mode = "verify_identity", ca = file("ca.pem") },
      { host = "localhost", protocol = "tcp" })
    assert.equal("ca", assert_tls(db).verified)
  end)

  local host6 = os.getenv("MYLUA_TEST_HOST6")
  if host6 and host6 ~= "" then
    it("verify_identity by ::1: verified", function()
      local db <close> = tls_db({ mode = "verify_identity", ca = file("ca.pem") }, { host = host6 })
      assert.equal("ca", assert_tls(db).verified)
    end)
  end

  it("verify_ca with an unrelated CA: 2026, before the login", function()
    refused_before_login{ mode = "verify_ca", ca = file("other-ca.pem") }
  end)

  it("verify_identity with an unrelated CA: 2026, before the login", function()
    refused_before_login{ mode = "verify_identity", ca = file("other-ca.pem") }
  end)

  it("verify_ca with an unrelated CA as a CA directory: 2026, before the login", function()
    local dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir " .. helpers.shell_quote(dir)))
    local _, _, code = helpers.run(("cp %s %s/$(openssl x509 -noout -hash -in %s).0"):format(
      helpers.shell_quote(file("other-ca.pem")), helpers.shell_quote(dir),
      helpers.shell_quote(file("other-ca.pem"))))
    local ok, err = pcall(refused_before_login, { mode = "verify_ca", capath = dir })
    helpers.run("rm -rf " .. helpers.shell_quote(dir))
    assert.equal(0, code)
    assert(ok, err)
  end)

  it("verify_ca without a CA checks the system's CAs, which do not know the test CA: 2026", function()
    raises(TLS_FAILED, tls_db, "verify_ca")
  end)
end)

describe("ssl modes against the server without TLS", function()
  local function plain_db(ssl)
    local p = helpers.params()
    p.ssl = ssl
    return mylua.connect(p)
  end

  it("disabled: a plain connection", function()
    local db <close> = plain_db("disabled")
    assert_plain(db)
  end)

  it("preferred falls back to a plain connection", function()
    local db <close> = plain_db("preferred")
    assert_plain(db)
  end)

  it("the default falls back to a plain connection", function()
    local db <close> = connect(helpers.params())
    assert_plain(db)
  end)

  for _, ssl in ipairs{
    "required",
    { mode = "verify_ca", ca = "ca.pem" },
    { mode = "verify_identity", ca = "ca.pem" },
  } do
    local mode = type(ssl) == "table" and ssl.mode or ssl
    it(mode .. ": 2026, saying the server has no TLS", function()
      if type(ssl) == "table" then ssl.ca = file(ssl.ca) end
      local err = raises(TLS_FAILED, plain_db, ssl)
      assert_mentions(err, "ssl", "tls")
    end)
  end
end)

describe("TLS over the Unix socket", function()
  it("required: TLS", function()
    local db <close> = connect(helpers.tls_socket_params{ ssl = "required" })
    assert_tls(db)
  end)

  it("verify_identity: verified as localhost", function()
    local db <close> = connect(helpers.tls_socket_params{
      ssl = { mode = "verify_identity", ca = file("ca.pem") } })
    assert.equal("ca", assert_tls(db).verified)
  end)

  it("preferred: plain, the socket being local", function()
    local db <close> = connect(helpers.tls_socket_params{ ssl = "preferred" })
    assert_plain(db)
  end)

  it("required, to the server without TLS: 2026", function()
    raises(TLS_FAILED, connect, helpers.socket_params{ ssl = "required" })
  end)
end)

describe("db.tls", function()
  it("agrees with the server and with the server's certificate", function()
    local db <close> = tls_db{ mode = "verify_identity", ca = file("ca.pem") }
    local t = assert_tls(db)
    assert.equal(status(db, "Ssl_cipher"), t.cipher)
    assert.equal(fingerprint(file("server-cert.pem")), t.fingerprint)
    assert.matches("^%x%x:", t.fingerprint)
    assert.equal(32 * 3 - 1, #t.fingerprint)
    assert.matches("CN=mylua%-server", t.subject)
    assert.matches("O=mylua", t.subject)
    assert.matches("CN=mylua test CA", t.issuer)
    assert.equal("ca", t.verified)
  end)

  it("is nil on a plain connection; on a closed one, an error as for the other fields", function()
    local db = tls_db("required")
    assert.is_not_nil(db.tls)
    db:close()
    raises_string("attempt to use a closed connection", function() return db.tls end)
    local plain <close> = tls_db("disabled")
    assert.is_nil(plain.tls)
  end)
end)

describe("TLS versions and ciphers", function()
  local ca = function() return file("ca.pem") end

  it("tls_version TLSv1.2 gives TLSv1.2", function()
    local db <close> = tls_db{ mode = "verify_ca", ca = ca(), tls_version = "TLSv1.2" }
    assert.equal("TLSv1.2", assert_tls(db).version)
  end)

  it("tls_version TLSv1.3 gives TLSv1.3", function()
    local db <close> = tls_db{ mode = "verify_ca", ca = ca(), tls_version = "TLSv1.3" }
    assert.equal("TLSv1.3", assert_tls(db).version)
  end)

  it("tls_version TLSv1.2,TLSv1.3 gives the newer", function()
    local db <close> = tls_db{ mode = "verify_ca", ca = ca(), tls_version = "TLSv1.2,TLSv1.3" }
    assert.equal("TLSv1.3", assert_tls(db).version)
  end)

  it("tls_version TLSv1.1, which the server does not speak: 2026", function()
    raises(TLS_FAILED, tls_db, { mode = "verify_ca", ca = ca(), tls_version = "TLSv1.1" })
  end)

  it("a tls_version that names no version: 2026 naming it", function()
    local err = raises(TLS_FAILED, tls_db, { mode = "verify_ca", ca = ca(), tls_version = "TLSv9" })
    assert.truthy(err.message:find("TLSv9", 1, true), err.message)
  end)

  for _, cipher in ipairs{ "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-AES256-GCM-SHA384" } do
    it("cipher " .. cipher .. " under TLSv1.2 is the one used", function()
      local db <close> = tls_db{ mode = "verify_ca", ca = ca(), tls_version = "TLSv1.2",
                                 cipher = cipher }
      assert.equal(cipher, status(db, "Ssl_cipher"))
      assert.equal(cipher, assert_tls(db).cipher)
    end)
  end

  it("ciphersuites TLS_AES_128_GCM_SHA256 under TLSv1.3 is the one used", function()
    -- the server would pick TLS_AES_256_GCM_SHA384 otherwise
    local db <close> = tls_db{ mode = "verify_ca", ca = ca(), tls_version = "TLSv1.3",
                               ciphersuites = "TLS_AES_128_GCM_SHA256" }
    assert.equal("TLS_AES_128_GCM_SHA256", status(db, "Ssl_cipher"))
    assert.equal("TLS_AES_128_GCM_SHA256", assert_tls(db).cipher)
  end)

  it("a cipher list that names no cipher OpenSSL knows: 2026", function()
    raises(TLS_FAILED, tls_db, { mode = "verify_ca", ca = ca(), tls_version = "TLSv1.2",
                                 cipher = "NO-SUCH-CIPHER" })
  end)
end)

describe("a pinned fingerprint", function()
  it("of the server's certificate: verified by it, without a CA", function()
    local db <close> = tls_db{ mode = "verify_ca", fingerprint = fingerprint(file("server-cert.pem")) }
    local t = assert_tls(db)
    assert.equal("fingerprint", t.verified)
    assert.equal(fingerprint(file("server-cert.pem")), t.fingerprint)
  end)

  it("of another certificate: 2026 before the login, naming the one the server sent", function()
    local err = refused_before_login{ mode = "verify_ca",
                                      fingerprint = fingerprint(file("client-cert.pem")) }
    assert.truthy(err.message:find(fingerprint(file("server-cert.pem")), 1, true), err.message)
  end)

  it("in a list file, among others: verified by it", function()
    local list = os.tmpname()
    write_all(list, fingerprint(file("client-cert.pem")) .. "\n"
      .. fingerprint(file("server-cert.pem")) .. "\n")
    local ok, db = pcall(tls_db, { mode = "verify_ca", fingerprint_list = list })
    os.remove(list)
    assert(ok, db)
    assert.equal("fingerprint", assert_tls(db).verified)
    db:close()
  end)
end)

describe("a server certificate for another name", function()
  setup(function() serve("other-name") end)
  teardown(function() serve("server") end)

  it("(is the one served)", function()
    local db <close> = tls_db("required")
    assert.equal(fingerprint(file("other-name-cert.pem")), assert_tls(db).fingerprint)
  end)

  it("passes verify_ca", function()
    local db <close> = tls_db{ mode = "verify_ca", ca = file("ca.pem") }
    assert.equal("ca", assert_tls(db).verified)
  end)

  it("fails verify_identity with 2026, before the login", function()
    local err = refused_before_login{ mode = "verify_identity", ca = file("ca.pem") }
    assert_mentions(err, "127.0.0.1", "mismatch", "identity", "name")
  end)

  it("fails verify_identity by localhost with 2026", function()
    raises(TLS_FAILED, tls_db, { mode = "verify_identity", ca = file("ca.pem") },
      { host = "localhost", protocol = "tcp" })
  end)
end)

describe("an expired server certificate", function()
  setup(function() serve("expired") end)
  teardown(function() serve("server") end)

  it("(is the one served, and required does not check it)", function()
    local db <close> = tls_db("required")
    assert.equal(fingerprint(file("expired-cert.pem")), assert_tls(db).fingerprint)
  end)

  it("fails verify_ca with 2026 before the login, saying it expired", function()
    local err = refused_before_login{ mode = "verify_ca", ca = file("ca.pem") }
    assert_mentions(err, "expired")
  end)
end)

describe("a revoked server certificate", function()
  setup(function() serve("revoked") end)
  teardown(function() serve("server") end)

  it("(is the one served, and passes verify_ca without a CRL)", function()
    local db <close> = tls_db{ mode = "verify_ca", ca = file("ca.pem") }
    local t = assert_tls(db)
    assert.equal(fingerprint(file("revoked-cert.pem")), t.fingerprint)
    assert.equal("ca", t.verified)
  end)

  it("fails verify_ca with the CRL that revokes it: 2026, before the login", function()
    local err = refused_before_login{ mode = "verify_ca", ca = file("ca.pem"),
                                      crl = file("crl.pem") }
    assert_mentions(err, "revoked")
  end)

  it("fails verify_ca with a CRL directory holding that CRL: 2026", function()
    local err = raises(TLS_FAILED, tls_db, { mode = "verify_ca", ca = file("ca.pem"),
                                             crlpath = file("crl-dir") })
    assert_mentions(err, "revoked")
  end)
end)

describe("the CRL", function()
  it("lets a certificate it does not revoke pass", function()
    local db <close> = tls_db{ mode = "verify_identity", ca = file("ca.pem"), crl = file("crl.pem") }
    local t = assert_tls(db)
    assert.equal("ca", t.verified)
    assert.equal(fingerprint(file("server-cert.pem")), t.fingerprint)
  end)
end)

describe("accounts that require TLS", function()
  local admin
  local USERS = {
    ssl = "REQUIRE SSL",
    x509 = "REQUIRE X509",
    subject = "REQUIRE SUBJECT '/CN=mylua-client/O=mylua'",
    issuer = "REQUIRE ISSUER '/CN=mylua test CA/O=mylua'",
    cipher = "REQUIRE CIPHER 'ECDHE-RSA-AES128-GCM-SHA256'",
  }

  setup(function()
    admin = connect(helpers.tls_socket_params{ ssl = "disabled" })
    for name, clause in pairs(USERS) do
      admin:query(("CREATE OR REPLACE USER 'tls_%s'@'%%' IDENTIFIED BY 'tls-pass' %s")
        :format(name, clause))
    end
  end)

  teardown(function()
    if admin then
      for name in pairs(USERS) do
        admin:query(("DROP USER IF EXISTS 'tls_%s'@'%%'"):format(name))
      end
      admin:close()
    end
  end)

  -- Connects as tls_`name` to the TLS server over TCP; `how` is "plain",
  -- "tls" (no client certificate) or the name of a client certificate.
  local function login(name, how, extra)
    local ssl
    if how == "plain" then
      ssl = "disabled"
    else
      ssl = { mode = "verify_ca", ca = file("ca.pem") }
      if how ~= "tls" then
        ssl.cert, ssl.key = file(how .. "-cert.pem"), file(how .. "-key.pem")
      end
      for k, v in pairs(extra or {}) do ssl[k] = v end
    end
    local db <close> = tls_db(ssl, { user = "tls_" .. name, password = "tls-pass", database = NONE })
    assert.equal("tls_" .. name .. "@%", db:query("SELECT CURRENT_USER()"):row(1, "a")[1])
    return true
  end

  local function refused(name, how, extra)
    raises(1045, login, name, how, extra)
  end

  -- A client certificate from a CA the server does not trust: the server
  -- ends the TLS handshake, which the client may learn only on its next read.
  local function untrusted(name)
    raises({ TLS_FAILED, 2013 }, login, name, "other-client")
  end

  it("REQUIRE SSL: not without TLS; with TLS, with or without a certificate", function()
    refused("ssl", "plain")
    assert.is_true(login("ssl", "tls"))
    assert.is_true(login("ssl", "client"))
  end)

  it("REQUIRE X509: only with a certificate the server's CA signed", function()
    refused("x509", "plain")
    refused("x509", "tls")
    assert.is_true(login("x509", "client"))
    assert.is_true(login("x509", "stranger"))
    untrusted("x509")
  end)

  it("REQUIRE SUBJECT: only with that subject, signed by the server's CA", function()
    refused("subject", "plain")
    refused("subject", "tls")
    assert.is_true(login("subject", "client"))
    refused("subject", "stranger")
    untrusted("subject")
  end)

  it("REQUIRE X509 over the Unix socket: with a client certificate only", function()
    local function over_socket(ssl)
      local db <close> = connect(helpers.tls_socket_params{ ssl = ssl, user = "tls_x509",
                                                             password = "tls-pass", database = NONE })
      return db:query("SELECT CURRENT_USER()"):row(1, "a")[1]
    end
    raises(1045, over_socket, "required")
    assert.equal("tls_x509@%", over_socket{ mode = "required", cert = file("client-cert.pem"),
                                            key = file("client-key.pem") })
  end)

  it("REQUIRE ISSUER: only with a certificate from that issuer", function()
    refused("issuer", "plain")
    refused("issuer", "tls")
    assert.is_true(login("issuer", "client"))
    assert.is_true(login("issuer", "stranger"))
    untrusted("issuer")
  end)

  it("REQUIRE CIPHER: only over that cipher", function()
    refused("cipher", "plain")
    refused("cipher", "tls", { tls_version = "TLSv1.3" })
    refused("cipher", "tls", { tls_version = "TLSv1.2", cipher = "ECDHE-RSA-AES256-GCM-SHA384" })
    assert.is_true(login("cipher", "tls",
      { tls_version = "TLSv1.2", cipher = "ECDHE-RSA-AES128-GCM-SHA256" }))
  end)
end)

describe("files that cannot be used", function()
  local function fails_naming(path, ssl)
    local err, elapsed = raises(TLS_FAILED, tls_db, ssl, { connect_timeout = 10 })
    assert.truthy(err.message:find(path, 1, true), "the message does not name " .. path
      .. ": " .. err.message)
    assert.is_true(elapsed < 5, "took " .. elapsed .. " s")
    return err
  end

  it("a CA file that does not exist", function()
    local path = file("no-such-ca.pem")
    fails_naming(path, { mode = "verify_ca", ca = path })
  end)

  it("a malformed CA file", function()
    local path = file("malformed.pem")
    fails_naming(path, { mode = "verify_ca", ca = path })
  end)

  it("a client certificate that does not exist", function()
    local path = file("no-such-cert.pem")
    fails_naming(path, { mode = "verify_ca", ca = file("ca.pem"), cert = path,
                         key = file("client-key.pem") })
  end)

  it("a malformed client certificate", function()
    local path = file("malformed.pem")
    fails_naming(path, { mode = "verify_ca", ca = file("ca.pem"), cert = path,
                         key = file("client-key.pem") })
  end)

  it("a client key that does not exist", function()
    local path = file("no-such-key.pem")
    fails_naming(path, { mode = "verify_ca", ca = file("ca.pem"), cert = file("client-cert.pem"),
                         key = path })
  end)

  it("a client key encrypted with a passphrase: an error, not a prompt", function()
    local path = file("client-key-encrypted.pem")
    fails_naming(path, { mode = "verify_ca", ca = file("ca.pem"), cert = file("client-cert.pem"),
                         key = path })
  end)

  it("a client key that does not match the certificate", function()
    local path = file("stranger-key.pem")
    fails_naming(path, { mode = "verify_ca", ca = file("ca.pem"), cert = file("client-cert.pem"),
                         key = path })
  end)

  it("a CRL file that does not exist", function()
    local path = file("no-such-crl.pem")
    fails_naming(path, { mode = "verify_ca", ca = file("ca.pem"), crl = path })
  end)
end)

describe("the ssl option", function()
  it("as a boolean: true is required, false is disabled", function()
    local on <close> = tls_db(true)
    assert.is_false(assert_tls(on).verified)
    local off <close> = tls_db(false)
    assert_plain(off)
    local p = helpers.params()
    p.ssl = true
    raises(TLS_FAILED, connect, p)
  end)

  it("as a mode's name", function()
    local on <close> = tls_db("required")
    assert_tls(on)
    local off <close> = tls_db("disabled")
    assert_plain(off)
  end)

  it("as a table with a CA and without a mode: verify_ca", function()
    local db <close> = tls_db{ ca = file("ca.pem") }
    assert.equal("ca", assert_tls(db).verified)
    raises(TLS_FAILED, tls_db, { ca = file("other-ca.pem") })
  end)

  it("refuses a mode it does not know", function()
    raises_string("option 'ssl' must be a table, a boolean or a mode: \"disabled\", "
      .. "\"preferred\", \"required\", \"verify_ca\" or \"verify_identity\"", tls_db, "always")
    raises_string("option 'ssl.mode' must be \"disabled\"", tls_db, { mode = "VERIFY-CA" })
  end)

  it("refuses values of other types", function()
    raises_string("option 'ssl' must be a table, a boolean or a mode (got a number)", tls_db, 1)
    raises_string("option 'ssl' must be a table, a boolean or a mode (got a function)",
      tls_db, print)
    raises_string("option 'ssl.ca' must be a string", tls_db, { ca = true })
    raises_string("option 'ssl.mode' must be", tls_db, { mode = 2 })
  end)

  it("refuses keys it does not know, naming them and the ones it knows", function()
    local err = raises_string("unknown key 'certificate' in option 'ssl'", tls_db,
      { certificate = "x.pem" })
    assert.truthy(err:find("expected mode, ca, capath, cert, key", 1, true), err)
    raises_string("unknown key", tls_db, { "required" })
    raises_string("unknown key 'ssl_ca' in option 'ssl'", tls_db, { ssl_ca = "x" })
  end)
end)
