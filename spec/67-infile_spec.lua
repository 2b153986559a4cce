-- LOAD DATA LOCAL INFILE: off unless asked for; with local_infile = true a
-- real file goes to a real server byte for byte, in bounded memory; with
-- local_infile_dir only files beneath that directory; and a rogue server
-- (spec/support/infilepeer.py) that asks for another file than the
-- statement named, after a SELECT or a second time gets nothing.  The
-- statement scanner and the file source are also tested without a server
-- (spec/support/test_infile.c).
--
-- Not here yet: that the time a front end's handler spends does not count
-- against read_timeout (it needs local_infile = function(name) ... end).

local helpers = require "helpers"
local mylua = require "mylua"
local peer = require "support.peer"

local raises = helpers.raises
local q = helpers.shell_quote

local CLIENT_LOCAL_FILES = 0x80
local REJECTED = 2068
local FILE_NOT_FOUND = 5004
local MiB = 1024 * 1024

describe("LOCAL INFILE without a server", function()
  for _, case in ipairs(helpers.c_cases("test-infile", 40)) do it(case.name, case.check) end
end)

-- A scratch directory for the files the server is sent.
local function scratch()
  local path = os.tmpname()
  os.remove(path)
  assert(os.execute("mkdir -m 700 " .. q(path)))
  return path
end

local function write(path, data)
  local f = assert(io.open(path, "wb"))
  f:write(data)
  f:close()
end

local function sh(cmd) assert(os.execute(cmd), cmd) end

-- The peak resident set of this process (KiB) since the last reset_peak().
local function peak_kb()
  for line in io.lines("/proc/self/status") do
    local kb = line:match("^VmHWM:%s*(%d+)")
    if kb then return math.tointeger(tonumber(kb)) end
  end
  error("VmHWM not found in /proc/self/status")
end

local function reset_peak()
  local f = assert(io.open("/proc/self/clear_refs", "w"))
  assert(f:write("5"))
  f:close()
end

