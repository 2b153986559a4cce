-- Shared helpers for the specs: `local helpers = require "helpers"`.
-- Connection settings come from the MYLUA_TEST_* variables that
-- scripts/check exports after starting its sandbox server.

local helpers = {}

-- Put as a value in `extra` to remove that key from the defaults.
helpers.NONE = setmetatable({}, { __tostring = function() return "helpers.NONE" end })

local function env(name, default)
  local v = os.getenv(name)
  if v == nil or v == "" then return default end
  return v
end

local function merge(base, extra)
  for k, v in pairs(extra or {}) do
    if v == helpers.NONE then base[k] = nil else base[k] = v end
  end
  return base
end

-- Connect options for TCP to the test server, merged with `extra`.
function helpers.params(extra)
  return merge({
    host = env("MYLUA_TEST_HOST", "127.0.0.1"),
    port = math.tointeger(tonumber(env("MYLUA_TEST_PORT", "3306"))),
    user = env("MYLUA_TEST_USER", "mylua"),
    password = env("MYLUA_TEST_PASSWORD", "mylua-pass"),
    database = env("MYLUA_TEST_DB", "mylua_test"),
  }, extra)
end

-- Connect options for the Unix socket of the test server, merged with `extra`.
function helpers.socket_params(extra)
  local p = helpers.params()
  p.host, p.port = nil, nil
  p.socket = env("MYLUA_TEST_SOCKET", "/run/mysqld/mysqld.sock")
  return merge(p, extra)
end

function helpers.connect(extra)
  return require("mylua").connect(helpers.params(extra))
end

-- The TLS sandbox that scripts/check starts next to the main one (same
-- user, password and database).
local function tls_env(name)
  local v = env(name)
  if v == nil then error(name .. " is not set: run the TLS specs with scripts/check", 3) end
  return v
end

-- Connect options for TCP to the TLS sandbox, merged with `extra`.
function helpers.tls_params(extra)
  local p = helpers.params()
  p.host = tls_env("MYLUA_TLS_HOST")
  p.port = math.tointeger(tonumber(tls_env("MYLUA_TLS_PORT")))
  return merge(p, extra)
end

-- Connect options for the Unix socket of the TLS sandbox, merged with `extra`.
function helpers.tls_socket_params(extra)
  local p = helpers.params()
  p.host, p.port = nil, nil
  p.socket = tls_env("MYLUA_TLS_SOCKET")
  return merge(p, extra)
end

-- The path of a file scripts/test-certs made, e.g. helpers.tls_file("ca.pem").
function helpers.tls_file(name)
  return tls_env("MYLUA_TLS_CERTS") .. "/" .. name
end

-- A read_timeout for the connections of specs that move large values or
-- many rows: far above what they need, so that a framing bug that waits for
-- bytes never sent fails the spec with 2013 instead of hanging the run.
helpers.BIG_READ_TIMEOUT = 30

-- helpers.connect with that read_timeout.
function helpers.connect_big(extra)
  local p = helpers.params(extra)
  if p.read_timeout == nil then p.read_timeout = helpers.BIG_READ_TIMEOUT end
  return require("mylua").connect(p)
end

-- The host program under test (build/mylua, or build-san/mylua under --sanitize).
function helpers.bin()
  return os.getenv("MYLUA_BIN")
end

-- Files written by a test for the host program to run; after_each removes
-- them with helpers.remove_temp_files().
local temp_files = {}

