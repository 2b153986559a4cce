-- Deadlines a peer cannot stretch (README, "Timeouts"): connect_timeout
-- bounds the TCP connect itself, not only the handshake after it, and a
-- buffered query's read_timeout bounds its whole response, however evenly
-- the peer spreads it out; a streaming cursor's read_timeout applies to
-- each row. The peer is spec/support/fakeserver.py.

local mylua = require "mylua"
local helpers = require "helpers"
local peer = require "support.peer"

local raises = helpers.raises

local function options(p, extra)
  local o = {
    host = "127.0.0.1", port = p.port, user = "u", password = "p",
    connect_timeout = 2, read_timeout = 1,
  }
  for k, v in pairs(extra or {}) do o[k] = v end
  return o
end

describe("connect_timeout", function()
  after_each(peer.stop_all)

  it("bounds a TCP connect that never completes (a full accept queue) with 2003", function()
    local p = peer.start("full_backlog")
    -- the peer filled its own accept queue: our SYNs are dropped, the
    -- connect neither succeeds nor fails until the peer gives up (3 s)
    assert.truthy(tonumber(p:value("filled")) >= 1)
    local err, elapsed = raises(2003, mylua.connect, options(p, { connect_timeout = 1 }))
    assert.is_true(elapsed >= 0.9, "gave up early: " .. elapsed .. " s")
    assert.is_true(elapsed < 1.6, "took " .. elapsed .. " s")
    assert.truthy(err.message:find("127.0.0.1", 1, true), err.message)
  end)

  it("bounds it with a fractional timeout too", function()
    local p = peer.start("full_backlog")
    assert.truthy(tonumber(p:value("filled")) >= 1)
    local _, elapsed = raises(2003, mylua.connect, options(p, { connect_timeout = 0.4 }))
    assert.is_true(elapsed >= 0.3, "gave up early: " .. elapsed .. " s")
    assert.is_true(elapsed < 1.0, "took " .. elapsed .. " s")
  end)
end)

describe("read_timeout", function()
  after_each(peer.stop_all)

  -- The peer sends a row every 0.3 s, six rows and the end: no single read
  -- waits as long as the 1 s timeout, the whole response takes 2.1 s.
  it("bounds the whole buffered response, not each packet of it (2013 after 1 s)", function()
    local p = peer.start("trickle")
    local db = mylua.connect(options(p))
    local _, elapsed = raises(2013, db.query, db, "SELECT seq FROM t")
    assert.is_true(elapsed >= 0.9, "gave up early: " .. elapsed .. " s")
    assert.is_true(elapsed < 1.6, "took " .. elapsed .. " s")
    -- a timeout breaks the connection
    raises(2006, db.query, db, "SELECT 1")
    assert.is_true(db:close())
  end)

  it("applies to each row of a streaming cursor, which reads the same response whole", function()
    local p = peer.start("trickle")
    local db = mylua.connect(options(p))
    local cur = db:cursor{ stream = true }
    local t0 = helpers.now()
    cur:execute("SELECT seq FROM t")
    local n = 0
    for seq in cur:rows("v") do
      n = n + 1
      assert.equal(n, seq)
    end
    local elapsed = helpers.now() - t0
    assert.equal(6, n)
    assert.is_true(elapsed >= 1.8, "the peer was quicker than planned: " .. elapsed .. " s")
    cur:close()
    -- the connection is in sync and usable after it
    assert.equal(1, db:query("SELECT 1"):row(1, "a")[1])
    assert.is_true(db:close())
  end)
end)
