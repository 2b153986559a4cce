-- The host program's side of authentication: the mysql client's flags
-- (--enable-cleartext-plugin, --server-public-key-path,
-- --get-server-public-key), --auth-hook FILE as the `auth` of every
-- connection, and the terminal prompt the dialog plugin falls back on:
-- /dev/tty only, echo off when the server asks, the terminal restored on
-- every path, and an error at once where there is no terminal.

local helpers = require "helpers"

local bin = helpers.bin()
local q = helpers.shell_quote

local script, mylua = helpers.temp_script, helpers.run_host

local defaults_of, assert_usage_error = helpers.host_defaults, helpers.assert_host_usage_error

-- stderr holds exactly one line, starting with "mylua: ", containing `text`.
local function assert_error_line(err, text)
  assert.truthy(err:match("^mylua: [^\n]*\n$"), "not one error line: " .. ("%q"):format(err))
  assert.truthy(err:find(text, 1, true), ("%q does not say %q"):format(err, text))
end

-- Runs a command on a fresh pseudo-terminal that is its controlling
-- terminal, with standard input /dev/null and standard output and error
-- captured apart: the terminal carries only what the program wrote to
-- /dev/tty and what the terminal echoed.  Steps, one a line:
--   expect TEXT   wait (15 s at most) until the terminal shows TEXT
--   send TEXT     type TEXT and Enter
--   ctrl X        type control-X (^C, ^D)
-- Prints "exit N" (-N: killed by signal N), "echo 0|1" (the terminal's
-- ECHO flag once the program has ended), "seconds S" (from the last step
-- to the end), then the terminal's bytes, stdout and stderr after marks.
local PTY_DRIVER = [==[
import os, pty, select, signal, sys, tempfile, termios, fcntl, time

steps = [l.rstrip("\n").split(" ", 1) for l in open(sys.argv[1], encoding="latin-1") if l.strip()]
cmd = sys.argv[2:]
master, slave = pty.openpty()
out, err = tempfile.TemporaryFile(), tempfile.TemporaryFile()
pid = os.fork()
if pid == 0:
    try:
        # As a terminal's shell would start it: a job started in the
        # background of a script inherits SIGINT and SIGQUIT ignored.
        for sig in (signal.SIGINT, signal.SIGQUIT, signal.SIGTSTP, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_DFL)
        os.setsid()
        fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(out.fileno(), 1)
        os.dup2(err.fileno(), 2)
        os.close(master)
        os.close(slave)  # the terminal stays the controlling one, with no descriptor open
        os.execv(cmd[0], cmd)
    finally:
        os._exit(127)

terminal = b""
def pump(timeout):
    global terminal
    r, _, _ = select.select([master], [], [], timeout)
    if not r:
        return False
    try:
        data = os.read(master, 4096)
    except OSError:
        return False
    terminal += data
    return len(data) > 0

failure = ""
mark = 0
for kind, arg in steps:
    if kind == "expect":
        want, deadline = arg.encode("latin-1"), time.monotonic() + 15
        while want not in terminal[mark:] and time.monotonic() < deadline:
            pump(0.05)
        if want not in terminal[mark:]:
            failure = "timed out waiting for %r" % arg
            break
        mark = terminal.index(want, mark) + len(want)
    elif kind == "send":
        os.write(master, arg.encode("latin-1") + b"\r")
    elif kind == "ctrl":
        os.write(master, bytes([ord(arg) & 0x1F]))

started = time.monotonic()
deadline = started + (5 if failure else 30)
status = None
while status is None:
    done, st = os.waitpid(pid, os.WNOHANG)
    if done:
        status = st
    elif time.monotonic() > deadline:
        os.kill(pid, 9)
        failure = failure or "did not end within 30 s"
    else:
        pump(0.05)
seconds = time.monotonic() - started
while pump(0.05):
    pass
code = os.waitstatus_to_exitcode(status)
echo = 1 if termios.tcgetattr(slave)[3] & termios.ECHO else 0
out.seek(0)
err.seek(0)
w = sys.stdout.buffer
w.write(b"exit %d\necho %d\nseconds %.2f\nfailure %s\n" % (code, echo, seconds, failure.encode()))
w.write(b"=== terminal\n" + terminal + b"\n=== stdout\n" + out.read() + b"\n=== stderr\n" + err.read())
]==]