-- Writes `source` to a fresh temporary file and returns its path.
function helpers.temp_script(source)
  local path = os.tmpname()
  local f = assert(io.open(path, "wb"))
  f:write(source)
  f:close()
  temp_files[#temp_files + 1] = path
  return path
end

function helpers.remove_temp_files()
  for _, path in ipairs(temp_files) do os.remove(path) end
  temp_files = {}
end

-- Runs the host program under test with the given (unquoted) arguments and
-- standard input; returns stdout, stderr, exit code.
function helpers.run_host(args, input)
  local quoted = {}
  for i, a in ipairs(args) do quoted[i] = helpers.shell_quote(a) end
  return helpers.run(helpers.shell_quote(helpers.bin()) .. " " .. table.concat(quoted, " "), input)
end

-- A copy of the array `list` with the values after it appended.
function helpers.append(list, ...)
  local t = { table.unpack(list) }
  for _, v in ipairs({ ... }) do t[#t + 1] = v end
  return t
end

-- Code that prints the defaults the host program put under connect's
-- options, "name=type:value" sorted, on one line.
helpers.SHOW_HOST_DEFAULTS = [[
local t = debug.getregistry()["mylua.host_defaults"] or {}
local names = {}
for name in pairs(t) do names[#names + 1] = name end
table.sort(names)
for i, name in ipairs(names) do
  local v = t[name]
  names[i] = name .. "=" .. (math.type(v) or type(v)) .. ":" .. tostring(v)
end
io.write(table.concat(names, " "), "\n")
]]

-- What connect gets from the host program's options `...`, as
-- SHOW_HOST_DEFAULTS prints it (no option file read, so the machine's own
-- my.cnf files add nothing).
function helpers.host_defaults(...)
  local out, err, code = helpers.run_host(helpers.append({ "--no-defaults", ... }, "-e",
    helpers.SHOW_HOST_DEFAULTS))
  assert(err == "", "stderr: " .. err)
  assert(code == 0, "exit status " .. tostring(code))
  return (out:gsub("\n$", ""))
end

-- The host program's options `args` give a usage error: exit 2, nothing on
-- stdout, the message first on stderr (naming `what`), then the usage
-- line.  Returns that first line.
function helpers.assert_host_usage_error(args, what)
  local out, err, code = helpers.run_host(helpers.append(args, helpers.temp_script("print('ran')")))
  assert(code == 2, ("exit status %s, not 2: %s"):format(tostring(code), err))
  assert(out == "", "stdout: " .. out)
  local first = err:match("^([^\n]*)\n")
  assert(first and first:find("^mylua: "), err)
  assert(first:find(what, 1, true), ("%q does not name %q"):format(err, what))
  assert(err:find("\nusage: mylua", 1, true), "no usage line: " .. err)
  return first
end

-- Lua source for a table constructor holding the options `p`, for scripts
-- the host program runs.
function helpers.options_source(p)
  local parts = {}
  for k, v in pairs(p) do
    parts[#parts + 1] = ("%s = %s"):format(k, type(v) == "string" and ("%q"):format(v) or tostring(v))
  end
  table.sort(parts)
  return "{ " .. table.concat(parts, ", ") .. " }"
end

-- The smallest n for which works(n) is true, when it is false below some
-- n and true from there on: doubling from `first`, then bisecting.  Fails
-- when nothing up to `limit` works.
function helpers.smallest_working(works, first, limit)
  local lo, hi = 0, first
  while not works(hi) do
    hi = hi * 2
    assert(hi < limit, "nothing up to " .. limit .. " works")
  end
  while lo < hi do
    local mid = (lo + hi) // 2
    if works(mid) then hi = mid else lo = mid + 1 end
  end
  return lo
end

-- Quotes a string for /bin/sh.
function helpers.shell_quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

local function slurp(path)
  local f = io.open(path, "rb")
  if not f then return "" end
  local s = f:read("a")
  f:close()
  return s
end

local SANITIZER_MARKS = { "ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:" }

-- A sanitizer report in a child's stderr must not vanish with it: it is
-- passed on to our own stderr, where scripts/check --sanitize looks for
-- reports.
local function pass_on_sanitizer_report(what, stderr)
  for _, mark in ipairs(SANITIZER_MARKS) do
    if stderr:find(mark, 1, true) then
      io.stderr:write("==== sanitizer report from: ", what, "\n", stderr, "\n")
      break
    end
  end
end

-- Runs `cmdline` with /bin/sh; stdin is `input` (a string) or empty.
-- Returns stdout, stderr, exit code (128 + N when killed by signal N).
function helpers.run(cmdline, input)
  local out_path, err_path, in_path = os.tmpname(), os.tmpname(), os.tmpname()
  local f = assert(io.open(in_path, "wb"))
  f:write(input or "")
  f:close()
  local ok, how, code = os.execute(("( %s ) <%s >%s 2>%s"):format(
    cmdline, helpers.shell_quote(in_path), helpers.shell_quote(out_path), helpers.shell_quote(err_path)))
  local stdout, stderr = slurp(out_path), slurp(err_path)
  os.remove(out_path)
  os.remove(err_path)
  os.remove(in_path)
  if how == "signal" then code = 128 + code end
  if ok and code == nil then code = 0 end
  pass_on_sanitizer_report(cmdline, stderr)
  return stdout, stderr, code
end

-- A program in the background (argv[1] and its arguments, quoted here),
-- its stdout through a pipe and its stderr to a file: { pid, read_line(),
-- signal(name), finish() -> the rest of stdout, the exit code (128 + N for
-- signal N), stderr }.
function helpers.start(argv)
  local quoted = {}
  for i, a in ipairs(argv) do quoted[i] = helpers.shell_quote(a) end
  local err_path = os.tmpname()
  local f = assert(io.popen(("echo $$; exec %s 2>%s"):format(table.concat(quoted, " "),
    helpers.shell_quote(err_path)), "r"))
  local pid = assert(math.tointeger(tonumber(f:read("l"))), "no pid")
  local h = { pid = pid }
  function h.read_line() return f:read("l") end
  function h.signal(name) assert(os.execute(("kill -%s %d 2>/dev/null"):format(name, pid))) end
  function h.finish()
    local rest = f:read("a")
    local _, how, code = f:close()
    if how == "signal" then code = 128 + code end
    local err = slurp(err_path)
    os.remove(err_path)
    pass_on_sanitizer_report(argv[1], err)
    return rest, code, err
  end
  return h
end

-- Resident set size of this process in KiB.
function helpers.rss_kb()
  for line in io.lines("/proc/self/status") do
    local kb = line:match("^VmRSS:%s*(%d+)")
    if kb then return math.tointeger(tonumber(kb)) end
  end
  error("VmRSS not found in /proc/self/status")
end

-- The same after two full collections, so Lua garbage is not counted.
function helpers.collected_rss_kb()
  collectgarbage()
  collectgarbage()
  return helpers.rss_kb()
end

-- A monotonic clock in seconds (since boot, 1/100 s resolution).
function helpers.now()
  local f = assert(io.open("/proc/uptime", "r"))
  local t = f:read("n")
  f:close()
  return t
end

-- Calls fn(...), which must raise a mylua error object whose code is one of
-- `codes` (a number or a list); returns the error and the seconds it took.
function helpers.raises(codes, fn, ...)
  if type(codes) == "number" then codes = { codes } end
  local t0 = helpers.now()
  local ok, err = pcall(fn, ...)
  local elapsed = helpers.now() - t0
  assert(not ok, "expected an error, got a result")
  local mylua = require "mylua"
  assert(mylua.is_error(err), "not an error object: " .. tostring(err))
  local expected = false
  for _, c in ipairs(codes) do expected = expected or err.code == c end
  assert(expected, "expected code " .. table.concat(codes, " or ") .. ", got " .. tostring(err))
  assert(type(err.message) == "string" and #err.message > 0, "empty error message")
  assert(type(err.sqlstate) == "string" and #err.sqlstate == 5, "bad sqlstate")
  return err, elapsed
end

-- Calls fn(...), which must raise a plain error string containing `text`
-- (programming errors, such as using a closed object); returns it.
function helpers.raises_string(text, fn, ...)
  local ok, err = pcall(fn, ...)
  assert(not ok, "expected an error, got a result")
  assert(type(err) == "string", "expected an error string, got " .. tostring(err))
  assert(err:find(text, 1, true), err)
  return err
end

-- The bytes 0x00 .. last (0xFF when not given), in order.
function helpers.all_bytes(last)
  local t = {}
  for i = 0, last or 255 do t[#t + 1] = string.char(i) end
  return table.concat(t)
end

function helpers.hex(s)
  return (s:gsub(".", function(c) return ("%02X"):format(c:byte()) end))
end

-- A value as an assertion message shows it: its Lua type beside it, a
-- float with all its digits, a long string by its size and first bytes.
function helpers.describe_value(v)
  if type(v) == "string" then
    if #v > 60 then return ("string of %d bytes, %s..."):format(#v, helpers.hex(v:sub(1, 16))) end
    return ("%q"):format(v)
  end
  if math.type(v) == "float" then return ("%.17g (float)"):format(v) end
  return ("%s (%s)"):format(tostring(v), math.type(v) or type(v))
end

-- Whether a and b are the identical value: both mylua.null, or of the same
-- Lua type (integer and float apart) and equal (strings byte for byte).
function helpers.same_value(a, b)
  local null = require("mylua").null
  if a == null or b == null then return a == b end
  if type(a) ~= type(b) or math.type(a) ~= math.type(b) then return false end
  return a == b
end

-- A fresh table name, e.g. "t_3_5f2a9c".
local counter = 0
function helpers.unique_table()
  counter = counter + 1
  return ("t_%d_%06x"):format(counter, math.random(0, 0xffffff))
end

-- Runs a C case program built next to the host program under test (build/
-- or build-san/), e.g. "test-decoders", and returns one {name, check} per
-- case line it prints ("ok NAME" or "not ok NAME: why"), plus one checking
-- that the program printed at least `min_cases` cases and exited 0; the
-- spec makes each an `it`.
function helpers.c_cases(name, min_cases)
  local bin = os.getenv("MYLUA_BIN")
  local dir = bin and bin ~= "" and (bin:match("^(.*/)[^/]*$") or "") or "build/"
  local program = dir .. name
  local stdout, stderr, code = helpers.run(helpers.shell_quote(program))
  local cases, not_ok = {}, 0
  for line in stdout:gmatch("[^\n]+") do
    local ok_name = line:match("^ok (.+)$")
    if ok_name then
      cases[#cases + 1] = { name = ok_name }
    else
      local failed, why = line:match("^not ok (.-): (.*)$")
      if not failed then failed, why = line:match("^not ok (.+)$"), "failed" end
      if failed then
        cases[#cases + 1] = { name = failed, why = why }
        not_ok = not_ok + 1
      end
    end
  end
  local tests = {}
  for _, c in ipairs(cases) do
    tests[#tests + 1] = { name = c.name, check = function() assert(not c.why, c.why) end }
  end
  local tail = stderr ~= "" and ("; stderr: " .. stderr) or ""
  tests[#tests + 1] = {
    name = "the program ran every case and exited 0",
    check = function()
      assert(#cases >= min_cases, ("%s printed %d cases, expected at least %d (exit %s)%s")
        :format(program, #cases, min_cases, tostring(code), tail))
      assert(code == 0, ("%s exited with %s (%d of %d cases not ok)%s")
        :format(program, tostring(code), not_ok, #cases, tail))
    end,
  }
  return tests
end

return helpers
