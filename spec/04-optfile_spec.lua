-- Option files (my.cnf): the parser and the reader in the core, without a
-- server.  The cases in spec/support/test_optfile.c run first, one test
-- each.  Then the same files go through MariaDB's own parser,
-- my_print_defaults (from mariadb-client-core), and through test-optfile's
-- print mode: both must print exactly the same options, in the same order.

local helpers = require "helpers"

describe("option files", function()
  for _, case in ipairs(helpers.c_cases("test-optfile", 10)) do it(case.name, case.check) end
end)

describe("option files read as MariaDB's my_print_defaults reads them", function()
  local dir

  local function program()
    local bin = os.getenv("MYLUA_BIN")
    local d = bin and bin ~= "" and (bin:match("^(.*/)[^/]*$") or "") or "build/"
    return d .. "test-optfile"
  end

  local function write(name, text)
    local f = assert(io.open(dir .. "/" .. name, "wb"))
    f:write(text)
    f:close()
  end

  setup(function()
    dir = helpers.run("mktemp -d"):gsub("%s+$", "")
    assert.is_true(#dir > 0)
  end)

  teardown(function()
    if dir and #dir > 0 then os.execute("rm -rf " .. helpers.shell_quote(dir)) end
  end)

  -- Both parsers over the file, for these groups: the same lines.
  local function same(name, groups)
    local path = helpers.shell_quote(dir .. "/" .. name)
    local list = table.concat(groups, " ")
    local theirs, err, code = helpers.run("my_print_defaults --defaults-file=" .. path .. " " .. list)
    assert.are.equal(0, code, err)
    local ours, err2, code2 = helpers.run(helpers.shell_quote(program()) .. " print " .. path .. " " .. list)
    assert.are.equal(0, code2, ours .. err2)
    assert.is_true(#theirs > 0, "my_print_defaults printed nothing")
    assert.are.equal(theirs, ours)
  end

  local files = {
    ["spaces, comments and options without values"] = "# leading comment\n"
      .. "; semicolon comment\n\n"
      .. "[client]\n"
      .. "   user   =   bob  \n"
      .. "password=pw # trailing comment\n"
      .. "compress\n"
      .. "\t host\t=\tdb.example \n"
      .. "[mysqld]\nport=1\n"
      .. "[mylua]\nverbose\n",
    ["quotes, kept and dropped"] = "[client]\n"
      .. "a = \"double quoted\"\n"
      .. "b = 'single quoted'\n"
      .. "c = \"mismatched'\n"
      .. "d = \"\n"
      .. "e = \"\"\n"
      .. "f = \"  inner spaces  \"\n"
      .. "g = 'it''\n"
      .. "h = \"a # inside\" # outside\n"
      .. "i = x\"y\"z\n",
    ["escapes"] = "[client]\n"
      .. "a = x\\ny\\tz\n"
      .. "b = \\s\\sleading\n"
      .. "c = back\\\\slash \\\" \\' \\q\n"
      .. "d = ends\\\n"
      .. "e = \"quote \\\" inside # still\"\n"
      .. "f = 'C:\\\\path'\n",
    ["groups in any case, repeated, with spaces"] = "[CLIENT]\nuser=upper\n"
      .. "[client-server]\nhost=cs\n"
      .. "[ client ]\nport=3307\n"
      .. "[mylua]\nk=v\n"
      .. "[other]\nnot=this\n"
      .. "[Client]\nuser=again\n",
    ["keys with dashes, underscores and loose- prefixes"] = "[client]\n"
      .. "default_character_set=utf8mb4\n"
      .. "loose-ssl-ca=/etc/ca.pem\n"
      .. "loose_local_infile=1\n"
      .. "skip-ssl\n",
  }

  for what, text in pairs(files) do
    it(what, function()
      local name = what:gsub("[^%w]+", "_") .. ".cnf"
      write(name, text)
      same(name, { "client", "client-server", "mylua" })
    end)
  end

  it("includes: a file, a directory's .cnf files in name order, options before and after", function()
    os.execute("mkdir -p " .. helpers.shell_quote(dir .. "/conf.d"))
    write("conf.d/20-second.cnf", "[client]\nfrom=second\n")
    write("conf.d/10-first.cnf", "[client]\nfrom=first\n[mylua]\nk=first\n")
    write("conf.d/30-skipped.txt", "[client]\nfrom=txt\n")
    write("one.cnf", "[client]\nfrom=one\n")
    write("main.cnf", "[client]\nbefore=1\n!include " .. dir .. "/one.cnf\n"
      .. "!includedir " .. dir .. "/conf.d\nafter=1\n")
    same("main.cnf", { "client", "mylua" })
  end)
end)
