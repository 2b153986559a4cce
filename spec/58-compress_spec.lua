-- Protocol compression.  The layer itself is tested from byte literals by
-- spec/support/test_compress.c (built as test-compress; each line it prints
-- is a test here).  Against the sandbox MariaDB, which offers zlib
-- (CLIENT_COMPRESS): a compressed connection reads exactly what an
-- uncompressed one reads -- every type, a million-row stream, values over
-- 16 MiB both ways, several results -- and the server sees fewer bytes.
-- zstd, which only MySQL 8.0.18+ speaks, and broken frames are tested
-- against the scripted peer spec/support/zpeer.py.

local mylua = require "mylua"
local helpers = require "helpers"

local raises = helpers.raises
local null = mylua.null
local MiB = 1024 * 1024

local function scalar(db, sql, ...)
  return db:query(sql, ...):row(1, "a")[1]
end

local function status(db, name)
  return db:query("SHOW SESSION STATUS LIKE '" .. name .. "'"):row(1, "a")[2]
end

-- A value as a comparable string: its Lua type and its exact value.
local function show(v)
  if v == null then return "NULL" end
  local kind = math.type(v)
  if kind == "float" then return ("float %a"):format(v) end
  if kind == "integer" then return "integer " .. v end
  return "string " .. v
end

-- Short enough for a failure message.
local function brief(s)
  if #s > 80 then return ("%s... (%d bytes)"):format(s:sub(1, 60), #s) end
  return s
end

