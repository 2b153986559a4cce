-- The example scripts of scripts/examples/, run as a user runs them:
-- through the host program, connected by its command line, on prepared
-- data in the sandbox servers.  Their output is checked against what the
-- server says, their effects against the tables, and bad usage exits 2.

local helpers = require "helpers"

local p = helpers.params()
local CONN = { "--no-defaults", "--host=" .. p.host, "--port=" .. p.port, "--user=" .. p.user,
               "--password=" .. p.password, "--database=" .. p.database }

-- Runs scripts/examples/NAME with the sandbox's connection options and args.
local function example(name, ...)
  return helpers.run_host(helpers.append(CONN, "scripts/examples/" .. name, ...))
end

-- The script refuses these arguments: exit 2, nothing on stdout, the
-- message and the usage on stderr.
local function assert_usage(name, args, words)
  local out, err, code = example(name, table.unpack(args))
  assert.are.equal(2, code, err)
  assert.are.equal("", out)
  assert.truthy(err:find(words, 1, true), err)
  assert.truthy(err:find("\nusage: mylua [connection options] " .. name, 1, true), err)
end

local function lines(text)
  local t = {}
  for line in text:gmatch("[^\n]+") do t[#t + 1] = line end
  return t
end

local function fields(line)
  local t = {}
  for f in (line .. "\t"):gmatch("([^\t]*)\t") do t[#t + 1] = f end
  return t
end

describe("scripts/examples/table_sizes.lua", function()
  local db, name, hist

  setup(function()
    db = helpers.connect()
    name = "spec91_sizes_" .. helpers.unique_table()
    hist = "spec91_hist_" .. helpers.unique_table()
    db:query(("CREATE TABLE %s (id INT PRIMARY KEY, payload VARCHAR(200), KEY (payload))"):format(name))
  end)

  teardown(function()
    db:query(("DROP TABLE IF EXISTS %s, %s"):format(name, hist))
    db:close()
  end)

  local function fill(from, to)
    for i = from, to, 50 do
      local values = {}
      for k = i, math.min(i + 49, to) do values[#values + 1] = ("(%d, REPEAT('x', 150))"):format(k) end
      db:query(("INSERT INTO %s VALUES %s"):format(name, table.concat(values, ", ")))
    end
    db:query("ANALYZE TABLE " .. name)
  end

  -- What information_schema says now: rows, data, index of the table.
  local function sizes()
    local row = db:query([[SELECT TABLE_ROWS, DATA_LENGTH, INDEX_LENGTH FROM information_schema.TABLES
      WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?]], name):row(1, "a")
    return row[1], row[2], row[3]
  end

  -- The script's --batch output: the header line, then the table's row
  -- (fields) from the first list and the schema's row from the second.
  local function parse(out)
    local all = lines(out)
    local mine, schema, headers = nil, nil, {}
    for _, line in ipairs(all) do
      local f = fields(line)
      if f[1] == "schema" then headers[#headers + 1] = f end
      if f[1] == p.database and f[2] == name then mine = f end
      if #headers == 2 and f[1] == p.database then schema = f end
    end
    return all[1], headers, mine, schema
  end

  it("prints the rows, data and index bytes of each table and schema as information_schema has them", function()
    fill(1, 400)
    local out, err, code = example("table_sizes.lua", "--schema", p.database, "--batch")
    assert.are.equal("", err)
    assert.are.equal(0, code)
    local title, headers, mine, schema = parse(out)
    assert.truthy(title:find("^table sizes at %d%d%d%d%-%d%d%-%d%d %d%d:%d%d:%d%d$"), title)
    assert.are.same({ "schema", "table", "rows", "data", "index", "total" }, headers[1])
    assert.are.same({ "schema", "tables", "rows", "data", "index", "total" }, headers[2])
    local rows, data, index = sizes()
    assert.are.equal(400, rows)
    assert.truthy(data > 0 and index > 0)
    assert.are.same({ p.database, name, tostring(rows), tostring(data), tostring(index),
      tostring(data + index) }, mine)
    local sum = db:query([[SELECT COUNT(*), SUM(TABLE_ROWS), SUM(DATA_LENGTH), SUM(INDEX_LENGTH)
      FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE']]):row(1, "a")
    assert.are.same({ p.database, tostring(sum[1]), tostring(sum[2]), tostring(sum[3]), tostring(sum[4]),
      tostring(math.tointeger(sum[3] + sum[4])) }, schema)
  end)

  it("prints aligned tables by default, and --top limits the first list", function()
    local out, err, code = example("table_sizes.lua", "--schema", p.database, "--top", "1")
    assert.are.equal("", err)
    assert.are.equal(0, code)
    local boxes = select(2, out:gsub("\n%+%-", ""))
    assert.are.equal(6, boxes, out) -- three rules around each of the two tables
    assert.truthy(out:find("| schema +| table +| +rows |", 1, false), out)
    local first = out:match("^.-\n\n")
    assert.are.equal(1, select(2, first:gsub("\n| " .. p.database:gsub("%p", "%%%0") .. " ", "")), out)
  end)

  it("keeps snapshots in its history table and prints the growth since the one before", function()
    local out, err, code = example("table_sizes.lua", "--schema", p.database, "--batch",
      "--history", p.database .. "." .. hist)
    assert.are.equal("", err)
    assert.are.equal(0, code)
    assert.truthy(out:find("^table sizes at [^\n]*, first snapshot\n"), out)
    local _, _, before = parse(out)
    assert.are.equal(6, #before) -- no change columns yet
    local rows0, data0, index0 = sizes()

    fill(401, 1400)
    out, err, code = example("table_sizes.lua", "--schema", p.database, "--batch", "--history", hist)
    assert.are.equal("", err)
    assert.are.equal(0, code)
    local title, headers, mine, schema = parse(out)
    assert.truthy(title:find(", change since %d%d%d%d%-"), title)
    assert.are.same({ "schema", "table", "rows", "data", "index", "total", "rows +/-", "bytes +/-" },
      headers[1])
    local rows1, data1, index1 = sizes()
    assert.are.equal(1400, rows1)
    assert.are.same({ p.database, name, tostring(rows1), tostring(data1), tostring(index1),
      tostring(data1 + index1), tostring(rows1 - rows0),
      tostring(data1 + index1 - data0 - index0) }, mine)
    assert.are.equal(8, #schema)
    -- the history table holds both snapshots, and is not reported on
    assert.are.equal(2, db:query(("SELECT COUNT(DISTINCT taken_at) FROM %s WHERE table_name = ?")
      :format(hist), name):row(1, "a")[1])
    assert.falsy(out:find(hist, 1, true))

    -- a table that shrank: a negative change
    db:query("DELETE FROM " .. name .. " WHERE id > 100")
    db:query("OPTIMIZE TABLE " .. name)
    db:query("ANALYZE TABLE " .. name)
    out, err, code = example("table_sizes.lua", "--schema", p.database, "--batch", "--history", hist)
    assert.are.equal("", err)
    assert.are.equal(0, code)
    _, _, mine = parse(out)
    local rows2, data2, index2 = sizes()
    assert.are.equal(100, rows2)
    assert.are.equal(tostring(rows2 - rows1), mine[7])
    assert.are.equal("-1300", mine[7])
    assert.are.equal(tostring(data2 + index2 - data1 - index1), mine[8])
  end)

  it("exits 2 on bad usage", function()
    assert_usage("table_sizes.lua", { "--top", "0" }, "--top needs a whole number >= 1, not '0'")
    assert_usage("table_sizes.lua", { "--nope" }, "unknown option --nope")
    assert_usage("table_sizes.lua", { "--history", "a.b.c" }, "--history needs SCHEMA.TABLE")
    assert_usage("table_sizes.lua", { "--schema" }, "--schema needs a value")
    assert_usage("table_sizes.lua", { "extra" }, "unexpected argument extra")
  end)
end)

describe("scripts/examples/grants_audit.lua", function()
  local db
  local RISKY, CLEAN, ROLE = "spec91_risky", "spec91_clean", "spec91_role"

  local function drop()
    db:query("DROP USER IF EXISTS ?@'%', ?@'localhost'", RISKY, CLEAN)
    db:query("DROP ROLE IF EXISTS " .. ROLE)
  end

  setup(function()
    db = helpers.connect()
    drop()
    db:query("CREATE USER ?@'%'", RISKY) -- no password, any host
    db:query("GRANT FILE ON *.* TO ?@'%'", RISKY)
    db:query("CREATE ROLE " .. ROLE)
    db:query("GRANT SUPER ON *.* TO " .. ROLE)
    db:query("GRANT " .. ROLE .. " TO ?@'%'", RISKY)
    db:query("CREATE USER ?@'localhost' IDENTIFIED BY 'a-long-secret'", CLEAN)
    db:query("GRANT SELECT ON mylua_test.* TO ?@'localhost'", CLEAN)
  end)

  teardown(function()
    drop()
    db:close()
  end)

  it("lists the accounts and roles and flags the risky account and role, not the clean one", function()
    local out, err, code = example("grants_audit.lua", "--users", "spec91%")
    assert.are.equal("", err)
    assert.are.equal(0, code)
    local all = lines(out)
    assert.truthy(all[1]:find("^account +kind +plugin +global privileges +roles$"), all[1])
    assert.truthy(out:find("\n`spec91_clean`@`localhost` +user +mysql_native_password +USAGE\n"), out)
    assert.truthy(out:find("\n`spec91_risky`@`%%` +user +mysql_native_password +FILE +`spec91_role`\n"), out)
    assert.truthy(out:find("\n`spec91_role` +role +SUPER\n"), out)
    local findings = out:match("\nfindings:\n(.*)$")
    assert.are.equal(table.concat({
      "`spec91_risky`@`%`: no password (plugin mysql_native_password)",
      "`spec91_risky`@`%`: connects from any host ('%')",
      "`spec91_risky`@`%`: global FILE",
      "`spec91_role`: global SUPER",
    }, "\n") .. "\n", findings)
  end)

  it("prints nothing and exits 0 for a clean account with --findings-only --fail-on-findings", function()
    local out, err, code = example("grants_audit.lua", "--findings-only", "--fail-on-findings",
      "--users", CLEAN)
    assert.are.equal("", err)
    assert.are.equal("", out)
    assert.are.equal(0, code)
  end)

  it("exits 1 with the findings only, and takes accepted accounts with --ignore", function()
    local out, err, code = example("grants_audit.lua", "--findings-only", "--fail-on-findings",
      "--users", RISKY)
    assert.are.equal("", err)
    assert.are.equal(1, code)
    assert.are.equal(3, #lines(out), out)
    assert.truthy(out:find("^`spec91_risky`@`%%`: no password"), out)
    out, err, code = example("grants_audit.lua", "--findings-only", "--fail-on-findings",
      "--users", RISKY, "--ignore", RISKY .. "@%")
    assert.are.equal("", err)
    assert.are.equal("", out)
    assert.are.equal(0, code)
  end)

  it("finds a password given later, and a locked account is no finding", function()
    db:query("ALTER USER ?@'%' IDENTIFIED BY 'now-a-secret'", RISKY)
    local out = example("grants_audit.lua", "--findings-only", "--users", RISKY)
    assert.falsy(out:find("no password", 1, true), out)
    db:query("ALTER USER ?@'%' IDENTIFIED BY ''", RISKY)
    db:query("ALTER USER ?@'%' ACCOUNT LOCK", RISKY)
    out = example("grants_audit.lua", "--findings-only", "--users", RISKY)
    assert.falsy(out:find("no password", 1, true), out)
    db:query("ALTER USER ?@'%' ACCOUNT UNLOCK", RISKY)
    out = example("grants_audit.lua", "--findings-only", "--users", RISKY)
    assert.truthy(out:find("no password", 1, true), out)
  end)

  it("exits 2 on bad usage", function()
    assert_usage("grants_audit.lua", { "--ignore", "nohost" }, "--ignore needs USER@HOST")
    assert_usage("grants_audit.lua", { "--fail-on-findings=yes" }, "--fail-on-findings takes no value")
    assert_usage("grants_audit.lua", { "--users" }, "--users needs a value")
  end)
end)

describe("scripts/examples/checksum_compare.lua", function()
  local here, there, single, composite
  local tls = helpers.tls_params and os.getenv("MYLUA_TLS_PORT") and helpers.tls_params()
  local OTHER = tls and { "--other-host", tls.host, "--other-port", tostring(tls.port) }

  local function both(sql, ...)
    here:query(sql, ...)
    there:query(sql, ...)
  end

  setup(function()
    assert(tls, "MYLUA_TLS_PORT is not set: run with scripts/check")
    here, there = helpers.connect(), require("mylua").connect(tls)
    single, composite = "spec91_cmp_" .. helpers.unique_table(), "spec91_cmp_" .. helpers.unique_table()
  end)

  teardown(function()
    both(("DROP TABLE IF EXISTS %s, %s"):format(single, composite))
    here:close()
    there:close()
  end)

  before_each(function()
    both(("DROP TABLE IF EXISTS %s, %s"):format(single, composite))
    both(("CREATE TABLE %s (id INT PRIMARY KEY, v VARCHAR(20) NULL, w VARCHAR(20) NULL)"):format(single))
    both(("CREATE TABLE %s (a INT, b VARCHAR(10), note TEXT, PRIMARY KEY (a, b))"):format(composite))
    local values, pairs_ = {}, {}
    for i = 1, 120 do values[#values + 1] = ("(%d, 'v%d', %s)"):format(i, i, i % 5 == 0 and "NULL" or "'w'") end
    for i = 1, 40 do pairs_[#pairs_ + 1] = ("(%d, 'k%d', 'note %d')"):format(i // 3, i, i) end
    both(("INSERT INTO %s VALUES %s"):format(single, table.concat(values, ", ")))
    both(("INSERT INTO %s VALUES %s"):format(composite, table.concat(pairs_, ", ")))
  end)

  local function compare(...)
    return example("checksum_compare.lua", table.unpack(helpers.append(OTHER, "--chunk-size", "25", ...)))
  end

  it("prints nothing and exits 0 when the tables are the same on both servers", function()
    local out, err, code = compare(single, p.database .. "." .. composite)
    assert.are.equal("", err)
    assert.are.equal("", out)
    assert.are.equal(0, code)
  end)

  it("names the chunk and the row changed, missing or added on one side, and exits 1", function()
    there:query("UPDATE " .. single .. " SET v = 'changed' WHERE id = 57")
    there:query("DELETE FROM " .. single .. " WHERE id = 99")
    there:query("INSERT INTO " .. single .. " VALUES (500, 'extra', NULL)")
    local out, err, code = compare(single)
    assert.are.equal("", err)
    assert.are.equal(1, code)
    assert.are.equal(table.concat({
      single .. ": chunk 3 (after id=50 up to id=75): 25 rows here, 25 there, checksums differ",
      single .. ": row id=57 differs",
      single .. ": chunk 4 (after id=75 up to id=100): 25 rows here, 24 there, checksums differ",
      single .. ": row id=99 is missing on the other server",
      single .. ": chunk 5 (after id=100 to the end): 20 rows here, 21 there, checksums differ",
      single .. ": row id=500 is only on the other server",
    }, "\n") .. "\n", out)
  end)

  it("tells NULL from an empty or shifted value, and walks a composite key", function()
    -- CONCAT_WS alone would hash (NULL, 'w') and ('w', NULL) alike
    here:query("UPDATE " .. single .. " SET v = NULL, w = 'w' WHERE id = 3")
    there:query("UPDATE " .. single .. " SET v = 'w', w = NULL WHERE id = 3")
    there:query("UPDATE " .. composite .. " SET note = 'other' WHERE a = 7 AND b = 'k22'")
    local out, err, code = compare(single, composite)
    assert.are.equal("", err)
    assert.are.equal(1, code)
    assert.truthy(out:find("\n" .. single .. ": row id=3 differs\n", 1, true), out)
    assert.truthy(out:find(composite .. ": chunk 1 (from the start up to a=8, b=k25): 25 rows here, "
      .. "25 there, checksums differ\n" .. composite .. ": row a=7, b=k22 differs\n", 1, true), out)
    assert.are.equal(4, #lines(out), out)
  end)

  it("reads the other server's password from MYLUA_OTHER_PWD", function()
    local args = helpers.append(CONN, "scripts/examples/checksum_compare.lua", table.unpack(OTHER))
    args[#args + 1] = single
    local quoted = {}
    for i, a in ipairs(args) do quoted[i] = helpers.shell_quote(a) end
    local cmd = helpers.shell_quote(helpers.bin()) .. " " .. table.concat(quoted, " ")
    local out, err, code = helpers.run("MYLUA_OTHER_PWD=wrong " .. cmd)
    assert.are.equal(1, code)
    assert.are.equal("", out)
    assert.truthy(err:find("ERROR 1045 (28000)", 1, true), err)
    out, err, code = helpers.run("MYLUA_OTHER_PWD=" .. helpers.shell_quote(p.password) .. " " .. cmd)
    assert.are.equal("", err)
    assert.are.equal(0, code)
  end)

  it("refuses to compare a server with itself", function()
    local out, err, code = example("checksum_compare.lua", "--other-port", tostring(p.port), single)
    assert.are.equal(1, code)
    assert.are.equal("", out)
    assert.truthy(err:find("both connections reach the same server", 1, true), err)
  end)

  it("exits 2 on bad usage", function()
    assert_usage("checksum_compare.lua", OTHER, "name at least one table")
    assert_usage("checksum_compare.lua", { single }, "name the other server")
    assert_usage("checksum_compare.lua", helpers.append(OTHER, "--chunk-size", "0", single),
      "--chunk-size needs a whole number >= 1, not '0'")
    assert_usage("checksum_compare.lua", helpers.append(OTHER, "--other-password", "x", single),
      "unknown option --other-password")
  end)
end)

-- The purge and the archive: rows of a table, two thirds older than
-- 30 days (100 days old), the others one day old, interleaved.
local function make_events(db, name)
  db:query(("DROP TABLE IF EXISTS %s"):format(name))
  db:query(("CREATE TABLE %s (id INT PRIMARY KEY, at DATETIME NOT NULL, note VARCHAR(40) NULL)"):format(name))
  local values = {}
  for i = 1, 300 do
    values[i] = ("(%d, NOW() - INTERVAL %d DAY, %s)"):format(i, i % 3 == 0 and 1 or 100,
      i % 7 == 0 and "NULL" or ("'event %d\\ttab'"):format(i))
  end
  db:query(("INSERT INTO %s VALUES %s"):format(name, table.concat(values, ", ")))
end

local function ids(db, sql, ...)
  local t = {}
  for id in db:query(sql, ...):rows("v") do t[#t + 1] = id end
  return table.concat(t, ",")
end

local function expected_ids(recent)
  local t = {}
  for i = 1, 300 do if (i % 3 == 0) == recent then t[#t + 1] = i end end
  return table.concat(t, ",")
end

describe("scripts/examples/nightly_purge.lua", function()
  local db, name

  setup(function()
    db = helpers.connect()
    name = "spec91_purge_" .. helpers.unique_table()
  end)

  before_each(function() make_events(db, name) end)

  teardown(function()
    db:query("DROP TABLE IF EXISTS " .. name)
    db:close()
  end)

  it("deletes the rows older than --days silently, and a re-run deletes nothing", function()
    local out, err, code = example("nightly_purge.lua", "--table", p.database .. "." .. name,
      "--column", "at", "--days", "30", "--chunk-size", "17")
    assert.are.equal(0, code, err)
    assert.are.equal("", out)
    assert.truthy(err:find("purge " .. p.database .. "." .. name .. ": 200 rows in 12 chunks", 1, true), err)
    assert.are.equal(expected_ids(true), ids(db, "SELECT id FROM " .. name .. " ORDER BY id"))
    local before = ids(db, "SELECT CONCAT_WS('|', id, at, note) FROM " .. name .. " ORDER BY id")
    out, err, code = helpers.run_host(helpers.append(CONN, "--quiet", "scripts/examples/nightly_purge.lua",
      "--table", name, "--column", "at", "--days", "30"))
    assert.are.equal("", err)
    assert.are.equal("", out)
    assert.are.equal(0, code)
    assert.are.equal(before, ids(db, "SELECT CONCAT_WS('|', id, at, note) FROM " .. name .. " ORDER BY id"))
  end)

  it("with --dry-run only counts, and --limit bounds a run", function()
    local out, err, code = example("nightly_purge.lua", "--table", name, "--column", "at", "--days", "30", "--dry-run")
    assert.are.equal(0, code, err)
    assert.are.equal(("200 rows of %s are older than 30 days and would be deleted\n"):format(name), out)
    assert.are.equal(300, db:query("SELECT COUNT(*) FROM " .. name):row(1, "a")[1])
    out, err, code = example("nightly_purge.lua", "--table", name, "--column", "at", "--days", "30",
      "--limit", "50", "--chunk-size", "20")
    assert.are.equal(0, code, err)
    assert.are.equal("", out)
    assert.are.equal(250, db:query("SELECT COUNT(*) FROM " .. name):row(1, "a")[1])
  end)

  it("fails loudly on a column that does not exist", function()
    local out, err, code = example("nightly_purge.lua", "--table", name, "--column", "nope", "--days", "30")
    assert.are.equal(1, code)
    assert.are.equal("", out)
    assert.truthy(err:find("ERROR 1054 (42S22)", 1, true), err)
    assert.are.equal(300, db:query("SELECT COUNT(*) FROM " .. name):row(1, "a")[1])
  end)

  it("exits 2 on bad usage", function()
    assert_usage("nightly_purge.lua", { "--table", name, "--days", "30" }, "--column is required")
    assert_usage("nightly_purge.lua", { "--table", name, "--column", "at", "--days", "0" },
      "--days needs a whole number >= 1")
    assert_usage("nightly_purge.lua", { "--table", name, "--column", "at", "--days", "3", "--pause", "-1" },
      "--pause needs seconds >= 0")
    assert_usage("nightly_purge.lua", { "--table", "a.b.c", "--column", "at", "--days", "3" },
      "--table needs SCHEMA.TABLE or TABLE")
  end)
end)

describe("scripts/examples/archive_job.lua", function()
  local db, name, archive, file

  setup(function()
    db = helpers.connect()
    name = "spec91_arch_" .. helpers.unique_table()
    archive = name .. "_old"
    file = os.tmpname()
  end)

  before_each(function()
    make_events(db, name)
    db:query("DROP TABLE IF EXISTS " .. archive)
    os.remove(file)
  end)

  teardown(function()
    db:query(("DROP TABLE IF EXISTS %s, %s"):format(name, archive))
    db:close()
    os.remove(file)
  end)

  local function rows(table_name, recent)
    return ids(db, ("SELECT CONCAT_WS('|', id, at, COALESCE(note, 'NULL')) FROM %s WHERE (id %% 3 = 0) = ? ORDER BY id")
      :format(table_name), recent)
  end

  it("moves the old rows to an archive table it creates, and a re-run moves nothing", function()
    local old, recent = rows(name, false), rows(name, true)
    local out, err, code = example("archive_job.lua", "--table", name, "--column", "at", "--days", "30",
      "--to", p.database .. "." .. archive, "--chunk-size", "23")
    assert.are.equal(0, code, err)
    assert.are.equal("", out)
    assert.are.equal(expected_ids(true), ids(db, "SELECT id FROM " .. name .. " ORDER BY id"))
    assert.are.equal(expected_ids(false), ids(db, "SELECT id FROM " .. archive .. " ORDER BY id"))
    assert.are.equal(old, rows(archive, false))
    assert.are.equal(recent, rows(name, true))
    out, err, code = helpers.run_host(helpers.append(CONN, "--quiet", "scripts/examples/archive_job.lua",
      "--table", name, "--column", "at", "--days", "30", "--to", archive))
    assert.are.equal("", err)
    assert.are.equal("", out)
    assert.are.equal(0, code)
    assert.are.equal(old, rows(archive, false))
    assert.are.equal(recent, rows(name, true))
    assert.are.equal(200, db:query("SELECT COUNT(*) FROM " .. archive):row(1, "a")[1])
  end)

  it("appends the old rows to a file instead, and a re-run adds nothing", function()
    local out, err, code = example("archive_job.lua", "--table", name, "--column", "at", "--days", "30",
      "--file", file, "--chunk-size", "40")
    assert.are.equal(0, code, err)
    assert.are.equal("", out)
    local f = assert(io.open(file, "rb"))
    local text = f:read("a")
    f:close()
    local all = lines(text)
    assert.are.equal("id\tat\tnote", all[1])
    assert.are.equal(201, #all)
    assert.truthy(all[2]:find("^1\t%d%d%d%d%-%d%d%-%d%d %d%d:%d%d:%d%d\tevent 1\\ttab$"), all[2])
    assert.truthy(text:find("\n7\t[^\t\n]*\t\\N\n"), "NULL as \\N")
    assert.are.equal(expected_ids(true), ids(db, "SELECT id FROM " .. name .. " ORDER BY id"))
    out, err, code = example("archive_job.lua", "--table", name, "--column", "at", "--days", "30", "--file", file)
    assert.are.equal(0, code, err)
    assert.are.equal("", out)
    f = assert(io.open(file, "rb"))
    assert.are.equal(text, f:read("a"))
    f:close()
  end)

  it("with --dry-run only counts and creates nothing", function()
    local out, err, code = example("archive_job.lua", "--table", name, "--column", "at", "--days", "30",
      "--to", archive, "--dry-run")
    assert.are.equal(0, code, err)
    assert.are.equal(("200 rows of %s are older than 30 days and would be archived\n"):format(name), out)
    assert.are.equal(300, db:query("SELECT COUNT(*) FROM " .. name):row(1, "a")[1])
    assert.are.equal(0, db:query([[SELECT COUNT(*) FROM information_schema.TABLES
      WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?]], archive):row(1, "a")[1])
  end)

  it("exits 2 on bad usage", function()
    assert_usage("archive_job.lua", { "--table", name, "--column", "at", "--days", "30" },
      "give --to or --file (one of them)")
    assert_usage("archive_job.lua", { "--table", name, "--column", "at", "--days", "30", "--to", "x",
      "--file", "y" }, "give --to or --file (one of them)")
    assert_usage("archive_job.lua", { "--table", name, "--column", "at", "--days", "30", "--to", "a.b.c" },
      "--to needs SCHEMA.TABLE or TABLE")
    assert_usage("archive_job.lua", { "--column", "at", "--days", "30", "--to", "x" }, "--table is required")
  end)
end)

describe("the README's crontab lines for the examples", function()
  -- Each line that runs a job (as /srv/jobs/NAME): the options before it
  -- are the host's; where the job is scripts/examples/NAME, the ones after
  -- it are the script's own, as its --help lists them.  Every example but
  -- report.lua has a line.
  local function crontab_lines()
    local f = assert(io.open("README.md", "rb"))
    local text = f:read("a")
    f:close()
    local found = {}
    for block in text:gmatch("```crontab\n(.-)```") do
      for line in block:gmatch("[^\n]+") do
        if line:find("/srv/jobs/[%w_]+%.lua") then found[#found + 1] = line end
      end
    end
    return found
  end

  local function options(words)
    local t = {}
    for w in words:gmatch("%S+") do
      local opt = w:match("^(%-%-[%w-]+)")
      if opt then t[#t + 1] = opt end
    end
    return t
  end

  it("name existing examples with options they and the host program take", function()
    local found = crontab_lines()
    assert.is_true(#found >= 5, "crontab lines found: " .. #found)
    local host_help = select(1, helpers.run_host({ "--help" }))
    local seen = {}
    for _, line in ipairs(found) do
      local before, name, after = line:match("^(.-)/srv/jobs/([%w_]+%.lua)(.*)$")
      for _, opt in ipairs(options(before)) do
        assert.truthy(host_help:find(opt, 1, true), "mylua --help has no " .. opt .. ": " .. line)
      end
      local f = io.open("scripts/examples/" .. name, "rb")
      if f then -- not one of the README's own jobs (nightly.lua)
        f:close()
        seen[name] = true
        local help, err, code = example(name, "--help")
        assert.are.equal(0, code, err)
        for _, opt in ipairs(options(after)) do
          assert.truthy(help:find(opt:gsub("%-", "%%-") .. "[%s%]]"), name .. " --help has no " .. opt .. ": " .. line)
        end
      end
    end
    for _, name in ipairs({ "nightly_purge.lua", "archive_job.lua", "table_sizes.lua", "grants_audit.lua",
                            "checksum_compare.lua" }) do
      assert.truthy(seen[name], "no crontab line runs " .. name)
    end
  end)
end)
