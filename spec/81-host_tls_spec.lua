-- The host program's TLS and compression options: spelled as the mariadb
-- and mysql clients spell them, refused with a usage error (exit 2) when
-- connect would refuse their value, handed to mylua.connect as defaults
-- under the core's option names, and overridden by a script's own options.

local helpers = require "helpers"

local bin = helpers.bin()

local script, mylua = helpers.temp_script, helpers.run_host

local append, SHOW_DEFAULTS = helpers.append, helpers.SHOW_HOST_DEFAULTS
local defaults_of, assert_usage_error = helpers.host_defaults, helpers.assert_host_usage_error

-- Lua source for a table constructor holding `t` (strings, numbers,
-- booleans, tables of those).
local function table_source(t)
  local parts = {}
  for k, v in pairs(t) do
    local value
    if type(v) == "string" then value = ("%q"):format(v)
    elseif type(v) == "table" then value = table_source(v)
    else value = tostring(v) end
    parts[#parts + 1] = ("[%q] = %s"):format(k, value)
  end
  table.sort(parts)
  return "{ " .. table.concat(parts, ", ") .. " }"
end

-- Runs the host with `args` and a script that connects with `opts` (and
-- what the command line adds) and prints one line about the connection:
-- what it says of itself, then what the server says of the session.
-- Returns that line (without "\n"), stderr and the exit code.
local function connect_with(args, opts)
  local path = script(([[
local db = require("mylua").connect(%s)
local function status(name)
  local row = db:query("SHOW SESSION STATUS LIKE ?", name):row(1, "a")
  return row and row[2] ~= "" and row[2] or "none"
end
local tls = db.tls
io.write("tls=", tls and tls.version or "none", " verified=", tostring(tls and tls.verified),
  " cipher=", tls and tls.cipher or "none", " compression=", tostring(db.compression),
  " server=", status("Ssl_version"), "/", status("Compression"), "\n")
db:close()
]]):format(table_source(opts)))
  local out, err, code = mylua(append(args, path))
  return (out:gsub("\n$", "")), err, code
end

-- The fields of a line connect_with printed.
local function fields(line)
  local t = {}
  for k, v in line:gmatch("(%w+)=(%S+)") do t[k] = v end
  return t
end

-- The connection failed: exit 1, nothing on stdout, one line on stderr
-- with the error `code`; returns that line.
local function assert_connect_error(out, err, exit_code, code)
  assert.are.equal(1, exit_code, err)
  assert.are.equal("", out)
  assert.truthy(err:match("^mylua: [^\n]*\n$"), "not one error line: " .. err)
  assert.truthy(err:find("ERROR " .. code .. " ", 1, true), "not error " .. code .. ": " .. err)
  return err
end

-- The SHA-256 fingerprint scripts/test-certs recorded for `name`.
local function fingerprint(name)
  for line in io.lines(helpers.tls_file("fingerprints")) do
    local n, fp = line:match("^(%S+) (%S+)$")
    if n == name then return fp end
  end
  error("no fingerprint for " .. name)
end

describe("the host's TLS and compression options", function()
  setup(function()
    assert(bin and bin ~= "", "MYLUA_BIN is not set")
  end)

  after_each(function()
    helpers.remove_temp_files()
  end)

  describe("reach connect under the core's names", function()
    it("gives connect nothing when none is given", function()
      assert.are.equal("", defaults_of())
    end)

    it("takes --ssl-mode in any case, with '=' or as the next argument", function()
      assert.are.equal("ssl_mode=string:verify_identity", defaults_of("--ssl-mode=VERIFY_IDENTITY"))
      assert.are.equal("ssl_mode=string:verify_ca", defaults_of("--ssl-mode", "Verify_CA"))
      assert.are.equal("ssl_mode=string:required", defaults_of("--ssl-mode=required"))
      assert.are.equal("ssl_mode=string:preferred", defaults_of("--ssl-mode=PREFERRED"))
      assert.are.equal("ssl_mode=string:disabled", defaults_of("--ssl-mode", "DISABLED"))
    end)

    it("makes --ssl mode required", function()
      assert.are.equal("ssl_mode=string:required", defaults_of("--ssl"))
      assert.are.equal("ssl_mode=string:required", defaults_of("--ssl=1"))
      assert.are.equal("ssl_mode=string:required", defaults_of("--enable-ssl"))
    end)

    it("keeps a stronger --ssl-mode given with --ssl, in either order", function()
      assert.are.equal("ssl_mode=string:verify_ca", defaults_of("--ssl", "--ssl-mode=VERIFY_CA"))
      assert.are.equal("ssl_mode=string:verify_ca", defaults_of("--ssl-mode=VERIFY_CA", "--ssl"))
      assert.are.equal("ssl_mode=string:required", defaults_of("--ssl-mode=PREFERRED", "--ssl"))
    end)

    it("makes --ssl-verify-server-cert mode verify_identity", function()
      assert.are.equal("ssl_mode=string:verify_identity", defaults_of("--ssl-verify-server-cert"))
      assert.are.equal("ssl_mode=string:verify_identity",
        defaults_of("--ssl", "--ssl-verify-server-cert", "--ssl-mode=REQUIRED"))
    end)

    it("makes --skip-ssl, --disable-ssl and --ssl=0 mode disabled", function()
      for _, flag in ipairs({ "--skip-ssl", "--disable-ssl", "--ssl=0", "--ssl=OFF", "--skip_ssl" }) do
        assert.are.equal("ssl_mode=string:disabled", defaults_of(flag), flag)
      end
    end)

    it("lets the last --ssl-mode win", function()
      assert.are.equal("ssl_mode=string:disabled",
        defaults_of("--ssl-mode=REQUIRED", "--ssl-mode=DISABLED"))
    end)

    it("passes each file, list and fingerprint option as a string", function()
      local given = {
        { "--ssl-ca", "ssl_ca" }, { "--ssl-capath", "ssl_capath" }, { "--ssl-cert", "ssl_cert" },
        { "--ssl-key", "ssl_key" }, { "--ssl-cipher", "ssl_cipher" },
        { "--tls-ciphersuites", "ssl_ciphersuites" }, { "--tls-version", "tls_version" },
        { "--ssl-crl", "ssl_crl" }, { "--ssl-crlpath", "ssl_crlpath" },
        { "--ssl-fp", "ssl_fingerprint" }, { "--ssl-fplist", "ssl_fingerprint_list" },
      }
      for i, g in ipairs(given) do
        local value = "v" .. i .. " with space"
        assert.are.equal(g[2] .. "=string:" .. value, defaults_of(g[1] .. "=" .. value), g[1])
        assert.are.equal(g[2] .. "=string:" .. value, defaults_of(g[1], value), g[1])
      end
    end)

    it("passes --compression-algorithms as connect takes it", function()
      assert.are.equal("compression_algorithms=string:zstd, ZLIB,uncompressed",
        defaults_of("--compression-algorithms=zstd, ZLIB,uncompressed"))
      assert.are.equal("compression_algorithms=string:zlib", defaults_of("--compression-algorithms", "zlib"))
    end)

    it("reads an underscore in an option's name as a dash", function()
      assert.are.equal("ssl_ca=string:x", defaults_of("--ssl_ca=x"))
    end)

    it("makes --compress and -C compress = true, --skip-compress false", function()
      assert.are.equal("compress=boolean:true", defaults_of("--compress"))
      assert.are.equal("compress=boolean:true", defaults_of("-C"))
      assert.are.equal("compress=boolean:false", defaults_of("--skip-compress"))
      assert.are.equal("compress=boolean:false", defaults_of("--compress=0"))
    end)

    it("passes --zstd-compression-level as an integer", function()
      assert.are.equal("zstd_compression_level=integer:5", defaults_of("--zstd-compression-level=5"))
      assert.are.equal("zstd_compression_level=integer:22", defaults_of("--zstd-compression-level", "22"))
    end)

    it("passes several at once", function()
      assert.are.equal("compress=boolean:true ssl_ca=string:ca.pem ssl_mode=string:verify_identity",
        defaults_of("--ssl-mode=VERIFY_IDENTITY", "-C", "--ssl-ca", "ca.pem"))
    end)
  end)

  -- (--no-defaults: the machine's option files may add defaults of their own)
  describe("stop at the script", function()
    it("leaves options after the script name to the script", function()
      local path = script("io.write(table.concat(arg, ' '), '\\n')\n" .. SHOW_DEFAULTS)
      local out, err, code = mylua({ "--no-defaults", "--compress", path, "--ssl-mode=bogus", "--ssl" })
      assert.are.equal("", err)
      assert.are.equal(0, code)
      assert.are.equal("--ssl-mode=bogus --ssl\ncompress=boolean:true\n", out)
    end)

    it("takes them mixed with -e, and runs the code of -e", function()
      local out, err, code = mylua({ "--no-defaults", "--ssl", "-e", "io.write('first\\n')", "-C", "-e", SHOW_DEFAULTS })
      assert.are.equal("", err)
      assert.are.equal(0, code)
      assert.are.equal("first\ncompress=boolean:true ssl_mode=string:required\n", out)
    end)

    it("does not read an option's value as -e code", function()
      local out, err, code = mylua({ "--no-defaults", "--ssl-ca", "-e", "-e", SHOW_DEFAULTS })
      assert.are.equal("", err)
      assert.are.equal(0, code)
      assert.are.equal("ssl_ca=string:-e\n", out)
    end)

    it("keeps '--' ending the options", function()
      local path = script(SHOW_DEFAULTS)
      local out, err, code = mylua({ "--no-defaults", "--ssl-mode=REQUIRED", "--", path, "--compress" })
      assert.are.equal("", err)
      assert.are.equal(0, code)
      assert.are.equal("ssl_mode=string:required\n", out)
    end)
  end)

  describe("refuse what connect would refuse", function()
    it("refuses an unknown --ssl-mode with the modes connect takes", function()
      local line = assert_usage_error({ "--ssl-mode=bogus" }, "--ssl-mode")
      assert.truthy(line:find("bogus", 1, true), line)
      assert.truthy(line:find("verify_identity", 1, true), line)
    end)

    it("refuses a zstd level outside 1 to 22, or not a whole number", function()
      for _, v in ipairs({ "0", "23", "abc", "5.5", "0x5", "", "1e1" }) do
        local line = assert_usage_error({ "--zstd-compression-level=" .. v }, "--zstd-compression-level")
        assert.truthy(line:find("from 1 to 22", 1, true), line)
      end
    end)

    it("refuses an algorithm list connect would refuse, in connect's words", function()
      local line = assert_usage_error({ "--compression-algorithms=zlib,lz4" }, "--compression-algorithms")
      assert.truthy(line:find("unknown algorithm 'lz4'", 1, true), line)
      line = assert_usage_error({ "--compression-algorithms", " , " }, "--compression-algorithms")
      assert.truthy(line:find("names no algorithm", 1, true), line)
    end)

    it("refuses an option without its value", function()
      for _, name in ipairs({ "--ssl-mode", "--ssl-ca", "--zstd-compression-level" }) do
        local _, err, code = mylua({ name })
        assert.are.equal(2, code)
        assert.truthy(err:find("^mylua: option '" .. name:gsub("%-", "%%-") .. "' needs a value"), err)
      end
    end)

    it("refuses a boolean value that is not one", function()
      assert_usage_error({ "--compress=maybe" }, "--compress")
      assert_usage_error({ "--ssl=maybe" }, "--ssl")
      assert_usage_error({ "--skip-ssl=1" }, "--skip-ssl")
    end)

    it("refuses asking for TLS and refusing it at once", function()
      assert_usage_error({ "--skip-ssl", "--ssl-mode=REQUIRED" }, "contradicts")
      assert_usage_error({ "--ssl-mode=DISABLED", "--ssl" }, "contradicts")
      assert_usage_error({ "--ssl=0", "--ssl-verify-server-cert" }, "contradicts")
      assert_usage_error({ "--ssl-mode=PREFERRED", "--disable-ssl" }, "contradicts")
    end)

    it("refuses --skip- before an option that takes a value", function()
      assert_usage_error({ "--skip-ssl-ca" }, "unknown option '--skip-ssl-ca'")
    end)
  end)

  it("are listed by --help", function()
    local out, err, code = mylua({ "--help" })
    assert.are.equal(0, code)
    assert.are.equal("", err)
    for _, name in ipairs({ "--ssl ", "--skip-ssl", "--ssl-mode=MODE", "--ssl-ca=", "--ssl-capath=",
                            "--ssl-cert=", "--ssl-key=", "--ssl-cipher=", "--tls-version=",
                            "--ssl-crl=", "--ssl-crlpath=", "--ssl-verify-server-cert", "--ssl-fp=",
                            "--ssl-fplist=", "-C, --compress", "--compression-algorithms=",
                            "--zstd-compression-level=" }) do
      assert.truthy(out:find(name, 1, true), name .. " is not in --help")
    end
  end)

  describe("against the server without TLS", function()
    it("fail with error 2026 under --ssl-mode=REQUIRED", function()
      local out, err, code = connect_with({ "--ssl-mode=REQUIRED" }, helpers.params())
      local line = assert_connect_error(out, err, code, 2026)
      assert.truthy(line:find("does not offer", 1, true), line)
    end)

    it("fail with error 2026 under --ssl", function()
      local out, err, code = connect_with({ "--ssl" }, helpers.params())
      assert_connect_error(out, err, code, 2026)
    end)

    it("give way to a script's ssl = { mode = 'disabled' }", function()
      local out, err, code = connect_with({ "--ssl-mode=REQUIRED" },
        helpers.params({ ssl = { mode = "disabled" } }))
      assert.are.equal("", err)
      assert.are.equal(0, code)
      assert.are.equal("none", fields(out).tls)
    end)

    it("give way to a script's ssl_mode = 'disabled'", function()
      local out, err, code = connect_with({ "--ssl-verify-server-cert" },
        helpers.params({ ssl_mode = "disabled" }))
      assert.are.equal("", err)
      assert.are.equal(0, code)
      assert.are.equal("none/OFF", fields(out).server)
    end)

    it("hand --ssl-ca to connect, whose error names the file", function()
      local missing = os.tmpname()
      os.remove(missing)
      local out, err, code = connect_with({ "--ssl-ca=" .. missing .. ".pem" }, helpers.params())
      local line = assert_connect_error(out, err, code, 2026)
      assert.truthy(line:find(missing .. ".pem", 1, true), line)
    end)

    it("hand --ssl-key to connect, whose error names the file", function()
      local out, err, code = connect_with({ "--ssl-mode", "required", "--ssl-cert",
        helpers.tls_file("client-cert.pem"), "--ssl-key", "/nonexistent/client-key.pem" }, helpers.params())
      local line = assert_connect_error(out, err, code, 2026)
      assert.truthy(line:find("/nonexistent/client-key.pem", 1, true), line)
    end)

    it("compress with zlib under --compress", function()
      local out, err, code = connect_with({ "--compress" }, helpers.params())
      assert.are.equal("", err)
      assert.are.equal(0, code)
      local f = fields(out)
      assert.are.equal("zlib", f.compression)
      assert.are.equal("none/ON", f.server)
    end)

    it("compress with zlib under -C and --compression-algorithms=zstd,zlib", function()
      for _, args in ipairs({ { "-C" }, { "--compression-algorithms", "zstd,zlib" } }) do
        local out, err, code = connect_with(args, helpers.params())
        assert.are.equal("", err)
        assert.are.equal(0, code)
        assert.are.equal("zlib", fields(out).compression, args[1])
      end
    end)

    it("fail when --compression-algorithms names only what the server lacks", function()
      local out, err, code = connect_with({ "--compression-algorithms=zstd" }, helpers.params())
      assert.are.equal(1, code)
      assert.are.equal("", out)
      assert.truthy(err:find("zstd", 1, true), err)
    end)

    it("give way to a script's compress = false", function()
      local out, err, code = connect_with({ "--compress" }, helpers.params({ compress = false }))
      assert.are.equal("", err)
      assert.are.equal(0, code)
      assert.are.equal("nil", fields(out).compression)
      assert.are.equal("none/OFF", fields(out).server)
    end)
  end)

  describe("against the TLS server", function()
    it("encrypt under --ssl-mode=REQUIRED, unverified", function()
      local out, err, code = connect_with({ "--ssl-mode=REQUIRED" }, helpers.tls_params())
      assert.are.equal("", err)
      assert.are.equal(0, code)
      local f = fields(out)
      assert.truthy(f.tls:match("^TLSv1%.[23]$"), out)
      assert.are.equal("false", f.verified)
      assert.are.equal(f.tls .. "/OFF", f.server)
    end)

    it("verify the server with --ssl-mode=VERIFY_IDENTITY and --ssl-ca", function()
      local out, err, code = connect_with({ "--ssl-mode=VERIFY_IDENTITY", "--ssl-ca", helpers.tls_file("ca.pem") },
        helpers.tls_params())
      assert.are.equal("", err)
      assert.are.equal(0, code)
      assert.are.equal("ca", fields(out).verified)
    end)

    it("verify the server with --ssl-verify-server-cert and --ssl-capath", function()
      local out, err, code = connect_with({ "--ssl-verify-server-cert", "--ssl-capath=" .. helpers.tls_file("ca-dir") },
        helpers.tls_params())
      assert.are.equal("", err)
      assert.are.equal(0, code)
      assert.are.equal("ca", fields(out).verified)
    end)

    it("refuse a server another CA signed under --ssl-mode=VERIFY_CA", function()
      local out, err, code = connect_with({ "--ssl-mode=VERIFY_CA", "--ssl-ca", helpers.tls_file("other-ca.pem") },
        helpers.tls_params())
      assert_connect_error(out, err, code, 2026)
    end)

    it("pin the server's certificate with --ssl-fp", function()
      local out, err, code = connect_with({ "--ssl-fp=" .. fingerprint("server-cert") }, helpers.tls_params())
      assert.are.equal("", err)
      assert.are.equal(0, code)
      assert.are.equal("fingerprint", fields(out).verified)
      out, err, code = connect_with({ "--ssl-fp=" .. fingerprint("other-name-cert") }, helpers.tls_params())
      assert_connect_error(out, err, code, 2026)
    end)

    it("take the TLS version and cipher from --tls-version and --ssl-cipher", function()
      local out, err, code = connect_with({ "--ssl", "--tls-version=TLSv1.2",
        "--ssl-cipher", "ECDHE-RSA-AES128-GCM-SHA256" }, helpers.tls_params())
      assert.are.equal("", err)
      assert.are.equal(0, code)
      local f = fields(out)
      assert.are.equal("TLSv1.2", f.tls)
      assert.are.equal("ECDHE-RSA-AES128-GCM-SHA256", f.cipher)
    end)

    it("stay in plain text under --skip-ssl", function()
      local out, err, code = connect_with({ "--skip-ssl" }, helpers.tls_params())
      assert.are.equal("", err)
      assert.are.equal(0, code)
      assert.are.equal("none/OFF", fields(out).server)
    end)

    it("encrypt and compress under --ssl --compress", function()
      local out, err, code = connect_with({ "--ssl", "--compress" }, helpers.tls_params())
      assert.are.equal("", err)
      assert.are.equal(0, code)
      local f = fields(out)
      assert.are.equal("zlib", f.compression)
      assert.are.equal(f.tls .. "/ON", f.server)
      assert.truthy(f.tls:match("^TLSv1%.[23]$"), out)
    end)

    it("give way to a script's ssl table, which keeps the command line's other ssl options", function()
      -- The script asks for verify_identity; the CA comes from the command line.
      local out, err, code = connect_with({ "--ssl-ca=" .. helpers.tls_file("ca.pem"), "--ssl-mode=REQUIRED" },
        helpers.tls_params({ ssl = { mode = "verify_identity" } }))
      assert.are.equal("", err)
      assert.are.equal(0, code)
      assert.are.equal("ca", fields(out).verified)
    end)
  end)
end)
