-- The host program's LOAD DATA LOCAL INFILE options, as the mysql client
-- spells them: --local-infile[=0|1] and --load-data-local-dir=DIR become
-- connect's local_infile and local_infile_dir defaults; and what a script
-- run with them (or without) gets from the sandbox, which runs with
-- --local-infile=1 so that only the client decides.

local helpers = require "helpers"

local bin = helpers.bin()
local q = helpers.shell_quote

local script, mylua = helpers.temp_script, helpers.run_host

local append = helpers.append
local defaults_of, assert_usage_error = helpers.host_defaults, helpers.assert_host_usage_error

local function sh(cmd)
  local _, err, code = helpers.run(cmd)
  assert(code == 0, cmd .. ": " .. err)
end

local function write_file(path, data)
  local f = assert(io.open(path, "wb"))
  f:write(data)
  f:close()
end

describe("the host's LOAD DATA LOCAL INFILE options", function()
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
      for _, flag in ipairs({ "--local-infile[=0|1]", "--load-data-local-dir=DIR" }) do
        assert.truthy(out:find("\n  " .. flag, 1, true), flag .. " not in: " .. out)
      end
    end)

    it("make --local-infile local_infile = true, =0 false, the last one given winning", function()
      assert.are.equal("local_infile=boolean:true", defaults_of("--local-infile"))
      assert.are.equal("local_infile=boolean:true", defaults_of("--local-infile=1"))
      assert.are.equal("local_infile=boolean:true", defaults_of("--local_infile=ON"))
      assert.are.equal("local_infile=boolean:true", defaults_of("--enable-local-infile"))
      assert.are.equal("local_infile=boolean:false", defaults_of("--local-infile=0"))
      assert.are.equal("local_infile=boolean:false", defaults_of("--local-infile=false"))
      assert.are.equal("local_infile=boolean:false", defaults_of("--skip-local-infile"))
      assert.are.equal("local_infile=boolean:false", defaults_of("--local-infile", "--disable-local-infile"))
      assert.are.equal("local_infile=boolean:true", defaults_of("--local-infile=0", "--local-infile"))
    end)

    it("take --local-infile's value only after '=', as the mysql client does", function()
      -- "--local-infile 1": 1 is the script to run, not the option's value.
      local out, err, code = mylua({ "--local-infile", "1" })
      assert.are.equal(1, code, err)
      assert.are.equal("", out)
      assert.truthy(err:find("cannot open 1", 1, true), err)
    end)

    it("pass --load-data-local-dir as local_infile_dir, after '=' or as the next argument", function()
      assert.are.equal("local_infile_dir=string:/srv/data files", defaults_of("--load-data-local-dir=/srv/data files"))
      assert.are.equal("local_infile_dir=string:in", defaults_of("--load-data-local-dir", "in"))
      assert.are.equal("local_infile_dir=string:b", defaults_of("--load_data_local_dir=a", "--load-data-local-dir=b"))
    end)

    it("give connect nothing about LOCAL INFILE when neither is given", function()
      assert.are.equal("compress=boolean:true", defaults_of("-C"))
    end)

    it("combine with each other and with the other connection options", function()
      assert.are.equal("local_infile=boolean:true local_infile_dir=string:d ssl_mode=string:required",
        defaults_of("--ssl", "--load-data-local-dir=d", "--local-infile"))
      assert.are.equal("local_infile=boolean:false local_infile_dir=string:d",
        defaults_of("--skip-local-infile", "--load-data-local-dir", "d"))
    end)

    it("refuse a bad value with a usage error", function()
      for _, bad in ipairs({ "2", "-1", "yes", "" }) do
        assert_usage_error({ "--local-infile=" .. bad }, "'--local-infile' takes 1 or 0")
      end
      assert_usage_error({ "--load-data-local-dir=" }, "'--load-data-local-dir' needs a directory name")
      assert_usage_error({ "--load-data-local-dir", "" }, "'--load-data-local-dir' needs a directory name")
      assert_usage_error({ "--skip-local-infile=1" }, "'--skip-local-infile' takes no value")
    end)

    it("refuse a missing directory as the last argument with a usage error", function()
      local out, err, code = mylua({ "--load-data-local-dir" })
      assert.are.equal(2, code, err)
      assert.are.equal("", out)
      local line = "mylua: option '--load-data-local-dir' needs a value\n"
      assert.are.equal(line, err:sub(1, #line))
    end)

    it("know only the mysql client's spellings", function()
      assert_usage_error({ "--local-infile-dir=x" }, "unknown option '--local-infile-dir=x'")
      assert_usage_error({ "--skip-load-data-local-dir" }, "unknown option '--skip-load-data-local-dir'")
      assert_usage_error({ "--infile" }, "unknown option '--infile'")
    end)
  end)

  -- The script connects with the spec's parameters and nothing about LOCAL
  -- INFILE, so what it may send comes from the command line alone (or from
  -- `extra`, its own options).
  describe("a script's LOAD DATA LOCAL INFILE", function()
    local admin, tbl, dir, outside
    local ROWS = "1\tone\n2\ttwo\n3\tthree\n"

    -- Runs the host with `args` and a script loading `path` into the table;
    -- returns what it printed ("loaded N" or "refused CODE: message"), the
    -- rows the table then holds ("1:one,2:two,..."), stderr and exit code.
    local function load_with(args, path, extra)
      local p = helpers.params(extra)
      local code = ([[
local db <close> = require("mylua").connect(%s)
local ok, res = pcall(db.query, db, "LOAD DATA LOCAL INFILE " .. db:quote(%q) .. " INTO TABLE %s")
if ok then print("loaded " .. res.affected_rows) else print(("refused %%d: %%s"):format(res.code, res.message)) end
]]):format(helpers.options_source(p), path, tbl)
      local out, err, status = mylua(append(args, script(code)))
      local got = {}
      for id, name in admin:query("SELECT id, name FROM " .. tbl .. " ORDER BY id"):rows("v") do
        got[#got + 1] = id .. ":" .. name
      end
      admin:query("DELETE FROM " .. tbl)
      return out, table.concat(got, ","), err, status
    end

    local function assert_refused(codes, out, rows, err, status)
      assert.are.equal(0, status, err)
      local code = tonumber(out:match("^refused (%d+): "))
      assert.truthy(code, "not refused: " .. out .. err)
      assert.truthy(codes[code], "refused with " .. out)
      assert.are.equal("", rows)
    end

    setup(function()
      admin = helpers.connect()
      tbl = helpers.unique_table()
      admin:query("CREATE TABLE " .. tbl .. " (id INT PRIMARY KEY, name VARCHAR(20) NOT NULL)")
      dir = os.tmpname()
      os.remove(dir)
      sh("mkdir -m 700 " .. q(dir) .. " " .. q(dir .. ".outside"))
      outside = dir .. ".outside/rows.tsv"
      write_file(dir .. "/rows.tsv", ROWS)
      write_file(outside, ROWS)
    end)

    teardown(function()
      if admin then
        admin:query("DROP TABLE IF EXISTS " .. tbl)
        admin:close()
      end
      if dir then sh("rm -rf " .. q(dir) .. " " .. q(dir .. ".outside")) end
    end)

    -- Without the capability the server refuses the statement itself:
    -- MariaDB's 4166 (ER_LOAD_INFILE_CAPABILITY_DISABLED), MySQL 8's 3948.
    local SERVER_REFUSES = { [4166] = true, [3948] = true }

    it("is refused by the server without --local-infile (the client does not offer it)", function()
      assert_refused(SERVER_REFUSES, load_with({}, dir .. "/rows.tsv"))
    end)

    it("is refused with --local-infile=0", function()
      assert_refused(SERVER_REFUSES, load_with({ "--local-infile=0" }, dir .. "/rows.tsv"))
    end)

    -- What the client itself refuses (a file outside the directory): the
    -- request is answered with no data and the statement fails with 2068.
    local CLIENT_REFUSES = { [2068] = true }
    local LOADED = "loaded 3\n"
    local ROWS_LOADED = "1:one,2:two,3:three"

    it("loads the file the statement names with --local-infile", function()
      for _, flag in ipairs({ "--local-infile", "--local-infile=1", "--enable-local-infile" }) do
        local out, rows, err, status = load_with({ flag }, outside)
        assert.are.equal(0, status, err)
        assert.are.equal(LOADED, out, flag)
        assert.are.equal(ROWS_LOADED, rows, flag)
      end
    end)

    it("loads a file under --load-data-local-dir, without --local-infile", function()
      local out, rows, err, status = load_with({ "--load-data-local-dir=" .. dir }, dir .. "/rows.tsv")
      assert.are.equal(0, status, err)
      assert.are.equal(LOADED, out)
      assert.are.equal(ROWS_LOADED, rows)
    end)

    it("refuses a file outside --load-data-local-dir, by name, through '..' or a link", function()
      local link = dir .. "/link.tsv"
      sh("ln -s " .. q(outside) .. " " .. q(link))
      finally(function() os.remove(link) end)
      for _, path in ipairs({ outside, dir .. "/../" .. outside:match("[^/]+/[^/]+$"), link }) do
        assert_refused(CLIENT_REFUSES, load_with({ "--load-data-local-dir=" .. dir }, path))
      end
    end)

    it("refuses a file outside --load-data-local-dir also with --local-infile", function()
      assert_refused(CLIENT_REFUSES, load_with({ "--local-infile", "--load-data-local-dir=" .. dir }, outside))
      local out, rows, err, status = load_with({ "--local-infile", "--load-data-local-dir=" .. dir }, dir .. "/rows.tsv")
      assert.are.equal(0, status, err)
      assert.are.equal(LOADED, out)
      assert.are.equal(ROWS_LOADED, rows)
    end)

    it("lets the script's own local_infile = false win over --local-infile", function()
      assert_refused(SERVER_REFUSES, load_with({ "--local-infile" }, outside, { local_infile = false }))
    end)
  end)
end)
