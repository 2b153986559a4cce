-- The host program's connection options as the mariadb client has them:
-- the short and long spellings, the option files (which, in which order,
-- which groups, --defaults-file and friends, --print-defaults compared
-- with the mariadb client's own), the environment, their precedence, the
-- password asked on a terminal, and the library's read_default_file.
--
-- Every run sets HOME to a scratch directory, so no real ~/.my.cnf leaks
-- in; the machine's /etc/my.cnf and /etc/mysql/my.cnf are read as the
-- mariadb client reads them, so the cases that read them compare with the
-- mariadb client itself, and the exact cases use --defaults-file or
-- --no-defaults.

local helpers = require "helpers"

local bin = helpers.bin()
local q = helpers.shell_quote
local P = helpers.params()
local SHOW = helpers.SHOW_HOST_DEFAULTS

-- A scratch directory, removed after each test.
local dirs = {}
local function scratch()
  local path = os.tmpname()
  os.remove(path)
  assert(os.execute("mkdir -m 700 " .. q(path)))
  dirs[#dirs + 1] = path
  return path
end

local function write(path, text, mode)
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
  if mode then assert(os.execute(("chmod %s %s"):format(mode, q(path)))) end
  return path
end

-- The environment a run gets: HOME is a scratch directory unless `env`
-- gives one, and the variables the client reads are unset unless given.
local CLIENT_VARS = { "MYSQL_HOST", "MYSQL_TCP_PORT", "MYSQL_UNIX_PORT", "MYSQL_PWD",
                      "MYSQL_HOME", "MARIADB_HOME", "MYSQL_GROUP_SUFFIX" }
local function env_prefix(env)
  env = env or {}
  local parts = { "env" }
  for _, name in ipairs(CLIENT_VARS) do
    if env[name] == nil then parts[#parts + 1] = "-u " .. name end
  end
  parts[#parts + 1] = "HOME=" .. q(env.HOME or scratch())
  for name, value in pairs(env) do
    if name ~= "HOME" then parts[#parts + 1] = name .. "=" .. q(value) end
  end
  return table.concat(parts, " ")
end

local function command(program, args)
  local quoted = {}
  for i, a in ipairs(args) do quoted[i] = q(a) end
  return program .. " " .. table.concat(quoted, " ")
end

-- Runs mylua with `args` in environment `env`: stdout, stderr, exit code.
local function mylua(args, env, input)
  return helpers.run(env_prefix(env) .. " " .. command(q(bin), args), input)
end

-- What connect gets as defaults from `args` (and the files and env).
local function defaults(args, env)
  local out, err, code = mylua(helpers.append(args, "-e", SHOW), env)
  assert(code == 0, ("exit %s: %s"):format(tostring(code), err))
  assert(err == "", "stderr: " .. err)
  return (out:gsub("\n$", ""))
end

-- Runs mylua, expecting a usage error naming `what`; returns stderr.
local function usage_error(args, env, what)
  local out, err, code = mylua(helpers.append(args, "-e", "print('ran')"), env)
  assert.are.equal(2, code, err)
  assert.are.equal("", out)
  assert.truthy(err:find(what, 1, true), ("%q does not name %q"):format(err, what))
  return err
end

-- `mariadb --print-defaults` and `mylua --print-defaults` with the same
-- leading options and environment; each without its first line (which
-- names the program).
local function both_print_defaults(args, env)
  local prefix = env_prefix(env)
  local ours, our_err, our_code = helpers.run(prefix .. " " ..
    command(q(bin), helpers.append(args, "--print-defaults", "x", "-y")))
  local theirs, their_err, their_code = helpers.run(prefix .. " " ..
    command("mariadb", helpers.append(args, "--print-defaults", "x", "-y")))
  assert.are.equal(their_code, our_code == 0 and 0 or their_code, our_err)
  assert.are.equal(0, our_code, our_err)
  assert.truthy(ours:find("^[^\n]*mylua would have been started with the following arguments:\n"), ours)
  return ours:gsub("^[^\n]*\n", ""), theirs:gsub("^[^\n]*\n", ""), our_err, their_err
end

-- A script printing what the server says of the connection that
-- mylua.connect(opts) makes: database, user and how it is connected.
local WHO = [[
local opts = ...
local db = require("mylua").connect(opts and load("return " .. opts)())
local r = db:query("SELECT DATABASE(), SUBSTRING_INDEX(CURRENT_USER(), '@', 1), @@character_set_client"):row(1, "a")
print(r[1], r[2], r[3])
]]

describe("the host program's connection options", function()
  setup(function()
    assert(bin and bin ~= "", "MYLUA_BIN is not set")
  end)

  after_each(function()
    helpers.remove_temp_files()
    for _, d in ipairs(dirs) do os.execute("rm -rf " .. q(d)) end
    dirs = {}
  end)

  describe("short and long spellings", function()
    it("map -h -P -S -u -p -D -C to connect's options", function()
      assert.are.equal(
        "compress=boolean:true database=string:d host=string:h password=string:pw port=integer:99 " ..
        "socket=string:/s user=string:u",
        defaults({ "--no-defaults", "-h", "h", "-P", "99", "-S", "/s", "-u", "u", "-ppw", "-D", "d", "-C" }))
      assert.are.equal("database=string:d host=string:h port=integer:99 socket=string:/s user=string:u",
        defaults({ "--no-defaults", "-hh", "-P99", "-S/s", "-uu", "-Dd" }))
    end)

    it("map the long ones, with '=' or the next argument", function()
      assert.are.equal(
        "charset=string:latin1 connect_timeout=integer:7 database=string:d host=string:h " ..
        "max_packet=integer:2097152 password=string:pw port=integer:99 protocol=string:tcp " ..
        "socket=string:/s user=string:u",
        defaults({ "--no-defaults", "--host=h", "--port", "99", "--socket=/s", "--user", "u",
                   "--password=pw", "--database=d", "--protocol=TCP", "--connect-timeout=7",
                   "--default-character-set", "latin1", "--max-allowed-packet=2M" }))
      assert.are.equal("protocol=string:socket", defaults({ "--no-defaults", "--protocol", "Socket" }))
    end)

    it("read --max-allowed-packet with my_getopt's suffixes, within the server's bounds", function()
      assert.are.equal("max_packet=integer:65536", defaults({ "--no-defaults", "--max-allowed-packet=64k" }))
      assert.are.equal("max_packet=integer:1073741824", defaults({ "--no-defaults", "--max_allowed_packet=1G" }))
      usage_error({ "--no-defaults", "--max-allowed-packet=2G" }, nil, "'--max-allowed-packet' must be")
      usage_error({ "--no-defaults", "--max-allowed-packet=12Q" }, nil, "'--max-allowed-packet' must be")
    end)

    it("refuse the Windows protocols and other names clearly", function()
      usage_error({ "--no-defaults", "--protocol=PIPE" }, nil, "PIPE is a Windows transport")
      usage_error({ "--no-defaults", "--protocol=memory" }, nil, "memory is a Windows transport")
      usage_error({ "--no-defaults", "--protocol=udp" }, nil, "'--protocol' must be TCP or SOCKET")
    end)

    it("refuse an unknown option, suggesting the nearest name", function()
      local err = usage_error({ "--no-defaults", "--hots=x" }, nil, "unknown option '--hots=x'")
      assert.truthy(err:find("did you mean '--host'", 1, true), err)
      usage_error({ "--no-defaults", "-x" }, nil, "unknown option '-x'")
      usage_error({ "--no-defaults", "-Cx" }, nil, "unknown option '-x'")
    end)

    it("ignore an unknown option written --loose-X, with a warning", function()
      local out, err, code = mylua({ "--no-defaults", "--loose-no-such", "-e", SHOW })
      assert.are.equal(0, code, err)
      assert.are.equal("\n", out)
      assert.truthy(err:find("--no-such", 1, true), err)
      assert.are.equal("host=string:h\n", select(1, mylua({ "--no-defaults", "--loose-host=h", "-e", SHOW })))
    end)

    it("take the value of -p only when it is joined, as the mariadb client", function()
      -- "-p x": -p asks (no terminal here: an error), x would be the script
      local out, err, code = mylua({ "--no-defaults", "-p", "-e", "print('ran')" })
      assert.are.equal(1, code, err)
      assert.are.equal("", out)
      assert.truthy(err:find("terminal", 1, true), err)
    end)

    it("give init_command and bind_address their core options, which reach the server", function()
      assert.are.equal("bind_address=string:127.0.0.1 init_command=string:SET @a = 1",
        defaults({ "--no-defaults", "--init-command=SET @a = 1", "--bind-address", "127.0.0.1" }))
      local out, err, code = mylua({ "--no-defaults", "--init-command=SET @mylua_init = 42",
        "--bind-address=127.0.0.2",
        "-e", ("local r = require('mylua').connect(%s):query('SELECT @mylua_init, USER()'):row(1, 'a')"
          .. " print(r[1], (r[2]:match('@(.*)')))"):format(helpers.options_source(P)) })
      assert.are.equal("", err)
      assert.are.equal(0, code)
      assert.are.equal("42\t127.0.0.2\n", out)
    end)
  end)

  describe("reaching the server", function()
    local base = { "--no-defaults", "-h", P.host, "-P", tostring(P.port) }

    it("log in with -u and -pPASS, and -D sets DATABASE()", function()
      local out, err, code = mylua(helpers.append(base, "-u", P.user, "-p" .. P.password,
        "-D", P.database, helpers.temp_script(WHO)))
      assert.are.equal("", err)
      assert.are.equal(0, code)
      assert.are.equal(P.database .. "\t" .. P.user .. "\tutf8mb4\n", out)
    end)

    it("log in with the long spellings", function()
      local out, err, code = mylua({ "--no-defaults", "--host=" .. P.host, "--port=" .. P.port,
        "--user=" .. P.user, "--password=" .. P.password, "--database=" .. P.database,
        "--default-character-set=latin1", helpers.temp_script(WHO) })
      assert.are.equal("", err)
      assert.are.equal(0, code)
      assert.are.equal(P.database .. "\t" .. P.user .. "\tlatin1\n", out)
    end)

    it("connect through -S with the host left to its default", function()
      local socket = os.getenv("MYLUA_TEST_SOCKET")
      assert(socket, "MYLUA_TEST_SOCKET is not set")
      local out, err, code = mylua({ "--no-defaults", "-S", socket, "-u", P.user,
        "-p" .. P.password, "-D", P.database, helpers.temp_script(WHO) })
      assert.are.equal("", err)
      assert.are.equal(0, code)
      assert.are.equal(P.database .. "\t" .. P.user .. "\tutf8mb4\n", out)
    end)

    it("let the script's own table win: connect{ database = ... }", function()
      local out, err, code = mylua(helpers.append(base, "-u", P.user, "-p" .. P.password,
        "-D", P.database, helpers.temp_script(WHO), '{ database = "information_schema" }'))
      assert.are.equal("", err)
      assert.are.equal(0, code)
      assert.are.equal("information_schema\t" .. P.user .. "\tutf8mb4\n", out)
    end)

    it("keep a script's host when the option files name a socket", function()
      local dir = scratch()
      local file = write(dir .. "/f.cnf", "[client]\nsocket=/nonexistent/mysqld.sock\n")
      local out, err, code = mylua({ "--defaults-file=" .. file, helpers.temp_script(WHO),
        helpers.options_source(P) })
      assert.are.equal("", err)
      assert.are.equal(0, code)
      assert.are.equal(P.database .. "\t" .. P.user .. "\tutf8mb4\n", out)
    end)

    it("take everything from an option file", function()
      local dir = scratch()
      local file = write(dir .. "/f.cnf", ("[client]\nhost=%s\nport=%d\nuser=%s\npassword=\"%s\"\n" ..
        "[mylua]\ndatabase=%s\n"):format(P.host, P.port, P.user, P.password, P.database))
      local out, err, code = mylua({ "--defaults-file=" .. file, helpers.temp_script(WHO) })
      assert.are.equal("", err)
      assert.are.equal(0, code)
      assert.are.equal(P.database .. "\t" .. P.user .. "\tutf8mb4\n", out)
    end)

    it("use MYSQL_PWD, with a warning on stderr", function()
      local args = helpers.append(base, "-u", P.user, "-D", P.database, helpers.temp_script(WHO))
      local out, err, code = mylua(args, { MYSQL_PWD = P.password })
      assert.are.equal(0, code, err)
      assert.are.equal(P.database .. "\t" .. P.user .. "\tutf8mb4\n", out)
      assert.are.equal("mylua: [Warning] Using a password from MYSQL_PWD can be insecure.\n", err)
      -- a password given otherwise wins, and then nothing is said
      out, err, code = mylua(helpers.append(base, "-u", P.user, "-p" .. P.password, "-D", P.database,
        helpers.temp_script(WHO)), { MYSQL_PWD = "wrong" })
      assert.are.equal("", err)
      assert.are.equal(0, code)
    end)

    it("use MYSQL_HOST and MYSQL_TCP_PORT", function()
      local out, err, code = mylua({ "--no-defaults", "-u", P.user, "-p" .. P.password,
        "-D", P.database, helpers.temp_script(WHO) },
        { MYSQL_HOST = P.host, MYSQL_TCP_PORT = tostring(P.port) })
      assert.are.equal("", err)
      assert.are.equal(0, code)
      assert.are.equal(P.database .. "\t" .. P.user .. "\tutf8mb4\n", out)
    end)
  end)

  describe("-p on a terminal", function()
    -- Runs mylua under a pseudo-terminal, answering "Enter password: ";
    -- returns what the terminal showed and the exit code.
    local function on_terminal(args, answer)
      local py = [[
import os, pty, sys, select, time
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
seen = b""
answered = False
deadline = time.time() + 60
while time.time() < deadline:
    r, _, _ = select.select([fd], [], [], 0.2)
    if r:
        try:
            data = os.read(fd, 4096)
        except OSError:
            break
        if not data:
            break
        seen += data
    if not answered and b"Enter password: " in seen:
        os.write(fd, sys.stdin.buffer.read())
        answered = True
if time.time() >= deadline:
    os.kill(pid, 9)  # a prompt never seen or never ended fails, not hangs
_, status = os.waitpid(pid, 0)
sys.stdout.buffer.write(seen)
sys.exit(os.waitstatus_to_exitcode(status))
]]
      local pyfile = helpers.temp_script(py)
      return helpers.run(env_prefix() .. " python3 " .. q(pyfile) .. " " .. command(q(bin), args),
        answer .. "\n")
    end

    it("asks without echo and logs in with the answer", function()
      local out, _, code = on_terminal({ "--no-defaults", "-h", P.host, "-P", tostring(P.port),
        "-u", P.user, "-p", "-D", P.database, helpers.temp_script(WHO) }, P.password)
      assert.are.equal(0, code, out)
      assert.truthy(out:find("Enter password: ", 1, true), out)
      assert.falsy(out:find(P.password, 1, true), "the password was echoed: " .. out)
      assert.truthy(out:find(P.database .. "\t" .. P.user, 1, true), out)
    end)

    it("asks for --password without a value, and for 'password' alone in an option file", function()
      local dir = scratch()
      local file = write(dir .. "/f.cnf", "[client]\npassword\n")
      for _, args in ipairs({ { "--no-defaults", "--password" }, { "--defaults-file=" .. file } }) do
        local out, _, code = on_terminal(helpers.append(args, "-h", P.host, "-P", tostring(P.port),
          "-u", P.user, "-D", P.database, helpers.temp_script(WHO)), P.password)
        assert.are.equal(0, code, out)
        assert.truthy(out:find("Enter password: ", 1, true), out)
        assert.truthy(out:find(P.database .. "\t" .. P.user, 1, true), out)
      end
    end)
  end)

  describe("option files", function()
    it("read every group the mariadb client reads, and [mylua], not the others", function()
      local dir = scratch()
      local file = write(dir .. "/f.cnf", table.concat({
        "[client]", "host=h1", "[client-server]", "port=1001", "[CLIENT-MARIADB]", "user=u1",
        "[mysql]", "database=d1", "[mariadb-client]", "socket=/s1", "[mylua]", "connect_timeout=3",
        "[mysqld]", "port=9999", "user=nobody", "[mysqldump]", "quick", "" }, "\n"))
      assert.are.equal("connect_timeout=integer:3 database=string:d1 host=string:h1 port=integer:1001 " ..
        "socket=string:/s1 user=string:u1", defaults({ "--defaults-file=" .. file }))
    end)

    it("follow !include and !includedir", function()
      local dir = scratch()
      assert(os.execute("mkdir " .. q(dir .. "/conf.d")))
      write(dir .. "/conf.d/a.cnf", "[client]\nuser=from-a\n")
      write(dir .. "/conf.d/b.cnf", "[client]\ndatabase=from-b\n")
      write(dir .. "/conf.d/c.txt", "[client]\nhost=not-read\n")
      write(dir .. "/inc.cnf", "[mylua]\nport=2002\n")
      local file = write(dir .. "/f.cnf", ("[client]\nhost=h\n!include %s/inc.cnf\n!includedir %s/conf.d\n")
        :format(dir, dir))
      assert.are.equal("database=string:from-b host=string:h port=integer:2002 user=string:from-a",
        defaults({ "--defaults-file=" .. file }))
    end)

    it("take loose- prefixes, _ for -, and the boolean forms", function()
      local dir = scratch()
      local file = write(dir .. "/f.cnf", table.concat({ "[mylua]", "loose-ssl-ca=ca.pem",
        "loose_no_such_option=1", "skip-compress", "enable_cleartext_plugin=ON", "local-infile=off",
        "get-server-public-key", "" }, "\n"))
      assert.are.equal("allow_cleartext=boolean:true compress=boolean:false get_server_public_key=boolean:true " ..
        "local_infile=boolean:false ssl_ca=string:ca.pem", defaults({ "--defaults-file=" .. file }))
    end)

    it("refuse an unknown option in [mylua], naming the file and line", function()
      local dir = scratch()
      local file = write(dir .. "/f.cnf", "[client]\nno-auto-rehash\n[mylua]\nuser=x\nhots=y\n")
      local err = usage_error({ "--defaults-file=" .. file }, nil, file .. ":5: unknown option 'hots'")
      assert.truthy(err:find("did you mean 'host'", 1, true), err)
      -- the suffixed group is the program's own too
      file = write(dir .. "/g.cnf", "[mylua_x]\nbogus=1\n")
      usage_error({ "--defaults-file=" .. file, "--defaults-group-suffix=_x" }, nil,
        file .. ":2: unknown option 'bogus'")
    end)

    it("skip unknown options in the shared groups", function()
      local dir = scratch()
      local file = write(dir .. "/f.cnf",
        "[client]\nno-auto-rehash\nprompt=x> \n[mysql]\nauto-vertical-output\n[client]\nuser=u\n")
      assert.are.equal("user=string:u", defaults({ "--defaults-file=" .. file }))
    end)

    it("refuse a bad value in any group read, naming the file and line", function()
      local dir = scratch()
      local file = write(dir .. "/f.cnf", "[client]\n\nport=abc\n")
      usage_error({ "--defaults-file=" .. file }, nil, file .. ":3: option '--port' must be")
      file = write(dir .. "/g.cnf", "[client]\nssl-mode=sometimes\n")
      usage_error({ "--defaults-file=" .. file }, nil, file .. ":2: option '--ssl-mode' must be")
    end)

    it("read the suffixed groups with --defaults-group-suffix or MYSQL_GROUP_SUFFIX", function()
      local dir = scratch()
      local file = write(dir .. "/f.cnf", "[client]\nuser=plain\n[client_x]\nuser=suffixed\n" ..
        "[mysql_x]\ndatabase=dx\n[client_y]\nhost=not-read\n")
      assert.are.equal("user=string:plain", defaults({ "--defaults-file=" .. file }))
      assert.are.equal("database=string:dx user=string:suffixed",
        defaults({ "--defaults-file=" .. file, "--defaults-group-suffix=_x" }))
      assert.are.equal("database=string:dx user=string:suffixed",
        defaults({ "--defaults-file=" .. file }, { MYSQL_GROUP_SUFFIX = "_x" }))
    end)

    it("read ~/.my.cnf, after --defaults-extra-file", function()
      local home = scratch()
      write(home .. "/.my.cnf", "[client]\nuser=home\n")
      local extra = write(scratch() .. "/extra.cnf", "[client]\nuser=extra\ndatabase=extra\n")
      local got = defaults({ "--defaults-extra-file=" .. extra }, { HOME = home })
      assert.truthy(got:find("user=string:home", 1, true), got)
      assert.truthy(got:find("database=string:extra", 1, true), got)
      assert.truthy(defaults({ "--no-defaults" }, { HOME = home }) == "")
    end)

    it("refuse a missing --defaults-file or --defaults-extra-file", function()
      usage_error({ "--defaults-file=/nonexistent/my.cnf" }, nil,
        "could not open required defaults file '/nonexistent/my.cnf'")
      usage_error({ "--defaults-extra-file=/nonexistent/x.cnf" }, nil,
        "could not open required defaults file '/nonexistent/x.cnf'")
    end)

    it("skip a world-writable file with the mariadb client's warning", function()
      local home = scratch()
      write(home .. "/.my.cnf", "[client]\nuser=planted\n", "666")
      local out, err, code = mylua({ "-e", "print(debug.getregistry()['mylua.host_defaults'].user)" },
        { HOME = home })
      assert.are.equal(0, code, err)
      assert.are.equal("nil\n", out)
      assert.truthy(err:find("World-writable config file '" .. home .. "/.my.cnf' is ignored", 1, true), err)
    end)

    it("want --no-defaults and the --defaults-* options first, as the mariadb client", function()
      local dir = scratch()
      local file = write(dir .. "/f.cnf", "[client]\nuser=u\n")
      usage_error({ "-u", "x", "--defaults-file=" .. file }, nil,
        "option '--defaults-file' must come first on the command line")
      usage_error({ "--no-defaults", "--defaults-file=" .. file }, nil,
        "option '--defaults-file' must come first")
      usage_error({ "-C", "--no-defaults" }, nil, "option '--no-defaults' must come first")
      usage_error({ "-C", "--print-defaults" }, nil, "option '--print-defaults' must come first")
      usage_error({ "--defaults-file", file }, nil, "option '--defaults-file' takes its value after '='")
      assert.are.equal("user=string:u", defaults({ "--defaults-group-suffix=_q", "--defaults-file=" .. file }))
    end)

    it("parse --login-path among the leading options", function()
      local dir = scratch()
      local file = write(dir .. "/f.cnf", "[client]\nuser=u\n")
      assert.are.equal("user=string:u", defaults({ "--login-path=remote", "--defaults-file=" .. file }))
      usage_error({ "-C", "--login-path=remote" }, nil, "option '--login-path' must come first")
    end)
  end)

  describe("precedence", function()
    it("is command line > option files > environment > built-ins", function()
      local dir = scratch()
      local file = write(dir .. "/f.cnf", "[client]\nhost=file-host\nport=2002\n")
      local env = { MYSQL_HOST = "env-host", MYSQL_TCP_PORT = "3003", MYSQL_UNIX_PORT = "/env.sock",
                    MYSQL_PWD = "env-pw" }
      local out, err, code = mylua({ "--defaults-file=" .. file, "-P", "4004", "-e", SHOW }, env)
      assert.are.equal(0, code, err)
      assert.are.equal("host=string:file-host password=string:env-pw port=integer:4004 " ..
        "socket=string:/env.sock\n", out)
      assert.truthy(err:find("MYSQL_PWD", 1, true), err)
      assert.are.equal("host=string:env-host port=integer:3003 socket=string:/env.sock",
        defaults({ "--no-defaults" }, { MYSQL_HOST = "env-host", MYSQL_TCP_PORT = "3003",
                                        MYSQL_UNIX_PORT = "/env.sock" }))
    end)

    it("ranks a file's password above MYSQL_PWD, as the mariadb client does", function()
      local dir = scratch()
      local file = write(dir .. "/f.cnf", ("[client]\nhost=%s\nport=%d\nuser=%s\npassword=%s\n")
        :format(P.host, P.port, P.user, P.password))
      local env = env_prefix({ MYSQL_PWD = "wrong" })
      local out, err, code = helpers.run(env .. " " .. command("mariadb",
        { "--defaults-file=" .. file, "-N", "-e", "SELECT 1" }))
      assert.are.equal(0, code, err)
      assert.are.equal("1\n", out)
      out, err, code = helpers.run(env .. " " .. command(q(bin),
        { "--defaults-file=" .. file, "-e", "print(require('mylua').connect():query('SELECT 1'):row(1, 'a')[1])" }))
      assert.are.equal("", err)
      assert.are.equal(0, code)
      assert.are.equal("1\n", out)
    end)

    it("lets the last of an option given twice win, in files as on the command line", function()
      local dir = scratch()
      local file = write(dir .. "/f.cnf", "[client]\nuser=a\n[mylua]\nuser=b\n[client]\nuser=c\n")
      assert.are.equal("user=string:c", defaults({ "--defaults-file=" .. file }))
      assert.are.equal("user=string:e", defaults({ "--defaults-file=" .. file, "-u", "d", "--user=e" }))
    end)

    it("refuses a bad MYSQL_TCP_PORT, naming it", function()
      usage_error({ "--no-defaults" }, { MYSQL_TCP_PORT = "http" }, "'MYSQL_TCP_PORT' must be")
    end)
  end)

  describe("--print-defaults", function()
    local function same_as_mariadb(args, env)
      local ours, theirs = both_print_defaults(args, env)
      assert.are.equal(theirs, ours)
      return ours
    end

    it("prints what the mariadb client prints, for the machine's files and ~/.my.cnf", function()
      local home = scratch()
      write(home .. "/.my.cnf", "[client]\nuser=me\n[mysql]\ndatabase = 'quoted value'\n" ..
        "[mysqld]\nport=1\n[client-server]\nsocket=/home.sock\n")
      local out = same_as_mariadb({}, { HOME = home })
      assert.truthy(out:find("--user=me --database=quoted value --socket=/home.sock x -y \n", 1, true), out)
    end)

    it("prints the same for MYSQL_HOME, MARIADB_HOME and --defaults-extra-file, in order", function()
      local home, mh, mdh = scratch(), scratch(), scratch()
      write(home .. "/.my.cnf", "[client]\nuser=home\n")
      write(mh .. "/my.cnf", "[client]\nuser=mysql-home\n")
      write(mdh .. "/my.cnf", "[client]\nuser=mariadb-home\n")
      local extra = write(scratch() .. "/e.cnf", "[mysql]\nuser=extra\n")
      local out = same_as_mariadb({ "--defaults-extra-file=" .. extra }, { HOME = home, MYSQL_HOME = mh })
      assert.truthy(out:find("--user=mysql-home --user=extra --user=home x -y", 1, true), out)
      out = same_as_mariadb({}, { HOME = home, MYSQL_HOME = mh, MARIADB_HOME = mdh })
      assert.truthy(out:find("--user=mariadb-home --user=home x -y", 1, true), out)
      assert.falsy(out:find("mysql-home", 1, true), out)
    end)

    it("prints the same when MYSQL_HOME names a directory read already (read once, later)", function()
      local home = scratch()
      write(home .. "/.my.cnf", "[client]\nuser=home\n")
      same_as_mariadb({}, { HOME = home, MYSQL_HOME = "/etc/mysql" })
      same_as_mariadb({}, { HOME = home, MYSQL_HOME = "/etc" })
      same_as_mariadb({}, { HOME = home, MYSQL_HOME = home })
    end)

    it("prints the same with --defaults-file, a group suffix, and includes", function()
      local dir = scratch()
      write(dir .. "/inc.cnf", "[client_s]\nhost=included\n")
      local file = write(dir .. "/f.cnf", ("[client]\nuser=u # comment\n[mariadb-client_s]\ncompress\n" ..
        "!include %s/inc.cnf\n[mysql]\npassword=\"a b\\tc\"\n"):format(dir))
      local out = same_as_mariadb({ "--defaults-file=" .. file, "--defaults-group-suffix=_s" })
      assert.truthy(out:find("--user=u --compress --host=included --password=a b\tc x -y", 1, true), out)
    end)

    it("prints only the rest of the command line with --no-defaults", function()
      assert.are.equal("x -y \n", same_as_mariadb({ "--no-defaults" }))
    end)
  end)

  describe("invocation", function()
    it("runs -l NAME and -l G=NAME as lua does, in order with -e", function()
      local dir = scratch()
      write(dir .. "/optmod.lua", "return { v = 42 }\n")
      local env = { LUA_PATH = dir .. "/?.lua" }
      local out, err, code = mylua({ "--no-defaults", "-e", "print(optmod)", "-l", "optmod", "-e",
        "print(optmod.v)", "-l", "g=optmod", "-lmylua", "-e", "print(g.v, type(mylua.connect))" }, env)
      assert.are.equal("", err)
      assert.are.equal(0, code)
      assert.are.equal("nil\n42\n42\tfunction\n", out)
      out, err, code = mylua({ "--no-defaults", "-l", "no_such_module_here" }, env)
      assert.are.equal(1, code)
      assert.truthy(err:find("no_such_module_here", 1, true), err)
    end)

    it("takes -eCODE joined, as lua does, and keeps arg as lua builds it", function()
      local out, err, code = mylua({ "--no-defaults", "-eprint(arg[-1], arg[0])",
        helpers.temp_script("print(arg[1], arg[2], ...)"), "a", "b" })
      assert.are.equal("", err)
      assert.are.equal(0, code)
      assert.truthy(out:find("^%-eprint%(arg%[%-1%], arg%[0%]%)\t/"), out)
      assert.truthy(out:find("\na\tb\ta\tb\n$"), out)
    end)

    it("reads the script from standard input with '-', with its arguments", function()
      local out, err, code = mylua({ "--no-defaults", "-h", "x", "-", "p", "q" }, nil,
        "print(arg[0], arg[1], arg[2], select('#', ...), debug.getregistry()['mylua.host_defaults'].host)")
      assert.are.equal("", err)
      assert.are.equal(0, code)
      assert.are.equal("-\tp\tq\t2\tx\n", out)
    end)

    it("lists every option in --help, grouped, and exits 0", function()
      local out, err, code = mylua({ "--help" })
      assert.are.equal("", err)
      assert.are.equal(0, code)
      for _, name in ipairs({ "-h, --host=NAME", "-P, --port=N", "-S, --socket=PATH", "--protocol=NAME",
                              "-u, --user=NAME", "-p, --password[=PASS]", "-D, --database=NAME",
                              "--bind-address=ADDR", "--connect-timeout=SECONDS",
                              "--default-character-set=NAME", "--init-command=SQL",
                              "--max-allowed-packet=BYTES", "--ssl-mode=MODE", "-C, --compress",
                              "--auth-hook=FILE", "--local-infile", "--no-defaults",
                              "--defaults-file=FILE", "--defaults-extra-file=FILE",
                              "--defaults-group-suffix=S", "--login-path=NAME", "--print-defaults",
                              "-l NAME", "-e CODE", "Connection", "TLS", "Compression",
                              "Authentication", "LOAD DATA LOCAL INFILE" }) do
        assert.truthy(out:find(name, 1, true), name)
      end
      for line in out:gmatch("[^\n]+") do
        assert(#line <= 80, "a help line longer than 80 columns: " .. line)
      end
    end)

    it("prints its version with --version and -V", function()
      for _, flag in ipairs({ "--version", "-V" }) do
        local out, err, code = mylua({ flag })
        assert.are.equal(0, code, err)
        assert.truthy(out:find("^mylua %S+ %(Lua 5%.4"), out)
      end
    end)
  end)

  describe("the login path file (~/.mylogin.cnf)", function()
    -- Writes HOME/.mylogin.cnf with the generator written from MySQL's
    -- documented format (mysql_config_editor is not in Debian).
    local function login_file(home, paths, mode)
      local parts = {}
      for i, p in ipairs(paths) do
        local fields = {}
        for k, v in pairs(p[2]) do fields[#fields + 1] = ("%q:%q"):format(k, v) end
        table.sort(fields)
        parts[i] = ("[%q,{%s}]"):format(p[1], table.concat(fields, ","))
      end
      local json = ('{"paths":[%s],"quote":"editor","mode":"%s"}'):format(table.concat(parts, ","),
        mode or "600")
      local _, err, code = helpers.run("python3 spec/support/mylogin_gen.py " ..
        q(home .. "/.mylogin.cnf"), json)
      assert.are.equal(0, code, err)
    end
    local server = { host = P.host, port = tostring(P.port), user = P.user, password = P.password }
    local WHOAMI = "local r = require('mylua').connect():query('SELECT CURRENT_USER()'):row(1, 'a') " ..
      "print((r[1]:match('^[^@]*')))"

    it("logs in with [client] of the file, even with --no-defaults or --defaults-file, as MySQL's clients", function()
      local home = scratch()
      login_file(home, { { "client", server } })
      local leads = { {}, { "--no-defaults" }, { "--defaults-file=" .. write(home .. "/x.cnf", "[client]\n") } }
      for _, lead in ipairs(leads) do
        local out, err, code = mylua(helpers.append(lead, "-e", WHOAMI), { HOME = home })
        assert.are.equal("", err)
        assert.are.equal(0, code)
        assert.are.equal(P.user .. "\n", out)
      end
    end)

    it("reads the --login-path group over [client], and the command line over both", function()
      local home = scratch()
      local wrong = { host = P.host, port = tostring(P.port), user = P.user, password = "not-" .. P.password }
      login_file(home, { { "client", wrong }, { "backup", server } })
      local _, err, code = mylua({ "--no-defaults", "-e", WHOAMI }, { HOME = home })
      assert.are.equal(1, code)
      assert.truthy(err:find("ERROR 1045", 1, true), err)
      local out
      out, err, code = mylua({ "--no-defaults", "--login-path=backup", "-e", WHOAMI }, { HOME = home })
      assert.are.equal("", err)
      assert.are.equal(0, code)
      assert.are.equal(P.user .. "\n", out)
      out, err, code = mylua({ "--no-defaults", "-p" .. P.password, "-e", WHOAMI }, { HOME = home })
      assert.are.equal("", err)
      assert.are.equal(P.user .. "\n", out)
      assert.are.equal(0, code)
    end)

    it("ignores a file others can read, with a warning, and --no-login-paths ignores it always", function()
      local home = scratch()
      login_file(home, { { "client", { user = "from_file" } } }, "644")
      local out, err, code = mylua({ "--no-defaults", "-e", SHOW }, { HOME = home })
      assert.are.equal(0, code)
      assert.falsy(out:find("from_file", 1, true), out)
      assert.truthy(err:find(".mylogin.cnf", 1, true) and err:find("ignored", 1, true), err)
      login_file(home, { { "client", { user = "from_file" } } }, "600")
      assert.truthy(defaults({ "--no-defaults" }, { HOME = home }):find("user=string:from_file", 1, true))
      assert.falsy(defaults({ "--no-defaults", "--no-login-paths" }, { HOME = home }):find("from_file", 1, true))
    end)

    it("refuses a damaged file, naming it", function()
      local home = scratch()
      login_file(home, { { "client", server } })
      local f = assert(io.open(home .. "/.mylogin.cnf", "r+b"))
      f:seek("end", -3)
      f:write("\0\0\0")
      f:close()
      local _, err, code = mylua({ "--no-defaults", "-e", "print(1)" }, { HOME = home })
      assert.are_not.equal(0, code)
      assert.truthy(err:find(".mylogin.cnf", 1, true), err)
    end)
  end)

  describe("the library's read_default_file", function()
    local mylua_lib = require "mylua"

    it("reads [client] and the named group, below the table's own options", function()
      local dir = scratch()
      local file = write(dir .. "/lib.cnf", ("[client]\nhost=%s\nport=%d\nuser=%s\npassword=%s\n" ..
        "[mysqld]\nport=1\n[myapp]\ndatabase=%s\n"):format(P.host, P.port, P.user, P.password, P.database))
      local db = mylua_lib.connect{ read_default_file = file, read_default_group = "myapp" }
      assert.are.equal(P.database, db:query("SELECT DATABASE()"):row(1, "a")[1])
      db:close()
      db = mylua_lib.connect{ read_default_file = file, database = "information_schema" }
      assert.are.equal("information_schema", db:query("SELECT DATABASE()"):row(1, "a")[1])
      db:close()
      -- without the group, [myapp] is not read
      db = mylua_lib.connect{ read_default_file = file }
      assert.are.equal(mylua_lib.null, db:query("SELECT DATABASE()"):row(1, "a")[1])
      db:close()
    end)

    it("refuses an unknown option of the named group, and a missing file", function()
      local dir = scratch()
      local file = write(dir .. "/lib.cnf", "[client]\nno-auto-rehash\n[myapp]\ndatabse=x\n")
      local ok, err = pcall(mylua_lib.connect, { read_default_file = file, read_default_group = "myapp" })
      assert.falsy(ok)
      assert.truthy(tostring(err):find(file .. ":4: unknown option 'databse' (did you mean 'database'?)",
        1, true), tostring(err))
      ok, err = pcall(mylua_lib.connect, { read_default_file = dir .. "/none.cnf" })
      assert.falsy(ok)
      assert.truthy(tostring(err):find("could not open required defaults file", 1, true), tostring(err))
      ok, err = pcall(mylua_lib.connect, { read_default_file = 42 })
      assert.falsy(ok)
      assert.truthy(tostring(err):find("option 'read_default_file' must be a string", 1, true), tostring(err))
    end)
  end)
end)
