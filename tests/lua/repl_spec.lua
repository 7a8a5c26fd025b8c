-- What the prompt prints, what Tab offers, and the documentation behind help().
local graft = require "graft"
local repl = require "graft.repl"
local doc = require "graft.doc"

describe("printing values", function()
  it("tables nest up to the depth limit, on one line when short", function()
    expect.eq(repl.format({ a = 1, b = { 1, 2, { 3, { 4 } } } }), "{a = 1, b = {1, 2, {3, {... 1 entries}}}}")
    expect.eq(repl.format({ "x", [10] = true, ["not a name"] = 1 }), '{"x", [10] = true, ["not a name"] = 1}')
    expect.eq(repl.format({}), "{}")
  end)

  it("long tables are cut at the item limit and go over several lines", function()
    local t = {}
    for i = 1, 100 do t[i] = i * 1000 end
    local s = repl.format(t)
    expect.contains(s, { "\n", "... (80 more)" })
    local lines = select(2, s:gsub("\n", "\n"))
    expect.truthy(lines <= repl.max_items + 2, lines .. " lines")
  end)

  it("cycles, tensors, documented functions and long strings", function()
    local t = {}
    t.self = t
    expect.contains(repl.format(t), "<cycle")
    expect.eq(repl.format({ graft.zeros { 2 } }), "{graft.Tensor [2] {0, 0}}")
    expect.eq(repl.format({ w = graft.zeros { 2, 3 } }), "{w = graft.Tensor [2, 3]}", "a matrix in a table: its shape")
    expect.contains(repl.format(graft.zeros { 2, 3 }), "[[0, 0, 0],\n [0, 0, 0]]")
    expect.eq(repl.format(graft.zeros), "function: graft.zeros{d1, d2, ...} -> tensor")
    expect.contains(repl.format(("x"):rep(5000)), "(5000 characters)")
  end)
end)

describe("completion", function()
  it("completes globals, keywords, fields and methods", function()
    rawset(_G, "completion_tensor", graft.zeros { 2 })
    rawset(_G, "completion_net", graft.models.resnet {})
    local function has(list, item)
      for _, v in ipairs(list) do if v == item then return true end end
      return false
    end
    expect.truthy(has(repl.complete("gra"), "graft"), "global")
    expect.truthy(has(repl.complete("whi"), "while"), "keyword")
    expect.eq(repl.complete("graft.ze"), { "graft.zeros" })
    expect.truthy(has(repl.complete("graft.nn.re"), "graft.nn.relu6"), "nested field")
    expect.eq(repl.complete("completion_tensor:sh"), { "completion_tensor:shape" })
    expect.eq(repl.complete("completion_net:for"), { "completion_net:forward" })
    expect.eq(repl.complete("string.up"), { "string.upper" })
    expect.truthy(has(repl.complete("graft.core.tensor_methods."), "graft.core.tensor_methods.sum"), "table of methods")
    expect.eq(repl.complete("nothing_here.x"), {})
    rawset(_G, "completion_tensor", nil)
  end)

  it("completes after indexing, replacing the whole expression", function()
    rawset(_G, "completion_list", { { alpha = 1, also = 2 }, named = { { beta = 3 } } })
    local matches, start = repl.complete("x = completion_list[1].al")
    expect.eq(matches, { "completion_list[1].alpha", "completion_list[1].also" })
    expect.eq(start, 5)
    expect.eq(repl.complete("completion_list['named'][1].b"), { "completion_list['named'][1].beta" })
    expect.eq(repl.complete('completion_list ["named"] [ 1 ].b'), { 'completion_list ["named"] [ 1 ].beta' })
    expect.eq(repl.complete("completion_list[x].a"), {}) -- a variable index is not evaluated
    expect.eq(repl.complete("f(x)[1].a"), {})           -- nor is a call
    expect.eq(repl.value_before("completion_list[1].alpha"), 1)
    expect.eq(repl.value_before("print(graft.zeros"), graft.zeros)
    local _, word_start = repl.complete("print(gra")
    expect.eq(word_start, 7)
    rawset(_G, "completion_list", nil)
    rawset(_G, "completion_net", nil)
  end)
end)

describe("documentation", function()
  -- Every public function of graft's tensors and networks, graft.nn and the
  -- tensor and network methods has help text.
  it("covers every public function", function()
    local missing = {}
    local function check(prefix, t)
      for name, value in pairs(t) do
        if type(value) == "function" and not doc.lookup(value) then
          missing[#missing + 1] = prefix .. name
        end
      end
    end
    -- graft.core's tensor and network functions (other areas document theirs)
    local core = {}
    for _, name in ipairs { "tensor", "zeros", "ones", "randn", "rand", "save_tensors",
      "load_tensors", "load", "cross_entropy", "net_create", "net_conv2d", "net_batchnorm",
      "net_activation", "net_maxpool", "net_avgpool", "net_global_avgpool", "net_linear",
      "net_shortcut_a", "net_add", "net_finalize", "net_node", "resnet_cifar",
      "mobilenetv2_cifar" } do
      core[name] = graft.core[name]
      expect.truthy(core[name], "graft.core." .. name .. " exists")
    end
    check("graft.core.", core)
    check("graft.nn.", graft.nn)
    check("tensor:", graft.core.tensor_methods)
    check("net:", graft.core.net_methods)
    for _, name in ipairs { "tensor", "zeros", "ones", "randn", "rand", "save_tensors",
                            "load_tensors", "load", "cross_entropy", "help" } do
      if not doc.lookup(graft[name]) then missing[#missing + 1] = "graft." .. name end
    end
    table.sort(missing)
    expect.eq(missing, {}, "undocumented")
  end)

  it("help prints the text for values, names and modules", function()
    local printed = {}
    local original = print
    print = function(...) printed[#printed + 1] = table.concat({ ... }, "\t") end
    local ok, message = pcall(function()
      graft.help(graft.zeros)
      graft.help("graft.nn.conv2d")
      graft.help(graft.zeros { 1 })        -- a tensor: its methods
      graft.help("no.such.thing")
      graft.help(function() end)
    end)
    print = original
    assert(ok, message)
    local all = table.concat(printed, "\n")
    expect.contains(all, { "graft.zeros{d1, d2, ...} -> tensor", "graft.nn.conv2d{", "t[i]",
      "no value named 'no.such.thing'", "no documentation for function" })
  end)

  it("graft.doc registers text and strips the indentation of continuation lines", function()
    local f = graft.doc(function() end, [[f(x) -> y
        Does things.]])
    expect.eq(doc.lookup(f), "f(x) -> y\nDoes things.")
    expect.error(function() graft.doc(1, "x") end, "only functions and tables")
  end)
end)
