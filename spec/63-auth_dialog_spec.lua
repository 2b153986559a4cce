-- The plugins that send what the user knows in clear: dialog (the dialog
-- examples two_questions and three_attempts, and PAM, of the sandbox server)
-- and mysql_clear_password (a scripted peer: MariaDB 10.11 asks for it only
-- through PAM with pam_use_cleartext_plugin).
--
-- Over a Unix socket the answers go; over plain TCP only with
-- allow_cleartext = true, and a peer that asks anyway receives nothing.
-- Without a dialog callback, the password answers the first password
-- question (and PAM's opening round), and any other question fails at once,
-- naming it; with one, the callback answers every question.

local mylua = require "mylua"
local helpers = require "helpers"
local peer = require "support.peer"

local raises = helpers.raises

local PLUGIN_ERR = 2061
local MALFORMED = 2027
local CANNOT_LOAD = 2059
local ACCESS_DENIED = 1045

local TWO, THREE, PAM_USER = "mylua_dlg_two", "mylua_dlg_three", "mylua_dlg_pam"
local TWO_PW, THREE_PW = "two-secret", "three-secret"
local SURE = "yes, of course" -- two_questions' expected second answer

-- What the PAM test module (pam_mariadb_mtr.so) asks and accepts: "Enter:"
-- (echo off) then, unless the first answer was "cleartext good" or
-- "cleartext bad", "PIN:" (echo on), right when the PIN modulo 100 is the
-- length of the first answer.  It logs the user in as pam_test.
local PAM_ENTER = "Challenge input first.\nEnter:"
local PAM_PIN = "Now, the magic number!\nPIN:"
local CHALLENGE, GOOD_PIN, BAD_PIN = "not very secret challenge", "9225", "9224"

local function admin()
  return mylua.connect(helpers.socket_params())
end

local function sock(user, extra)
  local o = helpers.socket_params({ user = user, database = helpers.NONE })
  for k, v in pairs(extra or {}) do o[k] = v end
  return o
end

local function tcp(user, extra)
  local o = helpers.params({ user = user, database = helpers.NONE })
  for k, v in pairs(extra or {}) do o[k] = v end
  return o
end

-- USER() and CURRENT_USER() of a fresh connection, which is closed again.
local function whoami(opts)
  local db <close> = mylua.connect(opts)
  local row = db:query("SELECT USER(), CURRENT_USER()"):row(1, "a")
  return row[1]:match("^[^@]*"), row[2]:match("^[^@]*")
end

-- A dialog callback that answers from `answers` (question text -> answer)
-- and records every call as { question, echo, last }.
local function recorder(answers)
  local calls = {}
  local function dialog(question, echo, last)
    calls[#calls + 1] = { question, echo, last }
    local a = answers[question]
    if type(a) == "table" then a = table.remove(a, 1) end
    return a
  end
  return dialog, calls
end

-- Sessions of `user` the server still has (it ends them asynchronously).
local function sessions_of(user)
  local db <close> = admin()
  local n
  for _ = 1, 50 do
    n = db:query("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = ?", user)
      :row(1, "a")[1]
    if n == 0 then break end
    os.execute("sleep 0.1")
  end
  return n
end

-- Descriptors this process has open.
local function open_fds()
  local stat = assert(io.open("/proc/self/stat", "r"))
  local pid = stat:read("n")
  stat:close()
  local p = assert(io.popen("ls /proc/" .. math.tointeger(pid) .. "/fd"))
  local n = 0
  for _ in p:lines() do n = n + 1 end
  p:close()
  return n
end

describe("dialog against the sandbox server", function()
  setup(function()
    local db <close> = admin()
    db:query(("CREATE OR REPLACE USER '%s'@'%%' IDENTIFIED VIA two_questions USING '%s'")
      :format(TWO, TWO_PW))
    db:query(("CREATE OR REPLACE USER '%s'@'%%' IDENTIFIED VIA three_attempts USING '%s'")
      :format(THREE, THREE_PW))
  end)

  teardown(function()
    local db <close> = admin()
    db:query(("DROP USER IF EXISTS '%s'@'%%', '%s'@'%%'"):format(TWO, THREE))
  end)

  describe("without a callback, over the Unix socket", function()
    it("three_attempts: the password answers the first password question", function()
      assert.equal(THREE, (whoami(sock(THREE, { password = THREE_PW }))))
    end)

    it("three_attempts: a wrong password, then a second question nobody can answer, "
      .. "fails at once naming it", function()
      local err, elapsed = raises(PLUGIN_ERR, mylua.connect, sock(THREE, { password = "wrong" }))
      assert.truthy(err.message:find('the server asks "Password, please:" (dialog plugin)', 1, true),
        tostring(err))
      assert.truthy(err.message:find("auth = { dialog = function(prompt, echo, last)", 1, true),
        tostring(err))
      assert.is_true(elapsed < 1.5, "took " .. elapsed .. " s")
    end)

    it("three_attempts: an empty password answers nothing; the question is named", function()
      local err = raises(PLUGIN_ERR, mylua.connect, sock(THREE, { password = "" }))
      assert.truthy(err.message:find('"Password, please:"', 1, true), tostring(err))
    end)

    it("two_questions: the ordinary second question cannot be answered by the password",
      function()
        local err, elapsed = raises(PLUGIN_ERR, mylua.connect, sock(TWO, { password = TWO_PW }))
        assert.truthy(err.message:find('the server asks "Are you sure ?"', 1, true), tostring(err))
        assert.is_true(elapsed < 1.5, "took " .. elapsed .. " s")
      end)

    it("refuses an answer longer than the server takes, sending nothing", function()
      local err = raises(PLUGIN_ERR, mylua.connect, sock(THREE, { password = ("x"):rep(9000) }))
      assert.truthy(err.message:find("at most 8192", 1, true), tostring(err))
    end)
  end)

  describe("over TCP", function()
    it("sends no answer without allow_cleartext (2061, naming the ways out)", function()
      local err = raises(PLUGIN_ERR, mylua.connect, tcp(THREE, { password = THREE_PW }))
      assert.truthy(err.message:find("'dialog'", 1, true), tostring(err))
      assert.truthy(err.message:find("insecure channel", 1, true), tostring(err))
      assert.truthy(err.message:find("allow_cleartext = true", 1, true), tostring(err))
    end)

    it("logs in with allow_cleartext = true", function()
      assert.equal(THREE, (whoami(tcp(THREE, { password = THREE_PW, allow_cleartext = true }))))
    end)

    it("with allow_cleartext, a wrong answer is still refused by the server", function()
      local dialog = recorder { ["Password, please:"] = { "a", "b", "c" } }
      raises(ACCESS_DENIED, mylua.connect,
        tcp(THREE, { allow_cleartext = true, auth = { dialog = dialog } }))
    end)

    it("never calls the callback without allow_cleartext", function()
      local dialog, calls = recorder { ["Password, please:"] = THREE_PW }
      raises(PLUGIN_ERR, mylua.connect, tcp(THREE, { auth = { dialog = dialog } }))
      assert.equal(0, #calls)
    end)
  end)

  describe("with a dialog callback", function()
    it("two_questions: sees both questions with their echo and last flags", function()
      local dialog, calls = recorder {
        ["Password, please:"] = TWO_PW, ["Are you sure ?"] = SURE,
      }
      -- the configured password does not pre-empt the script's callback
      assert.equal(TWO, (whoami(sock(TWO, { password = "ignored", auth = { dialog = dialog } }))))
      assert.same({
        { "Password, please:", false, false },
        { "Are you sure ?", true, true },
      }, calls)
    end)

    it("two_questions: a wrong answer to the last question is refused by the server", function()
      local dialog, calls = recorder { ["Password, please:"] = TWO_PW, ["Are you sure ?"] = "no" }
      raises(ACCESS_DENIED, mylua.connect, sock(TWO, { auth = { dialog = dialog } }))
      assert.equal(2, #calls)
    end)

    it("three_attempts: the third answer may be the right one", function()
      local dialog, calls = recorder { ["Password, please:"] = { "x", "y", THREE_PW } }
      assert.equal(THREE, (whoami(sock(THREE, { auth = { dialog = dialog } }))))
      assert.equal(3, #calls)
      for _, c in ipairs(calls) do assert.same({ "Password, please:", false, false }, c) end
    end)

    it("three_attempts: three wrong answers are refused (1045) after three questions", function()
      local dialog, calls = recorder { ["Password, please:"] = { "x", "y", "z" } }
      raises(ACCESS_DENIED, mylua.connect, sock(THREE, { auth = { dialog = dialog } }))
      assert.equal(3, #calls)
    end)

    it("a callback that raises: connect raises that same value, no session stays open",
      function()
        local boom = setmetatable({}, { __tostring = function() return "boom" end })
        collectgarbage()
        local fds = open_fds()
        local ok, err = pcall(mylua.connect, sock(TWO, { auth = { dialog = function() error(boom) end } }))
        assert.is_false(ok)
        assert.is_true(rawequal(boom, err), "raised " .. tostring(err))
        collectgarbage()
        assert.equal(fds, open_fds())
        assert.equal(0, sessions_of(TWO))
      end)

    it("a callback that returns no string: a clear error naming the question", function()
      for _, bad in ipairs { 42, false, {} } do
        local err = raises(PLUGIN_ERR, mylua.connect,
          sock(TWO, { auth = { dialog = function() return bad end } }))
        assert.truthy(err.message:find("must return the answer as a string", 1, true), tostring(err))
        assert.truthy(err.message:find("Password, please:", 1, true), tostring(err))
      end
      local err = raises(PLUGIN_ERR, mylua.connect,
        sock(TWO, { auth = { dialog = function() end } }))
      assert.truthy(err.message:find("nil", 1, true), tostring(err))
    end)
  end)
end)

describe("dialog over TLS (the TLS sandbox, the dialog examples installed for the while)",
  function()
    local function tls_root()
      return mylua.connect(helpers.tls_socket_params({ user = "root", password = "" }))
    end

    setup(function()
      local db <close> = tls_root()
      if db:query("SELECT COUNT(*) FROM information_schema.PLUGINS WHERE PLUGIN_NAME = "
          .. "'three_attempts'"):row(1, "a")[1] == 0 then
        db:query("INSTALL SONAME 'dialog_examples'")
      end
      db:query(("CREATE OR REPLACE USER '%s'@'%%' IDENTIFIED VIA three_attempts USING '%s'")
        :format(THREE, THREE_PW))
    end)

    teardown(function()
      local db <close> = tls_root()
      db:query(("DROP USER IF EXISTS '%s'@'%%'"):format(THREE))
      db:query("UNINSTALL SONAME 'dialog_examples'")
    end)

    local function tls(ssl)
      return helpers.tls_params({ user = THREE, password = THREE_PW, database = helpers.NONE,
                                  ssl = ssl })
    end

    it("answers over TLS with a verified certificate, without allow_cleartext", function()
      assert.equal(THREE,
        (whoami(tls({ mode = "verify_identity", ca = helpers.tls_file("ca.pem") }))))
    end)

    it("sends nothing over TLS with a certificate nobody vouched for", function()
      local err = raises(PLUGIN_ERR, mylua.connect, tls({ mode = "required" }))
      assert.truthy(err.message:find("insecure channel", 1, true), tostring(err))
    end)
  end)

describe("dialog through PAM (auth_pam and the PAM test module)", function()
  local service = os.getenv("MYLUA_TEST_PAM_SERVICE")

  -- Not skipped when PAM cannot be set up: each test fails with the reason.
  local function need_pam()
    assert(service and service ~= "",
      "MYLUA_TEST_PAM_SERVICE is not set: scripts/check installs the PAM service for these "
      .. "specs only when it runs as root (or finds /etc/pam.d/mylua_test_pam installed; "
      .. "see scripts/check)")
  end

  -- GRANT PROXY needs the PROXY privilege, which only root holds.
  local function root()
    return mylua.connect(helpers.socket_params({ user = "root", password = "" }))
  end

  setup(function()
    if not service or service == "" then return end
    local db <close> = root()
    db:query(("CREATE OR REPLACE USER '%s'@'%%' IDENTIFIED VIA pam USING '%s'")
      :format(PAM_USER, service))
    db:query("CREATE OR REPLACE USER 'pam_test'@'%'")
    db:query(("GRANT PROXY ON 'pam_test'@'%%' TO '%s'@'%%'"):format(PAM_USER))
  end)

  teardown(function()
    if not service or service == "" then return end
    local db <close> = root()
    db:query(("DROP USER IF EXISTS '%s'@'%%', 'pam_test'@'%%'"):format(PAM_USER))
  end)

  it("logs in as pam_test through the proxy, the password answering PAM's first prompt",
    function()
      need_pam()
      local user, current = whoami(sock(PAM_USER, { password = "cleartext good" }))
      assert.equal(PAM_USER, user)
      assert.equal("pam_test", current)
    end)

  it("a password PAM rejects gets 1045", function()
    need_pam()
    raises(ACCESS_DENIED, mylua.connect, sock(PAM_USER, { password = "cleartext bad" }))
  end)

  it("without a callback, PAM's second prompt fails at once naming it", function()
    need_pam()
    local err, elapsed = raises(PLUGIN_ERR, mylua.connect, sock(PAM_USER, { password = CHALLENGE }))
    assert.truthy(err.message:find('"Now, the magic number!\\nPIN:"', 1, true), tostring(err))
    assert.is_true(elapsed < 1.5, "took " .. elapsed .. " s")
  end)

  it("a callback answers every prompt (echo off for the challenge, on for the PIN)", function()
    need_pam()
    local dialog, calls = recorder { [PAM_ENTER] = CHALLENGE, [PAM_PIN] = GOOD_PIN }
    local user, current = whoami(sock(PAM_USER, { password = "ignored", auth = { dialog = dialog } }))
    assert.equal(PAM_USER, user)
    assert.equal("pam_test", current)
    assert.same({ { PAM_ENTER, false, false }, { PAM_PIN, true, false } }, calls)
  end)

  it("a callback's wrong PIN gets 1045", function()
    need_pam()
    local dialog = recorder { [PAM_ENTER] = CHALLENGE, [PAM_PIN] = BAD_PIN }
    raises(ACCESS_DENIED, mylua.connect, sock(PAM_USER, { auth = { dialog = dialog } }))
  end)

  it("over TCP, sends nothing without allow_cleartext and logs in with it", function()
    need_pam()
    raises(PLUGIN_ERR, mylua.connect, tcp(PAM_USER, { password = "cleartext good" }))
    local _, current = whoami(tcp(PAM_USER, { password = "cleartext good", allow_cleartext = true }))
    assert.equal("pam_test", current)
  end)
end)

describe("a peer that asks for the password in clear", function()
  local SECRET = "hostile-secret-42"

  local function options(p, extra)
    local o = {
      host = "127.0.0.1", port = p.port, user = "u", password = SECRET,
      connect_timeout = 2, read_timeout = 2,
    }
    for k, v in pairs(extra or {}) do o[k] = v end
    return o
  end

  -- Runs `scenario` of dialogpeer.py; returns connect's error (or the
  -- connection) and the peer's key=value lines.
  local function against(scenario, extra)
    local p = peer.start(scenario, "dialogpeer.py")
    local ok, res = pcall(mylua.connect, options(p, extra))
    if ok then res:close() end
    local seen = {}
    for l in function() return p:line() end do
      local k, v = l:match("^([%w_]+)=(.*)$")
      if k then
        seen[k] = seen[k] or {}
        table.insert(seen[k], v)
      end
    end
    p:stop()
    return ok, res, seen
  end

  after_each(function() peer.stop_all() end)

  local secret_hex = helpers.hex(SECRET .. "\0")

  for _, case in ipairs {
    { "clear_greeting", "mysql_clear_password" },
    { "clear_switch", "mysql_clear_password" },
    { "dialog_switch", "dialog" },
    { "dialog_pam_switch", "dialog" },
  } do
    local scenario, plugin = case[1], case[2]
    it(scenario .. ": over plain TCP the peer receives no byte after asking", function()
      local ok, err, seen = against(scenario)
      assert.is_false(ok)
      assert.equal(PLUGIN_ERR, err.code, tostring(err))
      assert.truthy(err.message:find("'" .. plugin .. "'", 1, true), tostring(err))
      assert.same({ "none" }, seen.answer)
      assert.same({ "0" }, seen.received)
    end)

    it(scenario .. ": with allow_cleartext the peer receives the password and a NUL", function()
      local ok, err, seen = against(scenario, { allow_cleartext = true })
      assert.is_true(ok, tostring(err))
      assert.same({ secret_hex }, seen.answer)
    end)
  end

  it("a question of an unknown type is a malformed packet, answered by nothing", function()
    local ok, err, seen = against("dialog_bad_type", { allow_cleartext = true })
    assert.is_false(ok)
    assert.equal(MALFORMED, err.code, tostring(err))
    assert.truthy(err.message:find("0x08", 1, true), tostring(err))
    assert.same({ "none" }, seen.answer)
  end)

  it("a long question with control characters is named escaped and cut short", function()
    local ok, err = against("dialog_long_question", { allow_cleartext = true })
    assert.is_false(ok)
    assert.equal(PLUGIN_ERR, err.code)
    assert.truthy(err.message:find('"Why\\n\\x1b[31m\\"red\\"\\x07 AAAA', 1, true), tostring(err))
    assert.truthy(err.message:find('A..." (dialog plugin)', 1, true), tostring(err))
    assert.is_nil(err.message:find("[%c]"), "control characters in the message")
    assert.is_true(#err.message < 400, #err.message .. " bytes")
  end)

  it("a callback sees each question's echo and last flags; its answers go with a NUL", function()
    local dialog, calls = recorder { ["Name:"] = "me", ["Secret:"] = "s3", ["Sure?"] = "yes" }
    local ok, err, seen = against("dialog_three", { allow_cleartext = true, auth = { dialog = dialog } })
    assert.is_true(ok, tostring(err))
    assert.same({ { "Name:", true, false }, { "Secret:", false, false }, { "Sure?", true, true } },
      calls)
    assert.same({ helpers.hex("me\0"), helpers.hex("s3\0"), helpers.hex("yes\0") }, seen.answer)
  end)

  it("a server asking questions without end is stopped after 10", function()
    local n = 0
    local ok, err, seen = against("dialog_endless",
      { allow_cleartext = true, auth = { dialog = function() n = n + 1; return "a" end } })
    assert.is_false(ok)
    assert.equal(PLUGIN_ERR, err.code, tostring(err))
    assert.truthy(err.message:find("more than 10 dialog questions", 1, true), tostring(err))
    assert.equal(10, n)
    assert.same({ "10" }, seen.questions)
  end)

  it("a question after the one marked last is a malformed packet", function()
    local n = 0
    local ok, err = against("dialog_after_last",
      { allow_cleartext = true, auth = { dialog = function() n = n + 1; return "a" end } })
    assert.is_false(ok)
    assert.equal(MALFORMED, err.code, tostring(err))
    assert.equal(1, n)
  end)

  it("mysql_old_password (the bare 0xFE request) is refused with a clear reason", function()
    local ok, err, seen = against("old_auth")
    assert.is_false(ok)
    assert.equal(CANNOT_LOAD, err.code, tostring(err))
    assert.truthy(err.message:find("'mysql_old_password' is refused", 1, true), tostring(err))
    assert.same({ "none" }, seen.answer)
  end)

  it("mysql_old_password asked by name is refused the same way", function()
    local ok, err = against("old_password_switch")
    assert.is_false(ok)
    assert.equal(CANNOT_LOAD, err.code, tostring(err))
    assert.truthy(err.message:find("'mysql_old_password' is refused", 1, true), tostring(err))
  end)
end)
