-- LOAD DATA LOCAL INFILE served by a Lua function: local_infile = function(name).
-- The handler returns a string, an open file or an iterator of chunks, or
-- nil and a message to refuse; its errors come back as the same value, the
-- connection stays usable, and it runs under the callback rule (the
-- connection busy, no yield).  The sandbox runs with --local-infile=1.

local helpers = require "helpers"
local mylua = require "mylua"

-- The LOAD DATA text form of a value (backslash escapes).
local ESC = { ["\0"] = "\\0", ["\t"] = "\\t", ["\n"] = "\\n", ["\\"] = "\\\\" }
local function escape(s)
  return (s:gsub("[%z\t\n\\]", ESC))
end

local function load_sql(tbl, name, extra)
  return ("LOAD DATA LOCAL INFILE '%s' INTO TABLE %s CHARACTER SET binary%s"):format(
    name or "data.tsv", tbl, extra or "")
end

local function blobs(db, tbl)
  local out = {}
  for row in db:query("SELECT id, b FROM " .. tbl .. " ORDER BY id"):rows("a") do
    out[#out + 1] = { row[1], row[2] }
  end
  return out
end

local function still_usable(db)
  assert.are.equal(42, db:query("SELECT 42 AS v"):row(1).v)
end

describe("a local_infile handler", function()
  local admin, tbl
  -- the contents: every byte value, and text with every character that needs escaping
  local all = helpers.all_bytes()
  local text = "tab\there, newline\nthere, backslash\\ and NUL\0 end"
  local file_text = "1\t" .. escape(all) .. "\n2\t" .. escape(text) .. "\n3\t\\N\n"

  setup(function()
    admin = helpers.connect()
  end)

  before_each(function()
    tbl = helpers.unique_table()
    admin:query("CREATE TABLE " .. tbl .. " (id INT PRIMARY KEY, b LONGBLOB NULL)")
  end)

  after_each(function()
    admin:query("DROP TABLE IF EXISTS " .. tbl)
  end)

  teardown(function()
    admin:close()
  end)

  local function check_loaded(db)
    local got = blobs(db, tbl)
    assert.are.equal(3, #got)
    assert.are.equal(helpers.hex(all), helpers.hex(got[1][2]))
    assert.are.equal(text, got[2][2])
    assert.are.equal(mylua.null, got[3][2])
  end

  it("serves a string, byte for byte, and gets the file name the statement gave", function()
    local names = {}
    local db <close> = helpers.connect{ local_infile = function(name)
      names[#names + 1] = name
      return file_text
    end }
    local res = db:query(load_sql(tbl, "some dir/it''s.tsv"))
    assert.are.equal(3, res.affected_rows)
    assert.are.same({ "some dir/it's.tsv" }, names)
    check_loaded(db)
  end)

  it("serves an empty string as an empty file", function()
    local db <close> = helpers.connect{ local_infile = function() return "" end }
    assert.are.equal(0, db:query(load_sql(tbl)).affected_rows)
    assert.are.equal(0, #blobs(db, tbl))
  end)

  it("reads an open file to its end, then closes it", function()
    local path = os.tmpname()
    local f = assert(io.open(path, "wb"))
    f:write(file_text)
    f:close()
    local handed
    local db <close> = helpers.connect{ local_infile = function()
      handed = assert(io.open(path, "rb"))
      return handed
    end }
    assert.are.equal(3, db:query(load_sql(tbl)).affected_rows)
    os.remove(path)
    check_loaded(db)
    assert.are.equal("closed file", io.type(handed))
  end)

  it("sends an iterator's chunks, wherever they split the lines", function()
    local pieces = {}
    for i = 1, #file_text, 7 do pieces[#pieces + 1] = file_text:sub(i, i + 6) end
    table.insert(pieces, 3, "") -- an empty chunk is no end
    local db <close> = helpers.connect{ local_infile = function()
      local i = 0
      return function()
        i = i + 1
        return pieces[i]
      end
    end }
    assert.are.equal(3, db:query(load_sql(tbl)).affected_rows)
    check_loaded(db)
  end)

  it("serves cursors too: execute, and next_result of a multi-statement query", function()
    local calls = 0
    local db <close> = helpers.connect{ multi_statements = true, local_infile = function()
      calls = calls + 1
      return ("%d\tx\n"):format(calls)
    end }
    local cur <close> = db:cursor()
    cur:execute(load_sql(tbl))
    assert.are.equal(1, cur.affected_rows)
    cur:execute("SELECT 1; " .. load_sql(tbl) .. "; SELECT 2")
    assert.are.same({ 1 }, cur:fetch(nil, "a"))
    assert.is_true(cur:next_result())
    assert.are.equal(1, cur.affected_rows)
    assert.is_true(cur:next_result())
    assert.are.same({ 2 }, cur:fetch(nil, "a"))
    assert.is_nil(cur:fetch())
    assert.are.equal(2, calls)
    assert.are.equal(2, #blobs(db, tbl))
  end)

  it("refuses with nil and a message: error 2068 with that message", function()
    local db <close> = helpers.connect{ local_infile = function(name)
      return nil, "no such data: " .. name
    end }
    local err = helpers.raises(2068, db.query, db, load_sql(tbl, "x.tsv"))
    assert.matches("no such data: x.tsv", err.message, 1, true)
    still_usable(db)
    assert.are.equal(0, #blobs(db, tbl))
  end)

  it("says what it must return when it returns something else", function()
    local db <close> = helpers.connect{ local_infile = function() return 42 end }
    helpers.raises_string("must return a string, an open file or an iterator function",
      db.query, db, load_sql(tbl))
    still_usable(db)
  end)

  it("re-raises the handler's own error, a table as the same table", function()
    local raised = { reason = "no" }
    local db <close> = helpers.connect{ local_infile = function() error(raised) end }
    local ok, err = pcall(db.query, db, load_sql(tbl))
    assert.is_false(ok)
    assert.are.equal(raised, err)
    still_usable(db)
    assert.are.equal(0, #blobs(db, tbl))
  end)

  it("re-raises an error of the iterator mid-stream; the connection stays usable", function()
    local db <close> = helpers.connect{ local_infile = function()
      local i = 0
      return function()
        i = i + 1
        if i > 1000 then error("iterator broke at " .. i) end
        return ("%d\tline %d\n"):format(i, i)
      end
    end }
    helpers.raises_string("iterator broke at 1001", db.query, db, load_sql(tbl))
    still_usable(db)
    db:query("SELECT 1")
  end)

  it("says that it cannot yield", function()
    local db <close> = helpers.connect{ local_infile = function()
      coroutine.yield()
      return ""
    end }
    helpers.raises_string("cannot yield", db.query, db, load_sql(tbl))
    local co = coroutine.wrap(function()
      return pcall(db.query, db, load_sql(tbl))
    end)
    local ok, err = co()
    assert.is_false(ok)
    assert.matches("cannot yield", err, 1, true)
    still_usable(db)
  end)

  it("runs on the thread of the query, a coroutine included", function()
    local seen
    local db <close> = helpers.connect{ local_infile = function()
      seen = coroutine.running()
      return "1\tx\n"
    end }
    local co = coroutine.create(function() return db:query(load_sql(tbl)).affected_rows end)
    local ok, n = coroutine.resume(co)
    assert.is_true(ok, n)
    assert.are.equal(1, n)
    assert.are.equal(co, seen)
  end)

  it("cannot use its own connection: a clear error, and the connection survives", function()
    local db
    db = helpers.connect{ local_infile = function()
      db:query("SELECT 1")
      return ""
    end }
    helpers.raises_string("attempt to use a connection while it reads LOCAL INFILE data",
      db.query, db, load_sql(tbl))
    still_usable(db)
    db:close()
  end)

  it("closing its connection is deferred until the query returns", function()
    local db
    db = helpers.connect{ local_infile = function()
      db:close()
      return "1\tx\n"
    end }
    local res = db:query(load_sql(tbl))
    assert.are.equal(1, res.affected_rows)
    assert.is_true(db.closed)
    assert.are.equal(1, #blobs(admin, tbl))
  end)

  it("may take longer than read_timeout to produce the data", function()
    local db <close> = helpers.connect{ read_timeout = 1, local_infile = function()
      os.execute("sleep 1.6")
      return "1\tslow\n"
    end }
    assert.are.equal(1, db:query(load_sql(tbl)).affected_rows)
    assert.are.equal("slow", blobs(db, tbl)[1][2])
  end)

  it("streams 200 MiB from an iterator in bounded memory", function()
    -- 800 fresh chunks of 256 KiB, 4096 lines each; the server skips every
    -- line but the last, which says how many came before it.
    local LINES, CHUNKS = 4096, 800
    local body = ("y"):rep(55) .. "\n" .. (("z"):rep(63) .. "\n"):rep(LINES - 1)
    local before = helpers.collected_rss_kb()
    local peak, samples = before, 0
    local db <close> = helpers.connect{ local_infile = function()
      local i = 0
      return function()
        i = i + 1
        if i % 50 == 0 then
          samples = samples + 1
          peak = math.max(peak, helpers.rss_kb())
        end
        if i <= CHUNKS then return ("%08d"):format(i) .. body end
        if i == CHUNKS + 1 then return ("9\tdone after %d lines\n"):format(CHUNKS * LINES) end
      end
    end }
    local ok, res = pcall(db.query, db, load_sql(tbl, nil, (" IGNORE %d LINES"):format(CHUNKS * LINES)))
    assert.is_true(ok, tostring(res))
    assert.are.equal(1, res.affected_rows)
    assert.are.equal(("done after %d lines"):format(CHUNKS * LINES), blobs(db, tbl)[1][2])
    local after = helpers.collected_rss_kb()
    assert.are.equal(CHUNKS // 50, samples)
    -- Under AddressSanitizer freed memory sits in a quarantine of up to
    -- 256 MiB by design, so RSS says nothing there; the data is still checked.
    if os.getenv("MYLUA_SANITIZE") ~= "1" then
      assert.is_true(peak - before < 64 * 1024, ("peak RSS grew by %d KiB"):format(peak - before))
      assert.is_true(after - before < 16 * 1024, ("RSS grew by %d KiB"):format(after - before))
    end
  end)
end)