describe("LOAD DATA LOCAL INFILE", function()
  local dir, db, tbl

  before_each(function()
    dir = scratch()
    tbl = helpers.unique_table()
  end)

  after_each(function()
    if db and not db.closed then
      pcall(db.query, db, "DROP TABLE IF EXISTS " .. tbl)
      db:close()
    end
    db = nil
    peer.stop_all()
    sh("rm -rf " .. q(dir))
  end)

  -- Connects to the sandbox with `extra` and makes the table: one line of
  -- the file per row, as bytes, numbered in order.
  local function connect(extra)
    db = helpers.connect_big(extra)
    db:query("CREATE TABLE " .. tbl .. " (n INT AUTO_INCREMENT PRIMARY KEY, line LONGBLOB) ENGINE=MyISAM")
    return db
  end

  local function load_sql(name)
    return ("LOAD DATA LOCAL INFILE '%s' INTO TABLE %s CHARACTER SET binary "
      .. "FIELDS TERMINATED BY X'09' ESCAPED BY '' LINES TERMINATED BY X'0A' (line)")
      :format(name:gsub("'", "''"), tbl)
  end

  -- What the table holds, as the file it came from.
  local function table_text()
    local res = db:query("SELECT line FROM " .. tbl .. " ORDER BY n")
    local lines = {}
    for i = 1, #res do lines[i] = res:row(i, "a")[1] .. "\n" end
    return table.concat(lines)
  end

  local function rows() return db:query("SELECT COUNT(*) FROM " .. tbl):row(1, "a")[1] end

  describe("by default", function()
    it("is not offered: the server refuses the statement itself", function()
      connect()
      local path = dir .. "/a.txt"
      write(path, "one\n")
      local err = raises({ 1148, 4166 }, db.query, db, load_sql(path))
      assert.is_nil(err.message:find("refused", 1, true), err.message)
      assert.equal(0, rows())
    end)

    it("answers a rogue request with no data and 2068, and stays usable", function()
      local p = peer.start("after_select", "infilepeer.py")
      db = mylua.connect{ host = "127.0.0.1", port = p.port, user = "u", password = "p", read_timeout = 2 }
      local caps = math.tointeger(tonumber(p:value("caps")))
      assert.equal(0, caps & CLIENT_LOCAL_FILES)
      local err = raises(REJECTED, db.query, db, "SELECT 1")
      assert.truthy(err.message:find("/etc/passwd", 1, true), err.message)
      assert.truthy(err.message:find("not enabled", 1, true), err.message)
      assert.equal("/etc/passwd", p:value("request"))
      assert.equal("0", p:value("infile_bytes"))
      assert.equal("empty_packet", p:value("infile_end"))
      assert.equal(1, db:query("SELECT 1"):row(1, "a")[1])
    end)

    it("stays off with local_infile = false", function()
      local p = peer.start("after_select", "infilepeer.py")
      db = mylua.connect{ host = "127.0.0.1", port = p.port, user = "u", password = "p",
                          read_timeout = 2, local_infile = false }
      assert.equal(0, math.tointeger(tonumber(p:value("caps"))) & CLIENT_LOCAL_FILES)
      raises(REJECTED, db.query, db, "SELECT 1")
      assert.equal("0", p:value("infile_bytes"))
    end)
  end)

  describe("with local_infile = true", function()
    it("sends the named file byte for byte", function()
      connect{ local_infile = true }
      local lines = {}
      for i = 1, 300 do
        -- every byte but tab and newline, in varying order and length
        local t = {}
        for k = 1, i % 40 do
          local b = (i * 7 + k * 13) % 256
          if b == 9 or b == 10 then b = 65 end
          t[k] = string.char(b)
        end
        lines[i] = table.concat(t) .. "\n"
      end
      local text = table.concat(lines)
      local path = dir .. "/it's data.txt"
      write(path, text)
      local res = db:query(load_sql(path))
      assert.equal(300, res.affected_rows)
      assert.equal("Records: 300  Deleted: 0  Skipped: 0  Warnings: 0", res.info)
      assert.is_true(table_text() == text, "the table differs from the file")
    end)

    it("sends a file of many packets through the compressed protocol", function()
      connect{ local_infile = true, compress = true }
      assert.equal("zlib", db.compression)
      local lines = {}
      for i = 1, 30000 do lines[i] = ("%d:%s\n"):format(i, string.rep(string.char(65 + i % 26), i % 150)) end
      local text = table.concat(lines)
      write(dir .. "/z.txt", text)
      assert.equal(30000, db:query(load_sql(dir .. "/z.txt")).affected_rows)
      assert.is_true(table_text() == text, "the table differs from the file")
    end)

    it("sends an empty file as no rows", function()
      connect{ local_infile = true }
      write(dir .. "/empty.txt", "")
      assert.equal(0, db:query(load_sql(dir .. "/empty.txt")).affected_rows)
      assert.equal(0, rows())
    end)

    it("loads 50 MiB in bounded memory", function()
      connect{ local_infile = true }
      local path = dir .. "/big.txt"
      local line = string.rep("0123456789abcdef", 6) .. "\n" -- 97 bytes
      local f = assert(io.open(path, "wb"))
      local block = string.rep(line, 1000)
      local nblocks = (50 * MiB) // #block + 1
      for _ = 1, nblocks do f:write(block) end
      f:close()
      block = nil -- luacheck: ignore
      local before = helpers.collected_rss_kb()
      reset_peak()
      assert.is_true(peak_kb() < before + 1024, "the peak was not reset")
      local t0 = helpers.now()
      local res = db:query(load_sql(path))
      local elapsed = helpers.now() - t0
      local grew = peak_kb() - before
      assert.equal(nblocks * 1000, res.affected_rows)
      assert.is_true(grew < 8 * 1024, ("the resident set peaked %d KiB higher"):format(grew))
      local sum = db:query("SELECT SUM(LENGTH(line)) FROM " .. tbl):row(1, "a")[1]
      assert.equal(nblocks * 1000 * (#line - 1), math.tointeger(tonumber(sum)))
      io.stderr:write(("\n[67-infile] 50 MiB loaded in %.2f s, peak RSS %d KiB above the start\n"):format(elapsed, grew))
    end)

    it("gives the reply's MORE_RESULTS to the next result", function()
      connect{ local_infile = true, multi_statements = true }
      write(dir .. "/m.txt", "a\nb\nc\n")
      local res = db:query(load_sql(dir .. "/m.txt") .. "; SELECT COUNT(*) AS c FROM " .. tbl)
      assert.equal(3, res.affected_rows)
      local second = res:next_result()
      assert.equal(3, second:row(1, "a")[1])
      assert.is_nil(second:next_result())
      assert.is_true(db:ping())
    end)

    it("fails the statement when the file cannot be opened, and stays usable", function()
      connect{ local_infile = true }
      local err = raises(FILE_NOT_FOUND, db.query, db, load_sql(dir .. "/missing.txt"))
      assert.truthy(err.message:find(dir .. "/missing.txt", 1, true), err.message)
      assert.truthy(err.message:find("No such file", 1, true), err.message)
      assert.equal(0, rows())
      write(dir .. "/ok.txt", "x\n")
      assert.equal(1, db:query(load_sql(dir .. "/ok.txt")).affected_rows)
    end)

    it("refuses a FIFO without waiting for a writer", function()
      connect{ local_infile = true }
      sh("mkfifo " .. q(dir .. "/fifo"))
      local err, elapsed = raises(REJECTED, db.query, db, load_sql(dir .. "/fifo"))
      assert.truthy(err.message:find("FIFO", 1, true), err.message)
      assert.is_true(elapsed < 2, "took " .. elapsed .. " s")
      assert.equal(1, db:query("SELECT 1"):row(1, "a")[1])
    end)

    it("follows NO_BACKSLASH_ESCAPES when it reads the statement's file name", function()
      connect{ local_infile = true }
      sh("mkdir " .. q(dir .. "/x\\y"))
      write(dir .. "/x\\y/f.txt", "nb\n")
      db:query("SET SESSION sql_mode = CONCAT(@@sql_mode, ',NO_BACKSLASH_ESCAPES')")
      assert.equal(1, db:query(load_sql(dir .. "/x\\y/f.txt")).affected_rows)
      assert.equal("nb\n", table_text())
    end)
  end)

  describe("with local_infile_dir", function()
    local function in_dir(extra)
      local o = { local_infile_dir = dir .. "/in" }
      for k, v in pairs(extra or {}) do o[k] = v end
      sh("mkdir -p " .. q(dir .. "/in/sub"))
      write(dir .. "/in/a.txt", "in a\n")
      write(dir .. "/in/sub/b.txt", "in b\n")
      write(dir .. "/secret.txt", "secret\n")
      return connect(o)
    end

    it("sends a file beneath it, by a relative or an absolute name", function()
      in_dir()
      assert.equal(1, db:query(load_sql("a.txt")).affected_rows)
      assert.equal(1, db:query(load_sql(dir .. "/in/sub/b.txt")).affected_rows)
      assert.equal(1, db:query(load_sql("sub/../a.txt")).affected_rows)
      assert.equal("in a\nin b\nin a\n", table_text())
    end)

    it("follows a symbolic link that stays inside", function()
      in_dir()
      sh("ln -s sub/b.txt " .. q(dir .. "/in/link"))
      assert.equal(1, db:query(load_sql("link")).affected_rows)
      assert.equal("in b\n", table_text())
    end)

    local refused = {
      { "../secret.txt", "not under" },
      { "sub/../../secret.txt", "not under" },
      { "/etc/passwd", "not under" },
      { "out", "not under", "ln -s ../secret.txt %s/in/out" },
      { "abs", "not under", "ln -s /etc/passwd %s/in/abs" },
      { "sub", "a directory" },
      { "fifo", "a FIFO", "mkfifo %s/in/fifo" },
    }
    for _, r in ipairs(refused) do
      local name, why, setup = r[1], r[2], r[3]
      it(("refuses %s (%s), naming it, and stays usable"):format(name, why), function()
        in_dir()
        if setup then sh(setup:format(q(dir))) end
        local err = raises(REJECTED, db.query, db, load_sql(name))
        assert.truthy(err.message:find(name, 1, true), err.message)
        assert.truthy(err.message:find(why, 1, true), err.message)
        assert.equal(0, rows())
        assert.equal(1, db:query(load_sql("a.txt")).affected_rows)
      end)
    end

    it("refuses an absolute name outside it", function()
      in_dir()
      local err = raises(REJECTED, db.query, db, load_sql(dir .. "/secret.txt"))
      assert.truthy(err.message:find("not under local_infile_dir", 1, true), err.message)
      assert.equal(0, rows())
    end)
  end)

  describe("against a rogue server", function()
    -- Connected to the peer with the file source on, and a harmless file.
    local function rogue(scenario, extra)
      local p = peer.start(scenario, "infilepeer.py")
      local o = { host = "127.0.0.1", port = p.port, user = "u", password = "p", read_timeout = 2,
                  local_infile = true }
      for k, v in pairs(extra or {}) do o[k] = v ~= helpers.NONE and v or nil end
      db = mylua.connect(o)
      assert.equal(CLIENT_LOCAL_FILES, math.tointeger(tonumber(p:value("caps"))) & CLIENT_LOCAL_FILES)
      write(dir .. "/harmless.txt", "harmless\n")
      return p
    end

    local function usable()
      assert.equal(1, db:query("SELECT 1"):row(1, "a")[1])
      assert.is_true(db:ping())
    end

    it("sends nothing for /etc/passwd after a SELECT", function()
      local p = rogue("after_select")
      local err = raises(REJECTED, db.query, db, "SELECT * FROM t")
      assert.truthy(err.message:find("'/etc/passwd'", 1, true), err.message)
      assert.truthy(err.message:find("no LOAD DATA LOCAL INFILE", 1, true), err.message)
      assert.equal("/etc/passwd", p:value("request"))
      assert.equal("0", p:value("infile_bytes"))
      assert.equal("empty_packet", p:value("infile_end"))
      usable()
    end)

    it("sends nothing for another file than the statement named", function()
      local p = rogue("other_file")
      local harmless = dir .. "/harmless.txt"
      local err = raises(REJECTED, db.query, db, "LOAD DATA LOCAL INFILE '" .. harmless .. "' INTO TABLE t")
      assert.truthy(err.message:find("'/etc/passwd'", 1, true), err.message)
      assert.truthy(err.message:find("named '" .. harmless .. "'", 1, true), err.message)
      assert.equal("/etc/passwd", p:value("request"))
      assert.equal("0", p:value("infile_bytes"))
      usable()
    end)

    it("sends nothing for another file than the statement named, under local_infile_dir too", function()
      local p = rogue("other_file", { local_infile = helpers.NONE, local_infile_dir = dir })
      raises(REJECTED, db.query, db, "LOAD DATA LOCAL INFILE 'harmless.txt' INTO TABLE t")
      assert.equal("0", p:value("infile_bytes"))
      usable()
    end)

    it("sends the statement's file once, and nothing for a second request", function()
      local p = rogue("twice")
      local harmless = dir .. "/harmless.txt"
      local err = raises(REJECTED, db.query, db, "LOAD DATA LOCAL INFILE '" .. harmless .. "' INTO TABLE t")
      assert.truthy(err.message:find("already asked for", 1, true), err.message)
      assert.equal(harmless, p:value("request"))
      assert.equal(tostring(#"harmless\n"), p:value("infile_bytes"))
      assert.equal(harmless, p:value("request"))
      assert.equal("0", p:value("infile_bytes"))
      assert.equal("empty_packet", p:value("infile_end"))
      usable()
    end)

    it("sends nothing for a name holding a NUL byte", function()
      local p = rogue("nul_name")
      local harmless = dir .. "/harmless.txt"
      local err = raises(REJECTED, db.query, db, "LOAD DATA LOCAL INFILE '" .. harmless .. "' INTO TABLE t")
      assert.truthy(err.message:find("NUL byte", 1, true), err.message)
      assert.truthy(err.message:find("\\x00/etc/passwd", 1, true), err.message)
      assert.equal("0", p:value("infile_bytes"))
      usable()
    end)

    it("sends the statement's file when that is what the server asks for", function()
      local p = rogue("statement")
      local harmless = dir .. "/harmless.txt"
      local res = db:query("LOAD DATA LOCAL INFILE '" .. harmless .. "' INTO TABLE t")
      assert.equal(#"harmless\n", res.affected_rows)
      assert.equal(tostring(#"harmless\n"), p:value("infile_bytes"))
      usable()
    end)
  end)
end)
