-- graft.json (on lua-dkjson): kinds kept, stable text, exact floats, UTF-8 out.
local json = require "graft.json"

describe("graft.json", function()
  it("keeps arrays, objects, null and integers through a round trip", function()
    local text = '{"a":[1,2.5,{},[]],"b":{},"c":null,"d":"x\u{e9}\\n","n":7}'
    local value = json.decode(text)
    expect.eq(json.decode('"x\\u00e9"'), "x\u{e9}", "escapes")
    expect.truthy(json.is_array(value.a) and json.is_array(value.a[4]), "arrays marked")
    expect.truthy(not json.is_array(value.b) and not json.is_array(value.a[3]), "objects marked")
    expect.eq(value.c, json.null)
    expect.eq({ math.type(value.n), math.type(value.a[1]), math.type(value.a[2]) }, { "integer", "integer", "float" })
    expect.eq(value.d, "x\u{e9}\n")
    expect.eq(json.encode(value), text, "the same text back")
  end)

  it("writes keys sorted, so the same value always gives the same text", function()
    local value = { zeta = 1, alpha = { y = 2, b = 3 }, mid = json.array { json.object { k = 1, c = 2 } } }
    expect.eq(json.encode(value), '{"alpha":{"b":3,"y":2},"mid":[{"c":2,"k":1}],"zeta":1}')
    expect.eq(json.encode(value, { indent = true }),
      '{\n  "alpha":{\n    "b":3,\n    "y":2\n  },\n  "mid":[{\n      "c":2,\n      "k":1\n    }],\n  "zeta":1\n}')
  end)

  it("writes floats that read back as the same double", function()
    local seed = os.time()
    math.randomseed(seed)
    for _ = 1, 200 do
      local x = (math.random() - 0.5) * 10 ^ math.random(-30, 30)
      local back = json.decode(json.encode { x })[1]
      expect.eq(back, x, string.format("%.17g (seed %d)", x, seed))
    end
    expect.eq(json.encode { 0.1 + 0.2 }, "[0.30000000000000004]")
  end)

  it("keeps an object an object whatever its keys", function()
    expect.eq(json.encode { n = 5 }, '{"n":5}')
    expect.eq(json.encode(json.object()), "{}")
    expect.eq(json.encode(json.array()), "[]")
    expect.eq(json.encode {}, "{}", "an unmarked empty table is an object")
  end)

  it("replaces bytes that are not UTF-8 by U+FFFD, in keys and values", function()
    local text = json.encode { ["k\xff"] = "caf\xe9 \xe2\x82", ok = "\u{20ac}" }
    expect.eq(text, '{"k\u{FFFD}":"caf\u{FFFD} \u{FFFD}\u{FFFD}","ok":"\u{20ac}"}')
    expect.truthy(utf8.len(text), "UTF-8")
  end)

  it("refuses what JSON cannot hold, naming where", function()
    expect.error(function() json.encode { a = { 1, 0 / 0 } } end, "at $.a[2] cannot be written as JSON")
    expect.error(function() json.encode { math.huge } end, "inf at $[1]")
    expect.error(function() json.encode { a = print } end, "a function at $.a")
    expect.error(function() json.encode { [1] = 1, [3] = 3 } end, "key 1 at $ is not a string")
    local loop = {}
    loop.self = loop
    expect.error(function() json.encode(loop) end, "contains itself")
  end)

  it("names line and column of bad input", function()
    expect.error(function() json.decode('{"a": 1} x') end, "json.decode: text after the value at line 1, column 10")
    expect.error(function() json.decode('{\n"a": }') end, "json.decode: no valid JSON value at line 2, column 6")
    expect.error(function() json.decode('[1, 2') end, "json.decode: unterminated array")
    expect.error(function() json.decode(3) end, "expected a string, got number")
  end)
end)