-- Every row of `res` (all its values) as shown strings.
local function all_rows(res)
  local rows = {}
  for row in res:rows("a") do
    local shown = {}
    for i = 1, #res.columns do shown[i] = show(row[i]) end
    rows[#rows + 1] = shown
  end
  return rows
end

local function same_rows(plain, packed, columns)
  assert.equal(#plain, #packed, "row counts differ")
  for r = 1, #plain do
    for c = 1, #columns do
      local a, b = plain[r][c], packed[r][c]
      if a ~= b then
        error(("row %d, column %s: uncompressed %s, compressed %s"):format(
          r, columns[c].name, brief(a), brief(b)), 2)
      end
    end
  end
end

describe("the compressed protocol layer", function()
  for _, case in ipairs(helpers.c_cases("test-compress", 40)) do it(case.name, case.check) end
end)

describe("zlib against the server", function()
  local plain, packed

  setup(function()
    plain = helpers.connect_big{ max_packet = 64 * MiB }
    packed = helpers.connect_big{ compress = true, max_packet = 64 * MiB }
    for _, db in ipairs{ plain, packed } do
      db:query("SET SESSION sql_mode = 'STRICT_ALL_TABLES'")
      db:query("SET SESSION time_zone = '+00:00'")
    end
  end)

  teardown(function()
    if plain then plain:close() end
    if packed then packed:close() end
  end)

  it("is in use when asked for, and the server says so", function()
    assert.equal("zlib", packed.compression)
    assert.equal("ON", status(packed, "Compression"))
    assert.is_nil(plain.compression)
    assert.equal("OFF", status(plain, "Compression"))
  end)

  it("sends the server fewer bytes for a compressible result", function()
    local function sent(db)
      local before = tonumber(status(db, "Bytes_sent"))
      assert.equal(3 * 349526, #scalar(db, "SELECT REPEAT('abc', 349526) AS v"))
      return tonumber(status(db, "Bytes_sent")) - before
    end
    local p, z = sent(plain), sent(packed)
    assert.is_true(p > MiB, "uncompressed: " .. p .. " bytes")
    assert.is_true(z < p / 20, ("compressed %d bytes, uncompressed %d"):format(z, p))
  end)

  -- One table with a column of every type the type specs cover, 300 rows
  -- of varied values (NULLs scattered over every column), some large.
  local columns = {
    { "TINYINT", "(seq % 256) - 128" },
    { "TINYINT UNSIGNED", "seq % 256" },
    { "SMALLINT", "(seq * 257) % 65536 - 32768" },
    { "SMALLINT UNSIGNED", "(seq * 257) % 65536" },
    { "MEDIUMINT", "(seq * 65537) % 16777216 - 8388608" },
    { "MEDIUMINT UNSIGNED", "(seq * 65537) % 16777216" },
    { "INT", "(seq * 2654435761) % 4294967296 - 2147483648" },
    { "INT UNSIGNED", "(seq * 2654435761) % 4294967296" },
    { "BIGINT", "CASE seq WHEN 1 THEN -9223372036854775808 WHEN 2 THEN 9223372036854775807 "
      .. "ELSE seq * 1000000007 - 5000000000000 END" },
    { "BIGINT UNSIGNED", "CASE seq WHEN 1 THEN 18446744073709551615 WHEN 2 THEN 9223372036854775808 "
      .. "ELSE seq * 1000000007 END" },
    { "YEAR", "1901 + seq % 255" },
    { "FLOAT", "seq / 7" },
    { "DOUBLE", "CASE seq WHEN 3 THEN 1.7976931348623157e308 WHEN 4 THEN 2.2250738585072014e-308 "
      .. "WHEN 5 THEN -0.0 ELSE seq * PI() * 1e10 END" },
    { "DECIMAL(65,30)", "CONCAT('-', seq, '12345678901234567890.', LPAD(seq, 30, '9'))" },
    { "DATE", "'2000-01-01' + INTERVAL seq * 17 DAY" },
    { "TIME(6)", "SEC_TO_TIME(seq * 3607 - 400000 + seq / 1000000)" },
    { "DATETIME(6)", "'1970-01-01' + INTERVAL seq * 86399123 SECOND + INTERVAL seq MICROSECOND" },
    { "TIMESTAMP(6)", "FROM_UNIXTIME(seq * 7000000 + 1) + INTERVAL seq MICROSECOND" },
    { "BIT(1)", "seq % 2" },
    { "BIT(12)", "seq % 4096" },
    { "BIT(64)", "IF(seq = 1, 18446744073709551615, seq * seq * seq * seq * seq)" },
    { "CHAR(10)", "LEFT(MD5(seq), 10 - seq % 5)" },
    { "VARCHAR(100)", "CONCAT(REPEAT(' ', seq % 3), 'v', seq, REPEAT(' ', seq % 4))" },
    { "VARCHAR(50) CHARACTER SET utf8mb4", "CONCAT(_utf8mb4 0xF09F9880, ' ', seq, ' ', _utf8mb4 0xC3A9)" },
    { "TINYTEXT", "REPEAT('t', seq % 255)" },
    { "TEXT", "REPEAT(CONCAT('text', seq), seq % 50)" },
    { "MEDIUMTEXT", "REPEAT('m', seq * 100)" },
    { "LONGTEXT", "IF(seq % 50 = 0, REPEAT(CONCAT('L', seq), 40000), 'short')" },
    { "ENUM('a','b')", "ELT(1 + seq % 2, 'a', 'b')" },
    { "SET('x','y')", "ELT(1 + seq % 4, '', 'x', 'y', 'x,y')" },
    { "JSON", "CONCAT('{\"k\": ', seq, ', \"s\": \"', REPEAT('j', seq % 10), '\"}')" },
    { "BINARY(8)", "UNHEX(LPAD(HEX(seq), 4, '0'))" },
    { "VARBINARY(300)", "CONCAT(UNHEX(SHA2(seq, 512)), UNHEX(SHA2(seq + 1, 512)))" },
    { "TINYBLOB", "UNHEX(MD5(seq))" },
    { "BLOB", "REPEAT(UNHEX(SHA2(seq, 256)), seq % 100)" },
    { "MEDIUMBLOB", "REPEAT(UNHEX(SHA2(seq, 512)), seq * 5)" },
    { "LONGBLOB", "IF(seq % 100 = 7, REPEAT(UNHEX(SHA2(seq, 512)), 40000), UNHEX('00FF'))" },
    { "UUID", "CONCAT(LPAD(HEX(seq), 8, '0'), '-0000-1000-8000-', LPAD(HEX(seq * 977), 12, '0'))" },
    { "INET6", "CONCAT('2001:db8::', HEX(seq))" },
    { "POINT", "POINT(seq, -seq / 3)" },
  }
  local ROWS = 300

  it("reads every value of every type as an uncompressed connection does", function()
    local t = helpers.unique_table()
    local defs, names, exprs = {}, {}, {}
    for i, col in ipairs(columns) do
      defs[i] = ("c%d %s NULL"):format(i, col[1])
      names[i] = "c" .. i
      exprs[i] = ("IF((seq + %d) %% 11 = 0, NULL, %s)"):format(i, col[2])
    end
    plain:query(("CREATE TABLE %s (id INT PRIMARY KEY, %s)"):format(t, table.concat(defs, ", ")))
    local ok, err = pcall(function()
      -- the rows go in through the compressed connection
      packed:query(("INSERT INTO %s (id, %s) SELECT seq, %s FROM (SELECT CAST(seq AS SIGNED) AS seq FROM seq_1_to_%d) AS s"):format(
        t, table.concat(names, ", "), table.concat(exprs, ", "), ROWS))
      local sql = "SELECT * FROM " .. t .. " ORDER BY id"
      local res_plain, res_packed = plain:query(sql), packed:query(sql)
      assert.equal(ROWS, #res_plain)
      assert.equal(#columns + 1, #res_packed.columns)
      for i, col in ipairs(res_plain.columns) do
        assert.equal(col.name, res_packed.columns[i].name)
        assert.equal(col.type, res_packed.columns[i].type)
      end
      local a, b = all_rows(res_plain), all_rows(res_packed)
      same_rows(a, b, res_plain.columns)
      -- the table is what the type specs expect: a few spot checks
      assert.equal("integer -9223372036854775808", a[1][10])
      assert.equal("string 9223372036854775808", a[2][11])
      assert.equal("NULL", a[10][2]) -- (10 + 1) % 11 == 0
      assert.equal(40000 * 64, #b[107][38] - #"string ")
    end)
    plain:query("DROP TABLE IF EXISTS " .. t)
    if not ok then error(err, 0) end
  end)

  it("streams a million rows exactly as an uncompressed connection does", function()
    -- Both connections stream the same rows in step: every value is
    -- compared as it arrives (its Lua type too), and the rows counted.
    local sql = "SELECT seq, CONCAT('row-', seq), seq * 0.5e0, IF(seq % 10 = 0, NULL, MD5(seq)) "
      .. "FROM seq_1_to_1000000"
    local a, b = plain:cursor{ stream = true }, packed:cursor{ stream = true }
    a:execute(sql)
    b:execute(sql)
    local ra, rb, rows, nulls = {}, {}, 0, 0
    while true do
      local got_a, got_b = a:fetch(ra, "a"), b:fetch(rb, "a")
      if not got_a or not got_b then
        assert.is_true(got_a == got_b, "one stream ended before the other")
        break
      end
      rows = rows + 1
      for i = 1, 4 do
        local va, vb = ra[i], rb[i]
        if va ~= vb or math.type(va) ~= math.type(vb) then
          error(("row %d, column %d: uncompressed %s, compressed %s"):format(rows, i, show(va), show(vb)))
        end
      end
      assert(ra[1] == rows and rb[2] == "row-" .. rows, "rows out of order")
      if rb[4] == null then nulls = nulls + 1 end
    end
    a:close()
    b:close()
    assert.equal(1000000, rows)
    assert.equal(100000, nulls)
  end)

  describe("values over 16 MiB", function()
    local t

    setup(function()
      t = helpers.unique_table()
      plain:query("CREATE TABLE " .. t .. " (id INT PRIMARY KEY, b LONGBLOB)")
    end)

    teardown(function()
      plain:query("DROP TABLE IF EXISTS " .. t)
    end)

    -- 64 KiB of noise repeated: zlib's window is 32 KiB, so this does not
    -- compress (stored frames); the all-bytes run after it does.
    local function big_value()
      local parts, x = {}, 12345
      for i = 1, 8192 do
        x = (x * 6364136223846793005 + 1442695040888963407) & 0xFFFFFFFFFFFFFFFF
        parts[i] = string.pack("<i8", x)
      end
      local noise = table.concat(parts)
      return noise:rep(9 * 16) .. helpers.all_bytes():rep(8 * 4096) .. "end"
    end

    it("go to the server and come back byte for byte, both ways", function()
      local data = big_value()
      assert.is_true(#data > 17 * MiB)
      assert.equal(1, packed:query("INSERT INTO " .. t .. " (id, b) VALUES (1, ?)", data).affected_rows)
      assert.equal(#data, scalar(plain, "SELECT LENGTH(b) FROM " .. t .. " WHERE id = 1"))
      assert.equal(scalar(plain, "SELECT MD5(?)", data),
        scalar(plain, "SELECT MD5(b) FROM " .. t .. " WHERE id = 1"))
      local back = scalar(packed, "SELECT b FROM " .. t .. " WHERE id = 1")
      assert.is_true(back == data, "the value read back compressed differs")
      assert.is_true(scalar(plain, "SELECT b FROM " .. t .. " WHERE id = 1") == back)
    end)

    it("computed by the server, with a value after it", function()
      local res = packed:query("SELECT REPEAT('x', 17 * 1024 * 1024) AS big, 'after' AS tail")
      local row = res:row(1)
      assert.equal(17 * MiB, #row.big)
      assert.is_true(row.big == ("x"):rep(17 * MiB))
      assert.equal("after", row.tail)
    end)

    it("a row of exactly 0xFFFFFF bytes, then another query", function()
      local n = 0xFFFFFF - 4
      local v = scalar(packed, "SELECT REPEAT('y', " .. n .. ")")
      assert.equal(n, #v)
      assert.equal(8, scalar(packed, "SELECT 8"))
    end)
  end)

  it("reads several results of one query as an uncompressed connection does", function()
    local sql = "SELECT 1 AS a, 'one' AS b; SELECT REPEAT('x', 100000) AS c; DO 1; "
      .. "SELECT seq, SHA2(seq, 256) FROM seq_1_to_2000; SELECT NULL AS n"
    local function results(db)
      local out, res = {}, db:query(sql)
      while res do
        if res.columns then out[#out + 1] = all_rows(res)
        else out[#out + 1] = { { "affected " .. tostring(res.affected_rows) } } end
        res = res:next_result()
      end
      return out
    end
    local a, b = results(plain), results(packed)
    assert.equal(5, #a)
    assert.equal(#a, #b)
    for i = 1, #a do
      assert.equal(#a[i], #b[i])
      for r = 1, #a[i] do assert.same(a[i][r], b[i][r]) end
    end
    assert.equal(2000, #b[4])
  end)

  it("keeps working after an error and across commands", function()
    raises(1146, packed.query, packed, "SELECT * FROM no_such_table_here")
    assert.equal(2, scalar(packed, "SELECT 2"))
    packed:ping()
    packed:select_db(helpers.params().database)
    assert.equal("zlib", packed.compression)
    assert.equal(3, scalar(packed, "SELECT ?", 3))
  end)
end)

describe("a compressed stream from the server damaged on the way", function()
  local fault = require "mylua_fault"

  -- One byte of the compressed response flipped (by a fault layer under
  -- the compression): an error, never a wrong value, and the connection
  -- is closed.  The response is about 130 KB of compressed frames.
  for _, offset in ipairs{ 30000, 60000, 90000 } do
    it(("is a clear error (byte %d flipped)"):format(offset), function()
      local opts = helpers.params{ compress = true, read_timeout = 2 }
      opts.transport = fault.opener{ corrupt_at = offset }
      local db = mylua.connect(opts)
      assert.equal("zlib", db.compression)
      local err = raises(2027, db.query, db, "SELECT SHA2(seq, 512) FROM seq_1_to_2000")
      assert.matches("Malformed packet (compressed frame: ", err.message, 1, true)
      raises(2006, db.query, db, "SELECT 1")
      db:close()
    end)
  end
end)

describe("choosing compression", function()
  it("takes compression_level 1 to 9 for zlib", function()
    for _, level in ipairs{ 1, 9 } do
      local db = helpers.connect{ compress = true, compression_level = level }
      assert.equal("zlib", db.compression)
      assert.equal(("z"):rep(5000), scalar(db, "SELECT REPEAT('z', 5000)"))
      db:close()
    end
  end)

  it("uses zlib over the Unix socket too", function()
    local db = mylua.connect(helpers.socket_params{ compress = true })
    assert.equal("zlib", db.compression)
    assert.equal("ON", status(db, "Compression"))
    db:close()
  end)

  it("follows compression_algorithms: the first one the server offers", function()
    local db = helpers.connect{ compression_algorithms = "zstd,zlib" }
    assert.equal("zlib", db.compression) -- MariaDB offers no zstd
    assert.equal("ON", status(db, "Compression"))
    db:close()
  end)

  it("falls back to no compression when \"uncompressed\" is listed", function()
    local db = helpers.connect{ compression_algorithms = "zstd,uncompressed" }
    assert.is_nil(db.compression)
    assert.equal("OFF", status(db, "Compression"))
    db:close()
  end)

  it("refuses a server that offers none of a list without \"uncompressed\"", function()
    local err = raises(2066, helpers.connect, { compression_algorithms = "zstd" })
    assert.matches("the server offers no zstd compression", err.message, 1, true)
  end)

  it("refuses an unknown algorithm", function()
    local err = raises(2066, helpers.connect, { compression_algorithms = "zlib,lz4" })
    assert.matches("unknown algorithm 'lz4'", err.message, 1, true)
  end)

  it("\"uncompressed\" alone overrides compress = true", function()
    local db = helpers.connect{ compress = true, compression_algorithms = "uncompressed" }
    assert.is_nil(db.compression)
    db:close()
  end)

  it("compress = false is no compression", function()
    local db = helpers.connect{ compress = false }
    assert.is_nil(db.compression)
    assert.equal("OFF", status(db, "Compression"))
    db:close()
  end)

  it("a closed connection has no compression to tell", function()
    local db = helpers.connect{ compress = true }
    db:close()
    helpers.raises_string("closed", function() return db.compression end)
  end)
end)

-- zstd (MySQL 8.0.18+) and broken frames, against spec/support/zpeer.py: a
-- peer that speaks the compressed protocol as a server does (frames of its
-- 16 KiB buffer, packets renumbered at each frame) and prints what it saw.
describe("a scripted peer speaking the compressed protocol", function()
  local peer = require "support.peer"

  after_each(peer.stop_all)

  local function start(scenario)
    return peer.start(scenario, "zpeer.py")
  end

  local function options(p, extra)
    local o = {
      host = "127.0.0.1", port = p.port, user = "u", password = "p",
      connect_timeout = 2, read_timeout = 2,
    }
    for k, v in pairs(extra or {}) do o[k] = v end
    return o
  end

  local function value(db, sql)
    return db:query(sql):row(1, "a")[1]
  end

  local function assert_closed_after(db, p, cause)
    local err = raises(2006, db.query, db, "SELECT 1")
    assert.matches(cause, err.message, 1, true)
    assert.equal("1", p:value("client_closed"))
    db:close()
  end

  it("runs a zstd session byte for byte", function()
    local p = start("session")
    local db = mylua.connect(options(p, { compression_algorithms = "zstd" }))
    assert.equal("zstd", db.compression)
    assert.equal("zlib,zstd", p:value("offered"))
    assert.equal("0", p:value("caps_compress")) -- one flag only: no choice left to the server
    assert.equal("1", p:value("caps_zstd"))
    assert.equal("3", p:value("zstd_level")) -- the default, as the last byte of the response
    assert.equal("ok", p:value("auth"))

    -- a query worth compressing goes in a compressed frame, sequence 0
    local sql = "SELECT '" .. ("compress me "):rep(10) .. "'"
    assert.equal("echo:" .. sql, value(db, sql))
    local seq, clen, ulen = p:value("client_frame"):match("^(%d+),(%d+),(%d+)$")
    assert.equal("0", seq)
    assert.equal(4 + 1 + #sql, tonumber(ulen))
    assert.is_true(tonumber(clen) < tonumber(ulen))
    assert.equal(sql, p:value("query"))

    -- a short one goes stored: the whole frame, byte for byte
    assert.equal("echo:SELECT 1", value(db, "SELECT 1"))
    assert.equal("0D00000000000009000000" .. "03" .. helpers.hex("SELECT 1"), p:value("client_frame_hex"))
    assert.equal("SELECT 1", p:value("query"))

    -- 200 rows of 1 KiB come in many frames, packets renumbered in each
    local res = db:query("ROWS 200")
    assert.equal(200, #res)
    local i = 0
    for v in res:rows("v") do
      i = i + 1
      assert.equal(("row-%d-"):format(i) .. ("abcdefghij"):rep(100), v)
    end
    assert.equal(200, i)
    assert.equal("ROWS 200", p:value("query"))

    db:ping()
    assert.equal("05000000000000010000000E", p:value("client_frame_hex"))
    assert.equal("1", p:value("ping"))
    db:close()
    assert.equal("050000000000000100000001", p:value("client_frame_hex"))
    assert.equal("1", p:value("quit"))
  end)

  it("sends zstd_compression_level as the level byte", function()
    local p = start("zstd_only")
    local db = mylua.connect(options(p, { compression_algorithms = "zstd", zstd_compression_level = 7 }))
    assert.equal("7", p:value("zstd_level"))
    assert.equal("echo:SELECT 7", value(db, "SELECT 7"))
    db:close()
  end)

  it("speaks zlib with a server that offers both, when zlib comes first", function()
    local p = start("session")
    local db = mylua.connect(options(p, { compression_algorithms = "zlib,zstd" }))
    assert.equal("zlib", db.compression)
    assert.equal("1", p:value("caps_compress"))
    assert.equal("0", p:value("caps_zstd"))
    local res = db:query("ROWS 50")
    assert.equal(50, #res)
    assert.equal("row-50-" .. ("abcdefghij"):rep(100), res:row(50, "a")[1])
    db:close()
    assert.equal("1", p:value("quit"))
  end)

  it("falls back to no compression when the server lacks zlib and compress = true", function()
    local p = start("zstd_only")
    local db = mylua.connect(options(p, { compress = true }))
    assert.is_nil(db.compression)
    assert.equal("0", p:value("caps_compress"))
    assert.equal("0", p:value("caps_zstd"))
    assert.equal("echo:SELECT 2", value(db, "SELECT 2"))
    db:close()
  end)

  it("refuses a server without zstd when zstd is demanded", function()
    local p = start("zlib_only")
    local err = raises(2066, mylua.connect, options(p, { compression_algorithms = "zstd" }))
    assert.matches("the server offers no zstd compression", err.message, 1, true)
  end)

  it("a corrupt zstd frame is 2027 and closes the connection", function()
    local p = start("zstd_corrupt")
    local db = mylua.connect(options(p, { compression_algorithms = "zstd" }))
    local err = raises(2027, db.query, db, "SELECT 1")
    assert.matches("Malformed packet (compressed frame: corrupt zstd data", err.message, 1, true)
    assert_closed_after(db, p, "corrupt zstd data")
  end)

  it("a frame declaring an absurd length is 2027 at once, before any allocation", function()
    local p = start("zstd_absurd")
    local db = mylua.connect(options(p, { compression_algorithms = "zstd", max_packet = MiB }))
    local before = helpers.collected_rss_kb()
    -- the peer sends the header only: waiting for the body would time out (2013)
    local err, elapsed = raises(2027, db.query, db, "SELECT 1")
    assert.matches("more than max_packet allows", err.message, 1, true)
    assert.matches("16777215", err.message, 1, true)
    assert.is_true(elapsed < 1, "took " .. elapsed .. " s")
    assert.is_true(helpers.collected_rss_kb() - before < 4096, "memory grew")
    assert_closed_after(db, p, "more than max_packet allows")
  end)

  it("a frame inflating to a length other than declared is 2027", function()
    local p = start("zstd_wrong_length")
    local db = mylua.connect(options(p, { compression_algorithms = "zstd" }))
    local err = raises(2027, db.query, db, "SELECT 1")
    assert.matches("inflates to %d+ bytes, %d+ declared", err.message)
    assert_closed_after(db, p, "declared")
  end)

  it("a corrupt zlib frame is 2027 and closes the connection", function()
    local p = start("zlib_corrupt")
    local db = mylua.connect(options(p, { compress = true }))
    assert.equal("zlib", db.compression)
    local err = raises(2027, db.query, db, "SELECT 1")
    assert.matches("corrupt zlib data", err.message, 1, true)
    assert_closed_after(db, p, "corrupt zlib data")
  end)
end)
