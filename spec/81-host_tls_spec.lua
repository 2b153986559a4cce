-- The host program's TLS and compression options: spelled as the mariadb
-- and mysql clients spell them, refused with a usage error (exit 2) when
-- connect would refuse their value, handed to mylua.connect as defaults
-- under the core's option names, and overridden by a script's own options.

local helpers = require "helpers"

local bin = helpers.bin()
local q = helpers.shell_quote

local temp_files = {}

local function script(source)
  local path = os.tmpname()
  local f = assert(io.open(path, "wb"))
  f:write(source)
  f:close()
  temp_files[#temp_files + 1] = path
  return path
end

-- Runs the host with the given (unquoted) arguments; returns stdout,
-- stderr, exit code.
local function mylua(args)
  local quoted = {}
  for i, a in ipairs(args) do quoted[i] = q(a) end
  return helpers.run(q(bin) .. " " .. table.concat(quoted, " "))
end

local function append(list, ...)
  local t = { table.unpack(list) }
  for _, v in ipairs({ ... }) do t[#t + 1] = v end
  return t
end

-- Code that prints the defaults the host put under connect's options,
-- "name=value" sorted, one line; integers and booleans as Lua shows them.
local SHOW_DEFAULTS = [[
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

-- What connect gets from these options, as SHOW_DEFAULTS prints it.
local function defaults_of(...)
  local out, err, code = mylua(append({ ... }, "-e", SHOW_DEFAULTS))
  assert.are.equal("", err)
  assert.are.equal(0, code)
  return (out:gsub("\n$", ""))
end

-- The options give a usage error: exit 2, nothing on stdout, the message
-- first on stderr (naming `what`), then the usage line.
local function assert_usage_error(args, what)
  local ran = script("print('ran')")
  local out, err, code = mylua(append(args, ran))
  assert.are.equal(2, code, err)
  assert.are.equal("", out)
  local first = err:match("^([^\n]*)\n")
  assert.truthy(first and first:find("^mylua: "), err)
  assert.truthy(first:find(what, 1, true), ("%q does not name %q"):format(err, what))
  assert.truthy(err:find("\nusage: mylua", 1, true), "no usage line: " .. err)
  return first
end

describe("the host's TLS and compression options", function()
  setup(function()
    assert(bin and bin ~= "", "MYLUA_BIN is not set")
  end)

  after_each(function()
    for _, path in ipairs(temp_files) do os.remove(path) end
    temp_files = {}
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
        { "--compression-algorithms", "compression_algorithms" },
      }
      for i, g in ipairs(given) do
        local value = "v" .. i .. " with space"
        assert.are.equal(g[2] .. "=string:" .. value, defaults_of(g[1] .. "=" .. value), g[1])
        assert.are.equal(g[2] .. "=string:" .. value, defaults_of(g[1], value), g[1])
      end
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

  describe("stop at the script", function()
    it("leaves options after the script name to the script", function()
      local path = script("io.write(table.concat(arg, ' '), '\\n')\n" .. SHOW_DEFAULTS)
      local out, err, code = mylua({ "--compress", path, "--ssl-mode=bogus", "--ssl" })
      assert.are.equal("", err)
      assert.are.equal(0, code)
      assert.are.equal("--ssl-mode=bogus --ssl\ncompress=boolean:true\n", out)
    end)

    it("takes them mixed with -e, and runs the code of -e", function()
      local out, err, code = mylua({ "--ssl", "-e", "io.write('first\\n')", "-C", "-e", SHOW_DEFAULTS })
      assert.are.equal("", err)
      assert.are.equal(0, code)
      assert.are.equal("first\ncompress=boolean:true ssl_mode=string:required\n", out)
    end)

    it("does not read an option's value as -e code", function()
      local out, err, code = mylua({ "--ssl-ca", "-e", "-e", SHOW_DEFAULTS })
      assert.are.equal("", err)
      assert.are.equal(0, code)
      assert.are.equal("ssl_ca=string:-e\n", out)
    end)

    it("keeps '--' ending the options", function()
      local path = script(SHOW_DEFAULTS)
      local out, err, code = mylua({ "--ssl-mode=REQUIRED", "--", path, "--compress" })
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
end)