-- Runs the host program with `args` on a pseudo-terminal through `steps`
-- (a list of lines as PTY_DRIVER takes them); returns a table: exit, echo,
-- seconds, terminal, stdout, stderr.
local function on_terminal(args, steps)
  local driver = script(PTY_DRIVER)
  local steps_file = script(table.concat(steps, "\n") .. "\n")
  local words = { "python3", q(driver), q(steps_file), q(bin) }
  for _, a in ipairs(args) do words[#words + 1] = q(a) end
  local out, err, code = helpers.run(table.concat(words, " "))
  assert.are.equal(0, code, "the pty driver failed: " .. err)
  local r = {
    exit = math.tointeger(tonumber(out:match("^exit (%-?%d+)\n"))),
    echo = out:match("\necho (%d)\n") == "1",
    seconds = tonumber(out:match("\nseconds ([%d.]+)\n")),
    failure = out:match("\nfailure ([^\n]*)\n"),
  }
  r.terminal, r.stdout, r.stderr =
    out:match("\n=== terminal\n(.*)\n=== stdout\n(.*)\n=== stderr\n(.*)$")
  assert.truthy(r.terminal, "unreadable driver output: " .. out)
  assert.are.equal("", r.failure, "on the terminal: " .. r.failure .. "; seen: " .. ("%q"):format(r.terminal)
    .. "; stderr: " .. r.stderr)
  return r
end

-- A script that asks the host's terminal prompt directly (as connect does
-- for a dialog question nothing else answers) and prints each answer.
local function asking(questions)
  local lines = { 'local ask = debug.getregistry()["mylua.host_prompt"]' }
  for _, qn in ipairs(questions) do
    lines[#lines + 1] = ("io.write(('%%q'):format(ask(%q, %s, %s)), '\\n')")
      :format(qn[1], tostring(qn[2]), tostring(qn[3] or false))
  end
  return script(table.concat(lines, "\n") .. "\n")
end

describe("the host's authentication options", function()
  setup(function()
    assert(bin and bin ~= "", "MYLUA_BIN is not set")
  end)

  after_each(function()
    helpers.remove_temp_files()
  end)

  describe("as the mysql client spells them", function()
    it("are listed by --help", function()
      local out, err, code = mylua({ "--help" })
      assert.are.equal(0, code, err)
      for _, flag in ipairs({ "--enable-cleartext-plugin", "--server-public-key-path=FILE",
                              "--get-server-public-key", "--auth-hook=FILE", "--prompt-timeout=SECONDS" }) do
        assert.truthy(out:find("\n  " .. flag, 1, true), flag .. " not in: " .. out)
      end
    end)

    it("give connect nothing when none is given", function()
      assert.are.equal("", defaults_of())
    end)

    it("make --enable-cleartext-plugin allow_cleartext = true, the last one given winning", function()
      assert.are.equal("allow_cleartext=boolean:true", defaults_of("--enable-cleartext-plugin"))
      assert.are.equal("allow_cleartext=boolean:true", defaults_of("--enable_cleartext_plugin=ON"))
      assert.are.equal("allow_cleartext=boolean:false", defaults_of("--enable-cleartext-plugin=0"))
      assert.are.equal("allow_cleartext=boolean:false",
        defaults_of("--enable-cleartext-plugin", "--skip-enable-cleartext-plugin"))
    end)

    it("make --get-server-public-key get_server_public_key = true", function()
      assert.are.equal("get_server_public_key=boolean:true", defaults_of("--get-server-public-key"))
      assert.are.equal("get_server_public_key=boolean:false", defaults_of("--get-server-public-key=off"))
    end)

    it("pass --server-public-key-path as server_public_key, after '=' or as the next argument", function()
      assert.are.equal("server_public_key=string:/keys/a b.pem",
        defaults_of("--server-public-key-path=/keys/a b.pem"))
      assert.are.equal("server_public_key=string:k.pem", defaults_of("--server-public-key-path", "k.pem"))
    end)

    it("combine with the other connection options", function()
      assert.are.equal("allow_cleartext=boolean:true compress=boolean:true get_server_public_key=boolean:true "
        .. "server_public_key=string:k.pem ssl_mode=string:required",
        defaults_of("--ssl", "--enable-cleartext-plugin", "-C", "--server-public-key-path=k.pem",
          "--get-server-public-key"))
    end)

    it("refuse a bad value with a usage error", function()
      assert_usage_error({ "--enable-cleartext-plugin=maybe" }, "'--enable-cleartext-plugin' takes 1 or 0")
      assert_usage_error({ "--get-server-public-key=2" }, "'--get-server-public-key' takes 1 or 0")
      assert_usage_error({ "--server-public-key-path=" }, "'--server-public-key-path' needs a file name")
      assert_usage_error({ "--auth-hook=" }, "'--auth-hook' needs a file name")
      for _, bad in ipairs({ "0", "-1", "abc", "1.5", "86401", "999999999999" }) do
        assert_usage_error({ "--prompt-timeout=" .. bad }, "'--prompt-timeout' must be a whole number")
      end
    end)

    it("refuse a missing value as the last argument with a usage error", function()
      for _, flag in ipairs({ "--server-public-key-path", "--auth-hook", "--prompt-timeout" }) do
        local out, err, code = mylua({ flag })
        assert.are.equal(2, code, err)
        assert.are.equal("", out)
        local line = "mylua: option '" .. flag .. "' needs a value\n"
        assert.are.equal(line, err:sub(1, #line))
      end
    end)

    it("know only the mysql client's spellings", function()
      assert_usage_error({ "--cleartext-plugin" }, "unknown option '--cleartext-plugin'")
      assert_usage_error({ "--enable-server-public-key-path" }, "unknown option")
      assert_usage_error({ "--skip-auth-hook" }, "unknown option '--skip-auth-hook'")
    end)
  end)

  describe("--auth-hook", function()
    it("makes the file's table the auth default of connect", function()
      local hook = script("local n = 0\nreturn { dialog = function() n = n + 1 return 'a' .. n end }\n")
      local out, err, code = mylua({ "--auth-hook", hook, "-e", [[
        local auth = debug.getregistry()["mylua.host_defaults"].auth
        print(type(auth), auth.dialog(), auth.dialog())]] })
      assert.are.equal("", err)
      assert.are.equal(0, code)
      assert.are.equal("table\ta1\ta2\n", out)
    end)

    it("loads the hook once, before -e and the script, in the script's state", function()
      local hook = script("HOOK_RAN = (HOOK_RAN or 0) + 1\nreturn {}\n")
      local out, err, code = mylua({ "--auth-hook=" .. hook, "-e", "print(HOOK_RAN)", script("print(HOOK_RAN)") })
      assert.are.equal("", err)
      assert.are.equal(0, code)
      assert.are.equal("1\n1\n", out)
    end)

    local broken = {
      { "cannot be read", nil, "cannot open" },
      { "does not compile", "return {", "near <eof>" },
      { "raises", "error('hook failed on purpose')", "hook failed on purpose" },
      { "returns nothing", "local x = 1", "returned nil, not a table of auth callbacks" },
      { "returns a string", "return 'dialog'", "returned string, not a table" },
      { "has a field that is no function", "return { dialog = 'yes' }", "field 'dialog' is string, not a function" },
      { "has a key that is no name", "return { function() end }", "the table has a number key" },
    }
    for _, case in ipairs(broken) do
      it("stops before any code runs, exit 1, when the file " .. case[1], function()
        local path = case[2] and script(case[2]) or os.tmpname()
        if not case[2] then os.remove(path) end
        local out, err, code = mylua({ "--auth-hook", path, "-e", "print('ran')", script("print('ran')") })
        assert.are.equal(1, code, err)
        assert.are.equal("", out)
        assert_error_line(err, "mylua: --auth-hook " .. path .. ": ")
        assert.truthy(err:find(case[3], 1, true), ("%q does not say %q"):format(err, case[3]))
      end)
    end
  end)

  describe("the terminal prompt", function()
    it("reads /dev/tty, not standard input, hides the answer the server asks hidden and shows the other", function()
      local r = on_terminal({ asking({ { "Password, please:", false }, { "Are you sure ?", true, true } }) }, {
        "expect Password, please: ", "send hidden-Secret 1", "expect Are you sure ? ", "send yes, of course",
      })
      assert.are.equal(0, r.exit, r.stderr)
      assert.are.equal("", r.stderr)
      -- Exactly the typed text comes back, without the line end.
      assert.are.equal('"hidden-Secret 1"\n"yes, of course"\n', r.stdout)
      assert.falsy(r.terminal:find("hidden-Secret", 1, true), "the hidden answer was echoed: " .. r.terminal)
      assert.truthy(r.terminal:find("Are you sure ? yes, of course", 1, true), "no echo: " .. r.terminal)
      -- The questions went to the terminal, not to standard output.
      assert.falsy(r.stdout:find("Password", 1, true))
      assert.is_true(r.echo, "echo was left off")
    end)

    it("puts echo back when ^C interrupts a hidden answer, and the program dies of SIGINT", function()
      local r = on_terminal({ asking({ { "Password, please:", false } }) }, {
        "expect Password, please: ", "ctrl C",
      })
      assert.are.equal(-2, r.exit, "exit " .. tostring(r.exit) .. ", stderr: " .. r.stderr)
      assert.is_true(r.echo, "echo was left off")
      assert.are.equal("", r.stdout)
    end)

    it("asks again after ^Z, the answer still hidden", function()
      -- The program's process group is orphaned here (its parent is in
      -- another session), so the stop itself is discarded: what shows is
      -- the question asked again once the terminal was given back.
      local r = on_terminal({ asking({ { "Password, please:", false } }) }, {
        "expect Password, please: ", "ctrl Z", "expect Password, please: ", "send after-stop",
      })
      assert.are.equal(0, r.exit, r.stderr)
      assert.are.equal('"after-stop"\n', r.stdout)
      assert.falsy(r.terminal:find("after-stop", 1, true), "echoed after the stop: " .. r.terminal)
      assert.is_true(r.echo)
    end)

    it("fails naming the question at end of input (^D), with echo back", function()
      local r = on_terminal({ asking({ { "Secret:", false } }) }, { "expect Secret: ", "ctrl D" })
      assert.are.equal(1, r.exit)
      assert_error_line(r.stderr, [[cannot answer the server's question "Secret:" (dialog plugin): end of input]])
      assert.is_true(r.echo)
    end)

    it("gives up after --prompt-timeout seconds, naming the question, with echo back", function()
      local r = on_terminal({ "--prompt-timeout=1", asking({ { "Token:", false } }) }, { "expect Token: " })
      assert.are.equal(1, r.exit)
      assert_error_line(r.stderr, [[cannot answer the server's question "Token:" (dialog plugin): no answer within 1 s]])
      assert.is_true(r.echo, "echo was left off")
      assert.truthy(r.seconds >= 0.5 and r.seconds < 5, "took " .. r.seconds .. " s")
    end)

    it("shows no control character of the server's question on the terminal", function()
      local r = on_terminal({ asking({ { "\27]0;owned\7\27[2JName\194\155:", true } }) },
        { "expect Name?: ", "send me" })
      assert.are.equal(0, r.exit, r.stderr)
      assert.are.equal('"me"\n', r.stdout)
      assert.falsy(r.terminal:find("[\0-\8\11-\12\14-\31\127]"), ("%q"):format(r.terminal))
      assert.falsy(r.terminal:find("\194\155", 1, true))
      assert.truthy(r.terminal:find("?]0;owned??[2JName?: me", 1, true), ("%q"):format(r.terminal))
    end)

    it("says at once that it has nobody to ask, with no terminal (setsid, standard input closed)", function()
      local cmd = ("setsid -w %s -e %s <&-"):format(q(bin),
        q([[print(debug.getregistry()["mylua.host_prompt"]("Enter:", true, false))]]))
      local t0 = helpers.now()
      local out, err, code = helpers.run(cmd)
      local elapsed = helpers.now() - t0
      assert.are.equal(0, code, err)
      assert.are.equal("nil\tno terminal to ask on; --auth-hook FILE can answer it\n", out)
      assert.truthy(elapsed < 2, "took " .. elapsed .. " s")
    end)
  end)

  -- Logging in: the sandbox loads test_plugin_server (its client side,
  -- "auth_test_plugin", answers with a proxied user's name and a NUL; mylua
  -- has none: the hook writes it) and the dialog examples (two_questions
  -- asks "Password, please:" with echo off, then, as the last question,
  -- "Are you sure ?" with echo on, and wants "yes, of course").
  describe("logging in", function()
    local PLUGIN_USER, DEST = "mylua_host_hook", "mylua_host_hook_dest"
    local DIALOG_USER, DIALOG_PASS = "mylua_host_dialog", "dialog pass 1"
    local SURE = "yes, of course"
    local admin

    -- A script connecting with `opts` (through the Unix socket unless
    -- `tcp`) that prints CURRENT_USER() and then what HOOK_SEEN holds.
    local function login_script(opts, tcp)
      local p = tcp and helpers.params(opts) or helpers.socket_params(opts)
      p.database = nil
      return script(("local db <close> = require('mylua').connect(%s)\n"
        .. "print(db:query('SELECT CURRENT_USER()'):row(1, 'a')[1])\n"
        .. "if HOOK_SEEN then print(table.concat(HOOK_SEEN, ';')) end\n")
        :format(helpers.options_source(p)))
    end

    -- A hook file answering two_questions with `password` and `sure`,
    -- recording each question with its echo and last flags in HOOK_SEEN.
    local function dialog_hook(password, sure)
      return script(([[
HOOK_SEEN = {}
return {
  dialog = function(prompt, echo, last)
    HOOK_SEEN[#HOOK_SEEN + 1] = ("%%s|%%s|%%s"):format(prompt, echo, last)
    if prompt:find("Password", 1, true) then return %q end
    return %q
  end,
}
]]):format(password, sure))
    end

    setup(function()
      admin = helpers.connect()
      for _, u in ipairs({ PLUGIN_USER, DEST, DIALOG_USER }) do
        admin:query("DROP USER IF EXISTS " .. admin:quote(u) .. "@'%'")
      end
      admin:query(("CREATE USER %s@'%%' IDENTIFIED VIA test_plugin_server USING %s")
        :format(admin:quote(PLUGIN_USER), admin:quote(DEST)))
      admin:query(("CREATE USER %s@'%%'"):format(admin:quote(DEST)))
      admin:query(("GRANT PROXY ON %s@'%%' TO %s@'%%'"):format(admin:quote(DEST), admin:quote(PLUGIN_USER)))
      admin:query(("CREATE USER %s@'%%' IDENTIFIED VIA two_questions USING %s")
        :format(admin:quote(DIALOG_USER), admin:quote(DIALOG_PASS)))
    end)

    teardown(function()
      for _, u in ipairs({ PLUGIN_USER, DEST, DIALOG_USER }) do
        admin:query("DROP USER IF EXISTS " .. admin:quote(u) .. "@'%'")
      end
      admin:close()
    end)

    local function plugin_hook(dest)
      return script(("return { auth_test_plugin = function(x) x:write(%q .. '\\0') end }\n"):format(dest))
    end

    it("runs a plugin the --auth-hook file writes", function()
      local out, err, code = mylua({ "--auth-hook", plugin_hook(DEST),
        login_script({ user = PLUGIN_USER, password = helpers.NONE }) })
      assert.are.equal(0, code, err)
      assert.are.equal("", err)
      assert.are.equal(DEST .. "@%\n", out)
    end)

    it("lets the script's own auth win over the hook's", function()
      local wrong = plugin_hook("mylua_host_no_such_user")
      local out, err, code = mylua({ "--auth-hook", wrong, login_script({ user = PLUGIN_USER, password = helpers.NONE }) })
      assert.are.equal(1, code, "the hook's wrong answer logged in: " .. out)
      assert_error_line(err, "ERROR 1045 ")
      local own = script(("local db <close> = require('mylua').connect(%s)\n"
        .. "print(db:query('SELECT CURRENT_USER()'):row(1, 'a')[1])\n"):format(
          helpers.options_source(helpers.socket_params({ user = PLUGIN_USER, password = helpers.NONE,
            database = helpers.NONE })):gsub(" }$", (", auth = { auth_test_plugin = function(x) "
            .. "x:write(%q .. '\\0') end } }"):format(DEST))))
      out, err, code = mylua({ "--auth-hook", wrong, own })
      assert.are.equal(0, code, err)
      assert.are.equal(DEST .. "@%\n", out)
    end)

    it("answers the dialog plugin's questions from the hook, which sees each with its echo and last flags", function()
      local out, err, code = mylua({ "--auth-hook", dialog_hook(DIALOG_PASS, SURE),
        login_script({ user = DIALOG_USER, password = helpers.NONE }) })
      assert.are.equal(0, code, err)
      assert.are.equal("", err)
      assert.are.equal(DIALOG_USER .. "@%\nPassword, please:|false|false;Are you sure ?|true|true\n", out)
    end)

    it("fails with access denied when the hook answers wrong", function()
      local out, err, code = mylua({ "--auth-hook", dialog_hook(DIALOG_PASS, "no"),
        login_script({ user = DIALOG_USER, password = helpers.NONE }) })
      assert.are.equal(1, code, out)
      assert_error_line(err, "ERROR 1045 ")
    end)

    it("asks the terminal what the password does not answer, and logs in", function()
      local r = on_terminal({ login_script({ user = DIALOG_USER, password = DIALOG_PASS }) }, {
        "expect Are you sure ? ", "send " .. SURE,
      })
      assert.are.equal(0, r.exit, r.stderr)
      assert.are.equal(DIALOG_USER .. "@%\n", r.stdout)
      assert.falsy(r.terminal:find("Password", 1, true), "asked for the password it has: " .. r.terminal)
      assert.truthy(r.terminal:find("Are you sure ? " .. SURE, 1, true), "not echoed: " .. r.terminal)
      assert.is_true(r.echo)
    end)

    it("asks the terminal every question when there is no password, the password hidden", function()
      local r = on_terminal({ login_script({ user = DIALOG_USER, password = helpers.NONE }) }, {
        "expect Password, please: ", "send " .. DIALOG_PASS, "expect Are you sure ? ", "send " .. SURE,
      })
      assert.are.equal(0, r.exit, r.stderr)
      assert.are.equal(DIALOG_USER .. "@%\n", r.stdout)
      assert.falsy(r.terminal:find(DIALOG_PASS, 1, true), "the password was echoed: " .. r.terminal)
      assert.truthy(r.terminal:find("Are you sure ? " .. SURE, 1, true), "not echoed: " .. r.terminal)
      assert.is_true(r.echo)
    end)

    it("fails at once, naming the question, when there is no terminal to ask", function()
      local path = login_script({ user = DIALOG_USER, password = DIALOG_PASS })
      local t0 = helpers.now()
      local out, err, code = helpers.run(("setsid -w %s %s <&-"):format(q(bin), q(path)))
      local elapsed = helpers.now() - t0
      assert.are.equal(1, code, err)
      assert.are.equal("", out)
      assert_error_line(err, [[ERROR 2061 (HY000): the server asks "Are you sure ?" (dialog plugin) and no ]]
        .. [[dialog callback can answer it: give auth = { dialog = function(prompt, echo, last) ... end } ]]
        .. [[(no terminal to ask on; --auth-hook FILE can answer it)]])
      assert.truthy(elapsed < 2, "took " .. elapsed .. " s")
    end)

    it("sends the password over TCP only with --enable-cleartext-plugin", function()
      local path = login_script({ user = DIALOG_USER, password = DIALOG_PASS }, true)
      local out, err, code = mylua({ path })
      assert.are.equal(1, code, out)
      assert_error_line(err, "ERROR 2061 ")
      local r = on_terminal({ "--enable-cleartext-plugin", path }, { "expect Are you sure ? ", "send " .. SURE })
      assert.are.equal(0, r.exit, r.stderr)
      assert.are.equal(DIALOG_USER .. "@%\n", r.stdout)
    end)
  end)
end)
