local helpers = require "helpers"

describe("smoke", function()
  it("zlib", function()
    local db = helpers.connect_big{ compress = true }
    assert.equal("zlib", db.compression)
    assert.equal("ON", db:query("SHOW SESSION STATUS LIKE 'Compression'"):row(1, "a")[2])
    local res = db:query("SELECT REPEAT('abc', 100000) AS a, 1 AS b"):row(1)
    assert.equal(300000, #res.a)
    local n = 0
    for _ in db:query("SELECT seq FROM seq_1_to_100000"):rows() do n = n + 1 end
    assert.equal(100000, n)
    db:close()
  end)
end)
