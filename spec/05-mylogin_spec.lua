-- MySQL's login path file (.mylogin.cnf), read by the core without a
-- server.  The cases in spec/support/test_mylogin.c run first, one test
-- each.  Then spec/support/mylogin_gen.py, written from the documented
-- format (MySQL's mysql_config_editor is not packaged in Debian), writes
-- files that test-mylogin's print mode must read back exactly; damaged,
-- cut, oversized and too open files are refused with clear words.

local helpers = require "helpers"

describe("login path files", function()
  for _, case in ipairs(helpers.c_cases("test-mylogin", 12)) do it(case.name, case.check) end
end)

describe("login path files written from the format", function()
  local dir

  local function program()
    local bin = os.getenv("MYLUA_BIN")
    local d = bin and bin ~= "" and (bin:match("^(.*/)[^/]*$") or "") or "build/"
    return d .. "test-mylogin"
  end

  -- A JSON string for s (the generator's input).
  local function json_string(s)
    return '"' .. s:gsub('[%c"\\]', function(c) return ("\\u%04x"):format(c:byte()) end) .. '"'
  end

  -- JSON for a list of login paths: { {"client", {user = ..., ...}}, ... }.
  local function json_paths(paths)
    local out = {}
    for _, p in ipairs(paths) do
      local fields = {}
      for _, k in ipairs{ "user", "password", "host", "socket", "port" } do
        if p[2][k] then fields[#fields + 1] = json_string(k) .. ":" .. json_string(p[2][k]) end
      end
      out[#out + 1] = "[" .. json_string(p[1]) .. ",{" .. table.concat(fields, ",") .. "}]"
    end
    return "[" .. table.concat(out, ",") .. "]"
  end

  -- Writes dir/name with the generator; returns its path.
  local function generate(name, json)
    local path = dir .. "/" .. name
    local out, err, code = helpers.run("python3 spec/support/mylogin_gen.py " .. helpers.shell_quote(path), json)
    assert.are.equal(0, code, out .. err)
    return path
  end

  -- test-mylogin print PATH: its stdout and exit code.
  local function read_back(path)
    local out, err, code = helpers.run(helpers.shell_quote(program()) .. " print " .. helpers.shell_quote(path))
    return out .. err, code
  end

  -- The print mode's form of one option.
  local function escaped(s)
    return (s:gsub("[%c|\\]", function(c)
      if c == "\\" then return "\\\\" end
      if c == "\n" then return "\\n" end
      if c == "\t" then return "\\t" end
      if c == "\r" then return "\\r" end
      return ("\\x%02X"):format(c:byte())
    end))
  end

  local function expected(paths)
    local lines = {}
    for _, p in ipairs(paths) do
      for _, k in ipairs{ "user", "password", "host", "socket", "port" } do
        if p[2][k] then lines[#lines + 1] = escaped(p[1]) .. "|" .. k .. "|" .. escaped(p[2][k]) .. "\n" end
      end
    end
    return table.concat(lines) .. "status: read\n"
  end

  local function bytes_of(path)
    local f = assert(io.open(path, "rb"))
    local s = f:read("a")
    f:close()
    return s
  end

  local function write_bytes(path, s)
    local f = assert(io.open(path, "wb"))
    f:write(s)
    f:close()
    assert(os.execute("chmod 600 " .. helpers.shell_quote(path)))
  end

  setup(function()
    dir = helpers.run("mktemp -d"):gsub("%s+$", "")
    assert.is_true(#dir > 0)
  end)

  teardown(function()
    if dir and #dir > 0 then os.execute("rm -rf " .. helpers.shell_quote(dir)) end
  end)

  -- A fixed key, so that a damaged file is damaged the same way each run.
  local KEY = "0a1f03110c1e0207140d19051b08170412001e09"

  local paths = {
    { "client", { user = "cron", password = "pa ss#word;=\"'`$x\\y", host = "127.0.0.1", port = "3306" } },
    { "backup", { user = "bk", password = "#starts with a hash", socket = "/run/mysqld/mysqld.sock" } },
    { "remote-eu", { user = "r", password = "tab\there\nnewline", host = "db.example", port = "13306" } },
    { "unicode", { user = "ünï", password = "パスワード€" } },
    { "empty", { user = "nobody", password = "" } },
  }

  it("reads back every login path exactly, special characters in passwords too", function()
    local path = generate("escaped.cnf", '{"quote":"escaped","paths":' .. json_paths(paths) .. "}")
    local out, code = read_back(path)
    assert.are.equal(0, code, out)
    assert.are.equal(expected(paths), out)
  end)

  it("reads values as MySQL 8's mysql_config_editor writes them: in quotes, as they are", function()
    local plain = {
      { "client", { user = "bob", password = "p#ss w=rd;'x'", host = "h", port = "3307" } },
      { "path2", { user = "u2", password = "in\"side" } },
    }
    local out, code = read_back(generate("editor.cnf", '{"quote":"editor","paths":' .. json_paths(plain) .. "}"))
    assert.are.equal(0, code, out)
    assert.are.equal(expected(plain), out)
    out, code = read_back(generate("unquoted.cnf", '{"quote":"none","paths":' .. json_paths(plain) .. "}"))
    assert.are.equal(0, code, out)
    -- unquoted, a '#' starts a comment: the password loses its tail, as in MySQL
    assert.truthy(out:find("client|password|p\n", 1, true), out)
  end)

  it("refuses a file cut short, naming it and the byte", function()
    local path = generate("whole.cnf", '{"key":"' .. KEY .. '","paths":' .. json_paths(paths) .. "}")
    local whole = bytes_of(path)
    local cut = dir .. "/cut.cnf"
    for _, keep in ipairs{ 5, 24 + 2, #whole - 1, #whole - 16 } do
      write_bytes(cut, whole:sub(1, keep))
      local out, code = read_back(cut)
      assert.are.equal(1, code, out)
      assert.truthy(out:find("error: login file '" .. cut .. "': cut short", 1, true), out)
    end
  end)

  it("refuses a damaged file: a byte flipped, a length changed, another key", function()
    local path = generate("good.cnf", '{"key":"' .. KEY .. '","paths":' .. json_paths(paths) .. "}")
    local whole = bytes_of(path)
    local bad = dir .. "/bad.cnf"
    local function flip(at)
      return whole:sub(1, at - 1) .. string.char(whole:byte(at) ~ 0x5A) .. whole:sub(at + 1)
    end
    write_bytes(bad, flip(#whole)) -- the last chunk's padding
    local out, code = read_back(bad)
    assert.are.equal(1, code, out)
    assert.truthy(out:find("does not decrypt (another key, or damaged bytes)", 1, true), out)
    write_bytes(bad, flip(5)) -- the key
    out, code = read_back(bad)
    assert.are.equal(1, code, out)
    assert.truthy(out:find("the chunk at byte 24 does not decrypt", 1, true), out)
    write_bytes(bad, whole:sub(1, 24) .. string.pack("<i4", 4113) .. whole:sub(29))
    out, code = read_back(bad)
    assert.are.equal(1, code, out)
    assert.truthy(out:find("the chunk at byte 24 claims 4113 bytes", 1, true), out)
    write_bytes(bad, whole:sub(1, 24) .. string.pack("<i4", -32) .. whole:sub(29))
    out, code = read_back(bad)
    assert.are.equal(1, code, out)
    assert.truthy(out:find("claims -32 bytes", 1, true), out)
    -- no option of a damaged file is given, even those before the damage
    assert.falsy(out:find("|", 1, true), out)
  end)

  it("refuses an oversized file unread", function()
    local big = dir .. "/big.cnf"
    write_bytes(big, ("\0"):rep(24) .. ("x"):rep(1024 * 1024))
    local out, code = read_back(big)
    assert.are.equal(1, code, out)
    assert.truthy(out:find("error: login file '" .. big .. "' is larger than 1 MiB", 1, true), out)
  end)

  it("ignores a file others may read or write, as MySQL, with a warning", function()
    local path = generate("open.cnf", '{"mode":"644","paths":' .. json_paths(paths) .. "}")
    local out, code = read_back(path)
    assert.are.equal(3, code, out)
    assert.are.equal("refused: login file '" .. path
      .. "' should be readable/writable only by its owner (mode 644); ignored\n", out)
    path = generate("group.cnf", '{"mode":"660","paths":' .. json_paths(paths) .. "}")
    out, code = read_back(path)
    assert.are.equal(3, code, out)
    assert.truthy(out:find("(mode 660)", 1, true), out)
  end)

  it("takes a missing file as no file, not an error", function()
    local out, code = read_back(dir .. "/absent.cnf")
    assert.are.equal(0, code, out)
    assert.are.equal("status: missing\n", out)
  end)
end)
