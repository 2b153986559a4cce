-- Quoting and the `?` scanner against the real server: every tricky value
-- reads back byte-exactly whatever the sql_mode, also when the server's
-- NO_BACKSLASH_ESCAPES status flag (0x0200) is stale and says the opposite
-- of how the server parses; literals with a charset introducer compare and
-- collate as plain ones; `?` is found where the server runs the text and
-- nowhere else.

local helpers = require "helpers"
local mylua = require "mylua"

local NO_BACKSLASH_ESCAPES = 0x0200
local raises_string, hex = helpers.raises_string, helpers.hex

local function scalar(db, sql, ...)
  local row = db:query(sql, ...):row(1, "a")
  assert.is_not_nil(row, "no row: " .. sql)
  return row[1]
end

-- nil when `got` is `expected` byte for byte, else where they differ.
local function byte_diff(expected, got)
  if got == expected then return nil end
  if type(got) ~= "string" then return "expected a string, got " .. tostring(got) end
  for i = 1, math.min(#expected, #got) do
    if expected:byte(i) ~= got:byte(i) then
      return ("byte %d: 0x%02X, got 0x%02X"):format(i, expected:byte(i), got:byte(i))
    end
  end
  return ("lengths %d and %d"):format(#expected, #got)
end

-- Whether the server parses backslashes as escapes right now (asked
-- without placeholders, so the text goes as it is).
local function server_escapes(db)
  return scalar(db, [[SELECT LENGTH('\\')]]) == 1
end

local function flag(db)
  return db.status & NO_BACKSLASH_ESCAPES ~= 0
end

-- The values every mode must carry unchanged.
local function tricky_values()
  local v = {
    "", "\\", "'", "\\'", "''", "\\\\'", "'\\", "\\\\", "a\\", "\\0", "\\n", "\0", "\0'\\",
    "%", "_", "\\%", "\\_", "a%b_c", "\26", "\r", "\n", "\r\n", "\t", "\"", "\\\"", "`", "?", "'?'",
    "/*", "*/", "/*!", "-- ", "#", "it's", "O'Brien", "'; DROP TABLE x; -- ", [[\' OR 1=1 -- ]],
    [[\'' OR 1=1 -- ]], "\u{1F600}", "\u{20000}\\'", "caf\xC3\xA9", "\xC3\xA9\\", "\xFF", "\xFF'",
    "\xFF\\'", "\xC3", "\xC3'", "\xE4\xB8", "\xED\xA0\x80", "\xF4\x90\x80\x80", "\xC0\xAF",
    helpers.all_bytes(), helpers.all_bytes():reverse(), ("\\'"):rep(100),
  }
  for b = 0, 255 do v[#v + 1] = string.char(b) end
  return v
end

-- Valid UTF-8 (what a utf8mb4 column takes as text).
local function is_utf8(s)
  return utf8.len(s) ~= nil
end

local procedures_made = false

teardown(function()
  if procedures_made then
    local db = helpers.connect()
    db:query("DROP PROCEDURE IF EXISTS mylua_set_nbe")
    db:query("DROP PROCEDURE IF EXISTS mylua_clear_nbe")
    db:close()
  end
end)
local function make_procedures(db)
  if procedures_made then return end
  db:query("DROP PROCEDURE IF EXISTS mylua_set_nbe")
  db:query("CREATE PROCEDURE mylua_set_nbe() SET SESSION sql_mode = 'NO_BACKSLASH_ESCAPES'")
  db:query("DROP PROCEDURE IF EXISTS mylua_clear_nbe")
  db:query("CREATE PROCEDURE mylua_clear_nbe() SET SESSION sql_mode = ''")
  procedures_made = true
end

-- The ways the server can be: `setup` puts a fresh connection there,
-- `before` (when given) runs before every statement under test, `flag`
-- is what the status flag says then and `escapes` how the server parses.
local modes = {
  {
    name = "sql_mode without NO_BACKSLASH_ESCAPES",
    setup = function(db) db:query("SET SESSION sql_mode = 'STRICT_ALL_TABLES'") end,
    flag = false, escapes = true,
  },
  {
    name = "sql_mode with NO_BACKSLASH_ESCAPES",
    setup = function(db) db:query("SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_BACKSLASH_ESCAPES'") end,
    flag = true, escapes = false,
  },
  {
    name = "a stale flag after CALL (flag set, backslashes parsed)",
    setup = function(db)
      db:query("SET SESSION sql_mode = 'STRICT_ALL_TABLES'")
      db:query("CALL mylua_set_nbe()")
    end,
    flag = true, escapes = true,
  },
  {
    name = "a stale flag after CALL (flag clear, backslashes literal)",
    setup = function(db)
      db:query("SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_BACKSLASH_ESCAPES'")
      db:query("CALL mylua_clear_nbe()")
    end,
    flag = false, escapes = false,
  },
  {
    name = "a stale flag after SET STATEMENT (flag set, backslashes parsed)",
    setup = function(db) db:query("SET SESSION sql_mode = 'STRICT_ALL_TABLES'") end,
    before = function(db) db:query("SET STATEMENT sql_mode = 'NO_BACKSLASH_ESCAPES' FOR SELECT 1") end,
    flag = true, escapes = true,
  },
}

-- Connects and puts the connection in `mode`, checking that the server
-- really is there (so a stale case is stale, not a guess).
local function connect_in(mode, extra)
  local db = helpers.connect(extra)
  make_procedures(db)
  mode.setup(db)
  assert.equal(mode.escapes, server_escapes(db), mode.name .. ": how the server parses")
  if not mode.before then
    assert.equal(mode.flag, flag(db), mode.name .. ": the status flag")
  end
  return db
end

-- Runs db:query(...) in `mode`: the statement before it when the mode has
-- one, then a check that the flag says what the mode says.
local function query_in(mode, db, ...)
  if mode.before then mode.before(db) end
  assert.equal(mode.flag, flag(db), mode.name .. ": the status flag before the statement")
  return db:query(...)
end

describe("values", function()
  for _, mode in ipairs(modes) do
    describe("in " .. mode.name, function()
      local db, t

      setup(function()
        db = connect_in(mode)
        t = helpers.unique_table()
        db:query("CREATE TABLE " .. t .. " (id INT PRIMARY KEY, b LONGBLOB, s TEXT CHARACTER SET utf8mb4)")
      end)

      teardown(function()
        if db then
          db:query("DROP TABLE IF EXISTS " .. t)
          db:close()
        end
      end)

      it("round-trip byte-exactly through INSERT ... VALUES (?) and SELECT, and compare equal", function()
        local values = tricky_values()
        for id, v in ipairs(values) do
          local text = is_utf8(v) and v or nil
          query_in(mode, db, "INSERT INTO " .. t .. " (id, b, s) VALUES (?, ?, ?)", id, v, text)
          local row = query_in(mode, db, "SELECT b, s, ? = b AS eb, ? = s AS es FROM " .. t .. " WHERE id = ?",
            v, text, id):row(1)
          assert.is_not_nil(row, ("row %d missing"):format(id))
          assert.is_nil(byte_diff(v, row.b), ("BLOB round trip of %q"):format(v))
          assert.equal(1, row.eb, ("? = b for %q"):format(v))
          if text then
            assert.is_nil(byte_diff(v, row.s), ("TEXT round trip of %q"):format(v))
            assert.equal(1, row.es, ("? = s for %q"):format(v))
          else
            assert.equal(mylua.null, row.s)
          end
        end
        assert.equal(#values, scalar(db, "SELECT COUNT(*) FROM " .. t))
        -- the server still parses as the mode says: the case was what it claims
        assert.equal(mode.escapes, server_escapes(db))
      end)

      it("go through db:quote unchanged", function()
        for _, v in ipairs(tricky_values()) do
          local sql = "SELECT " .. db:quote(v) .. " AS v, " .. db:quote(v) .. " = CAST(? AS BINARY) AS same"
          local row = query_in(mode, db, sql, v):row(1)
          assert.is_nil(byte_diff(v, row.v), ("quote(%q)"):format(v))
          assert.equal(1, row.same)
        end
      end)

      it("cannot inject: only the matching rows come back", function()
        db:query("CREATE TEMPORARY TABLE secrets (owner VARCHAR(50), secret VARCHAR(50))")
        -- (the odd owner goes in as hex digits, so this step works on any quoting)
        db:query("INSERT INTO secrets VALUES ('alice', 'a1'), ('bob', 'b1'), (CONVERT(UNHEX(?) USING utf8mb4), 'odd')",
          hex([[\' OR 1=1 -- ]]))
        local function owners(v)
          local res = query_in(mode, db, "SELECT secret FROM secrets WHERE owner = ? ORDER BY secret", v)
          local got = {}
          for secret in res:rows("v") do got[#got + 1] = secret end
          return got
        end
        -- each value finds the row that holds exactly it, and no other
        assert.same({ "odd" }, owners([[\' OR 1=1 -- ]]))
        assert.same({}, owners([[alice\' OR 1=1 -- ]]))
        assert.same({}, owners([[\'' OR 1=1 -- ]]))
        assert.same({}, owners("' OR 1=1 -- "))
        assert.same({}, owners("alice' OR 'a' = 'a"))
        assert.same({ "a1" }, owners("alice"))
        local res = query_in(mode, db, "SELECT secret FROM secrets WHERE owner = " .. db:quote([[\' OR 1=1 -- ]]))
        assert.equal(1, #res)
        db:query("DROP TEMPORARY TABLE secrets")
      end)
    end)
  end
end)

-- Characters of two-byte charsets whose second byte is 0x5C (a backslash
-- in ASCII), lone lead bytes before a quote or a backslash, and the like.
local multibyte = {
  gbk = { char5c = "\xBF\x5C", char60 = "\x81\x60", other = "\xC4\xE3", lead = "\xBF" },
  big5 = { char5c = "\xA5\x5C", char60 = "\xA4\x60", other = "\xA4\xA4", lead = "\xA5" },
  sjis = { char5c = "\x95\x5C", char60 = "\x83\x60", other = "\x82\xA0", lead = "\x95" },
  cp932 = { char5c = "\x83\x5C", char60 = "\x83\x60", other = "\x82\xA0", lead = "\x83" },
}

describe("values in two-byte charsets", function()
  for _, cs in ipairs { "gbk", "big5", "sjis", "cp932" } do
    local m = multibyte[cs]
    -- { bytes, is it text in cs }
    local values = {
      { m.char5c, true }, { m.char5c .. "'", true }, { "'" .. m.char5c .. "'", true },
      { m.char5c .. "\\'", true }, { m.char5c .. "\\", true }, { m.char5c:rep(20), true },
      { m.char60 .. "'", true }, { m.other .. "\\'" .. m.other, true }, { "a" .. m.char5c .. "b", true },
      { m.lead, false }, { m.lead .. "'", false }, { m.lead .. "\\", false }, { m.lead .. "\\'", false },
      { m.lead .. "''", false }, { "'" .. m.lead, false }, { m.lead .. "'" .. m.char5c, false },
      { m.lead .. [[' OR 1=1 -- ]], false }, { m.lead .. [[\' OR 1=1 -- ]], false },
    }
    for _, mode in ipairs(modes) do
      it(("round-trip in %s, %s"):format(cs, mode.name), function()
        local db = connect_in(mode, { charset = cs })
        local t = helpers.unique_table()
        db:query(("CREATE TEMPORARY TABLE %s (id INT PRIMARY KEY, b BLOB, s VARCHAR(100) CHARACTER SET %s)")
          :format(t, cs))
        for id, case in ipairs(values) do
          local v, text = case[1], case[2]
          query_in(mode, db, "INSERT INTO " .. t .. " (id, b, s) VALUES (?, ?, ?)", id, v, text and v or nil)
          local row = query_in(mode, db, "SELECT HEX(b) AS hb, HEX(s) AS hs, ? = b AS eb, ? = s AS es FROM "
            .. t .. " WHERE id = ?", v, text and v or nil, id):row(1)
          assert.equal(hex(v), row.hb, ("%s: BLOB round trip of %s"):format(cs, hex(v)))
          assert.equal(1, row.eb)
          if text then
            assert.equal(hex(v), row.hs, ("%s: text round trip of %s"):format(cs, hex(v)))
            assert.equal(1, row.es)
          end
          assert.equal(hex(v), scalar(db, "SELECT HEX(" .. db:quote(v) .. ")"))
        end
        -- an injection attempt finds only its own row
        assert.equal(1, #query_in(mode, db, "SELECT id FROM " .. t .. " WHERE b = ?", m.lead .. [[\' OR 1=1 -- ]]))
        assert.equal(mode.escapes, server_escapes(db))
        db:close()
      end)
    end
  end
end)

describe("the client's idea of text", function()
  -- A value the client takes for text in the connection's charset goes
  -- with that charset's introducer, and the server must accept it as such.
  local function sent_as_text(db, v)
    local q = db:quote(v .. "\0") -- the NUL makes it the hex form
    return q:sub(1, 8) ~= "_binary "
  end

  for _, cs in ipairs { "utf8mb4", "utf8mb3", "big5", "gbk", "sjis", "cp932", "euckr", "ujis", "eucjpms", "latin1" } do
    it("matches the server's for every two-byte string in " .. cs, function()
      local db = helpers.connect { charset = cs }
      local bad = {}
      local res = db:query(("SELECT seq FROM seq_0_to_65535 WHERE HEX(CONVERT(UNHEX(LPAD(HEX(seq), 4, '0')) USING %s))"
        .. " <> LPAD(HEX(seq), 4, '0')"):format(cs))
      for seq in res:rows("v") do bad[seq] = true end
      local mismatches = {}
      for seq = 0, 65535 do
        local v = string.char(seq >> 8, seq & 0xFF)
        if sent_as_text(db, v) == (bad[seq] == true) and #mismatches < 10 then
          mismatches[#mismatches + 1] = hex(v)
        end
      end
      assert.same({}, mismatches)
      db:close()
    end)
  end

  it("matches the server's introducer check for longer characters", function()
    local cases = {
      utf8mb4 = { "\xE0\xA0\x80", "\xE0\x9F\xBF", "\xED\xA0\x80", "\xEF\xBF\xBF", "\xF0\x90\x80\x80",
        "\xF0\x8F\xBF\xBF", "\xF4\x8F\xBF\xBF", "\xF4\x90\x80\x80", "\xF5\x80\x80\x80", "\xE4\xB8" },
      utf8mb3 = { "\xE4\xB8\xAD", "\xF0\x9F\x98\x80", "\xED\xBF\xBF" },
      ujis = { "\x8F\xA1\xA1", "\x8F\xFE\xFE", "\x8F\xA1", "\x8F\xA0\xA1", "\x8E\xA1", "\x8E\xE0" },
      eucjpms = { "\x8F\xA1\xA1", "\x8F\xA1\x80", "\xA1\xA1\xA1" },
    }
    for cs, list in pairs(cases) do
      local db = helpers.connect { charset = cs }
      for _, v in ipairs(list) do
        local ok = pcall(db.query, db, ("SELECT _%s X'%s'"):format(cs, hex(v)))
        assert.equal(ok, sent_as_text(db, v), ("%s %s"):format(cs, hex(v)))
        -- and either way the bytes come back
        assert.equal(hex(v .. "\\"), scalar(db, "SELECT HEX(?)", v .. "\\"))
      end
      db:close()
    end
  end)
end)

describe("a value in hex form", function()
  local db, t

  setup(function()
    db = helpers.connect()
    t = helpers.unique_table()
    db:query("CREATE TABLE " .. t .. [[ (id INT PRIMARY KEY,
      s VARCHAR(50) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci,
      bin VARCHAR(50) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
      l VARCHAR(50) CHARACTER SET latin1)]])
    db:query("INSERT INTO " .. t .. [[ VALUES (1, 'Ab\\c%é', 'Ab\\c%é', 'Ab\\c%é'), (2, 'ab\\cxé', 'ab\\cxé', 'ab\\cxé'),
      (3, 'other', 'other', 'other')]])
  end)

  teardown(function()
    if db then
      db:query("DROP TABLE IF EXISTS " .. t)
      db:close()
    end
  end)

  local function ids(sql, ...)
    local got = {}
    for id in db:query(sql, ...):rows("v") do got[#got + 1] = id end
    return got
  end

  -- The same value written by hand as a plain literal for the default mode.
  local function plain(v)
    return "'" .. v:gsub("\\", "\\\\"):gsub("'", "''") .. "'"
  end

  it("compares, matches LIKE and collates as a plain literal", function()
    assert.is_true(server_escapes(db))
    local probes = { "ab\\c%é", "AB\\C%É", "Ab\\c%", "ab\\\\c%", "%\\c%", "ab\\_x%" }
    for _, v in ipairs(probes) do
      assert.equal("_utf8mb4 X'", db:quote(v):sub(1, 11))
      for _, where in ipairs { "s = %s", "bin = %s", "l = %s", "s LIKE %s", "bin LIKE %s", "l LIKE %s",
        "s LIKE CONCAT(%s, '%%')", "s > %s" } do
        local base = "SELECT id FROM " .. t .. " WHERE "
        assert.same(ids(base .. where:format(plain(v)) .. " ORDER BY id"),
          ids(base .. where:format("?") .. " ORDER BY id", v), where .. " with " .. v)
      end
      local row = db:query("SELECT COLLATION(?) AS c, COERCIBILITY(?) AS k, CHARSET(?) AS cs", v, v, v):row(1)
      local want = db:query(("SELECT COLLATION(%s) AS c, COERCIBILITY(%s) AS k, CHARSET(%s) AS cs")
        :format(plain(v), plain(v), plain(v))):row(1)
      assert.same(want, row)
    end
  end)

  it("inserts as a plain literal would, converting to the column's charset", function()
    db:query("INSERT INTO " .. t .. " (id, s, bin, l) VALUES (10, ?, ?, ?)", "x\\é", "x\\é", "x\\é")
    local row = db:query("SELECT HEX(s) AS s, HEX(l) AS l FROM " .. t .. " WHERE id = 10"):row(1)
    assert.equal("785CC3A9", row.s)
    assert.equal("785CE9", row.l)
  end)
end)

describe("the ? scanner", function()
  local db

  setup(function()
    db = helpers.connect()
  end)

  teardown(function()
    if db then db:close() end
  end)

  it("fills ? inside executable comments", function()
    assert.equal(3, scalar(db, "SELECT 1 /*! + ? */", 2))
    assert.equal(3, scalar(db, "SELECT 1 /*!50001 + ? */", 2))
    assert.equal(3, scalar(db, "SELECT 1 /*M! + ? */", 2))
    assert.equal(3, scalar(db, "SELECT 1 /*M!100100 + ? */", 2))
    -- a regular comment inside one, then its own end
    assert.same({ 1, 5, 7 }, db:query("SELECT 1 /*! , ? /* ? */ */, ?", 5, 7):row(1, "a"))
    -- a string inside one may hold what would end it
    assert.same({ "*/", 4 }, db:query("SELECT '*/' /*! , ? */", 4):row(1, "a"))
  end)

  it("fills ? in a versioned comment the server skips, where it stays harmless", function()
    -- MariaDB skips /*!5xxxx for MySQL 5.7+ and any newer version
    for _, v in ipairs { "*/ , 1 AS injected", "/* x", "x */ UNION SELECT 1 -- " } do
      local res = db:query("SELECT 1 AS a /*!99999 , ? */ /*M!999999 , ? */", v, v)
      assert.equal(1, #res.columns)
      assert.equal(1, res:row(1).a)
    end
  end)

  it("leaves ? in regular comments alone", function()
    assert.equal(3, scalar(db, "SELECT 1 /* ? */ + ?", 2))
    assert.equal(3, scalar(db, "SELECT 1 /* /*! ? */ + ?", 2))
    assert.equal(3, scalar(db, "SELECT 1 /*/ ? */ + ?", 2))
    assert.equal(3, scalar(db, "SELECT 1 # ?\n + ?", 2))
  end)

  it("takes -- before a space, tab, CR, LF, other control byte or the end for a comment", function()
    for _, after in ipairs { " ", "\t", "\r", "\v", "\f", "\1", "\127" } do
      local sql = "SELECT 1 --" .. after .. "?\n + ?"
      assert.equal(3, scalar(db, sql, 2), ("-- followed by 0x%02X"):format(after:byte()))
    end
    assert.equal(3, scalar(db, "SELECT 1 --\n + ?", 2))
    assert.equal(2, scalar(db, "SELECT ? --", 2))
    -- and not otherwise
    assert.equal(7, scalar(db, "SELECT 5--?", 2))
    assert.equal(3, scalar(db, "SELECT 1 -?", -2))
  end)

  it("leaves ? in quotes alone and ends backticks at the next backtick", function()
    local res = db:query("SELECT '?' AS q, \"?\" AS dq, 'b''?' AS d, ? AS `a\\`, ? AS `c``?`", 1, 2)
    local row = res:row(1)
    assert.equal("?", row.q)
    assert.equal("?", row.dq)
    assert.equal("b'?", row.d)
    assert.equal("a\\", res.columns[4].name)
    assert.equal(1, row["a\\"])
    assert.equal("c`?", res.columns[5].name)
    assert.equal(2, row["c`?"])
  end)

  it("steps over two-byte characters whose second byte looks like a quote or backslash", function()
    local g = helpers.connect { charset = "gbk" }
    -- 0x81 0x60 is one GBK character: its 0x60 is no backtick
    local res = g:query("SELECT ? AS `\x81\x60`, ? AS b", 1, 2)
    assert.equal("\x81\x60", res.columns[1].name)
    assert.same({ 1, 2 }, res:row(1, "a"))
    -- 0xBF 0x5C is one character: its 0x5C escapes nothing
    assert.same({ "\xBF\x5C", 3 }, g:query("SELECT '\xBF\x5C', ?", 3):row(1, "a"))
    g:close()
  end)

  it("refuses text the server could read in more than one way", function()
    -- with a stale flag the old scanner put the value inside the string
    for _, sql in ipairs { "SELECT 'it\\'s ok?' AND ?", "SELECT \"a\\\"?\", ?", "SELECT 1 --\xA0?\n, ?" } do
      raises_string("cannot place the arguments safely", db.query, db, sql, 1)
    end
    -- without arguments the text goes as it is
    assert.equal("it's ok?", scalar(db, "SELECT 'it\\'s ok?'"))
    -- a backslash that reads the same either way is fine
    assert.same({ "C:\\", 1 }, db:query("SELECT 'C:\\\\', ?", 1):row(1, "a"))
  end)

  it("raises its own message for too few and too many arguments", function()
    raises_string("too few arguments for the placeholders in the query (1 given)", db.query, db, "SELECT ?, ?", 1)
    raises_string("too many arguments for the placeholders in the query (1 placeholders, 2 given)",
      db.query, db, "SELECT ?", 1, 2)
    raises_string("too many arguments for the placeholders in the query (0 placeholders, 1 given)",
      db.query, db, "SELECT '?'", 1)
    assert.equal(3, scalar(db, "SELECT 3"))
  end)
end)

describe("db:escape", function()
  it("follows the flag, so it is only right when the flag is", function()
    local db = helpers.connect()
    assert.equal("it\\'s", db:escape("it's"))
    db:query("SET SESSION sql_mode = 'NO_BACKSLASH_ESCAPES'")
    assert.equal("it''s", db:escape("it's"))
    -- db:quote does not change with the mode
    assert.equal("'it''s'", db:quote("it's"))
    assert.equal("_utf8mb4 X'5C'", db:quote("\\"))
    db:close()
  end)
end)
