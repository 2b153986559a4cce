-- The TLS configuration built for one connect is reused by the next one
-- with the same options, but never after one of its files changed: a
-- rotated CA, client certificate or pin list takes effect at the next
-- connect, in this process, as it would in a new one.

local mylua = require "mylua"
local helpers = require "helpers"

local file = helpers.tls_file
local TLS_FAILED = 2026

local function copy(from, to)
  local src <close> = assert(io.open(from, "rb"))
  local data = src:read("a")
  local dst <close> = assert(io.open(to, "wb"))
  dst:write(data)
end

-- Replaces `path` by a new file (another inode), as a deployment tool does.
local function replace(from, path)
  copy(from, path .. ".new")
  assert(os.rename(path .. ".new", path))
end

-- Rewrites `path` in place (same inode), keeping its length when the new
-- content has the same size.
local function rewrite(from, path)
  copy(from, path)
end

local function tls_connect(ssl)
  local p = helpers.tls_params()
  p.ssl = ssl
  return mylua.connect(p)
end

local function refused(ssl)
  local ok, err = pcall(tls_connect, ssl)
  assert.is_false(ok, "the connect should have been refused")
  assert.equal(TLS_FAILED, err.code, tostring(err))
  return err
end

describe("a TLS configuration reused across connects", function()
  local dir

  before_each(function()
    dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir " .. helpers.shell_quote(dir)))
  end)

  after_each(function()
    helpers.run("rm -rf " .. helpers.shell_quote(dir))
  end)

  it("serves many connects with the same options", function()
    local ca = dir .. "/ca.pem"
    copy(file("ca.pem"), ca)
    for _ = 1, 5 do
      local db <close> = tls_connect{ mode = "verify_identity", ca = ca }
      assert.equal("ca", db.tls.verified)
      assert.equal(1, db:query("SELECT 1"):row(1, "a")[1] + 0)
    end
  end)

  it("reads a CA file replaced by another file", function()
    local ca = dir .. "/ca.pem"
    copy(file("ca.pem"), ca)
    do
      local db <close> = tls_connect{ mode = "verify_ca", ca = ca }
      assert.equal("ca", db.tls.verified)
    end
    replace(file("other-ca.pem"), ca)
    local err = refused{ mode = "verify_ca", ca = ca }
    assert.truthy(err.message:find(ca, 1, true), err.message)
    replace(file("ca.pem"), ca)
    local db <close> = tls_connect{ mode = "verify_ca", ca = ca }
    assert.equal("ca", db.tls.verified)
  end)

  it("reads a CA file rewritten in place", function()
    local ca = dir .. "/ca.pem"
    copy(file("other-ca.pem"), ca)
    refused{ mode = "verify_ca", ca = ca }
    rewrite(file("ca.pem"), ca)
    local db <close> = tls_connect{ mode = "verify_ca", ca = ca }
    assert.equal("ca", db.tls.verified)
  end)

  it("notices a CA file that disappeared", function()
    local ca = dir .. "/ca.pem"
    copy(file("ca.pem"), ca)
    do
      local db <close> = tls_connect{ mode = "verify_ca", ca = ca }
      assert.equal("ca", db.tls.verified)
    end
    assert(os.remove(ca))
    local err = refused{ mode = "verify_ca", ca = ca }
    assert.truthy(err.message:find("cannot read ssl_ca", 1, true), err.message)
  end)

  it("reads a pin list that changed", function()
    local list = dir .. "/pins"
    do
      local db <close> = tls_connect{ mode = "required" }
      local f <close> = assert(io.open(list, "w"))
      f:write("# the test server\n", db.tls.fingerprint, "\n")
    end
    do
      local db <close> = tls_connect{ fingerprint_list = list }
      assert.equal("fingerprint", db.tls.verified)
    end
    local f <close> = assert(io.open(list, "w"))
    f:write(("AB:"):rep(31) .. "AB\n")
    f:close()
    refused{ fingerprint_list = list }
  end)

  it("keeps different options apart", function()
    local good, bad = dir .. "/good.pem", dir .. "/bad.pem"
    copy(file("ca.pem"), good)
    copy(file("other-ca.pem"), bad)
    for _ = 1, 2 do
      local db <close> = tls_connect{ mode = "verify_ca", ca = good }
      assert.equal("ca", db.tls.verified)
      refused{ mode = "verify_ca", ca = bad }
    end
  end)
end)
