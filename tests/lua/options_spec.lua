-- graft.options: one declaration per option gives the checks, the help lines and
-- the command line flags.
local graft = require "graft"
local options = require "graft.options"

local function spec()
  return options.spec("graft.example", {
    { "epochs", "integer", default = 1, min = 1, help = "passes over the data" },
    { "rate", "number", default = 0.5, min = 0, max = 1, help = "a fraction" },
    { "kind", "string", default = "cosine", choices = { "cosine", "step" }, help = "the schedule" },
    { "list", "table", default = { 1, 2 }, help = "some numbers" },
    { "name", "string", required = true, help = "what to call it" },
    { "resume", "string|boolean", help = "true or a directory" },
    { "even", "integer", check = function(v) if v % 2 ~= 0 then return "an even integer" end end },
    { "quiet", "boolean", default = false, help = "print nothing" },
    { "test", "boolean", default = true, help = "test after each epoch" },
  })
end

describe("spec:check", function()
  it("fills defaults into a new table and keeps given values", function()
    local given = { name = "x", epochs = 3 }
    local o = spec():check(given)
    expect.eq(o, { name = "x", epochs = 3, rate = 0.5, kind = "cosine", list = { 1, 2 },
                   quiet = false, test = true })
    expect.eq(given, { name = "x", epochs = 3 }, "the given table is left as it was")
    o.list[1] = 99
    expect.eq(spec():check { name = "x" }.list, { 1, 2 }, "table defaults are copies")
  end)

  it("names the owner, the option and what was expected", function()
    local s = spec()
    local function refused(given, message)
      local text = expect.error(function() local o = s:check(given) return o end, "graft.example: " .. message)
      expect.contains(text, "options_spec.lua:", "raised at the caller's line")
    end
    refused({ name = "x", epoch = 2 }, "unknown option 'epoch' (options: epochs, rate, kind,")
    refused({ name = "x", [1] = 2 }, "unknown option 1")
    refused({}, "option 'name' is required: a string expected")
    refused({ name = "x", epochs = 0 }, "option 'epochs': an integer >= 1 expected, got 0")
    refused({ name = "x", epochs = 2.5 }, "option 'epochs': an integer >= 1 expected, got 2.5")
    refused({ name = "x", rate = 2 }, "option 'rate': a number in [0, 1] expected, got 2")
    refused({ name = "x", rate = 0 / 0 }, "option 'rate': a number in [0, 1] expected, got")
    refused({ name = "x", kind = "linear" }, "option 'kind': 'cosine' or 'step' expected, got \"linear\"")
    refused({ name = "x", resume = 3 }, "option 'resume': a string or a boolean expected, got 3")
    refused({ name = "x", even = 3 }, "option 'even': an even integer expected, got 3")
    refused({ name = "x", list = graft.zeros { 2 } }, "option 'list': a table expected, got a graft.Tensor")
    refused(7, "expected a table of options, got 7")
    expect.eq(s:check({ name = "x", resume = true }).resume, true)
    expect.eq(s:check({ name = "x", even = 4 }).even, 4)
  end)

  it("passes undeclared keys on when asked, still checking the declared ones", function()
    local o = spec():check({ name = "x", colour = "red", [1] = 4 }, true)
    expect.eq({ o.colour, o[1], o.epochs }, { "red", 4, 1 })
    expect.error(function() local r = spec():check({ name = "x", epochs = 0, colour = 1 }, true) return r end,
      "option 'epochs': an integer >= 1 expected, got 0")
  end)

  it("raises at the first caller outside graft's Lua files", function()
    local function call() graft.nn.conv2d { out = 0 } end -- graft.nn tail-calls the check
    local message = expect.error(call, "graft.nn.conv2d: option 'out_channels'")
    expect.contains(message, "options_spec.lua:" .. debug.getinfo(call, "S").linedefined .. ":")
    message = expect.error(function() options.raise("graft.x: bad") end, "graft.x: bad")
    expect.contains(message, "options_spec.lua:")
  end)

  it("refuses a declaration twice and unknown types", function()
    expect.error(function() options.spec("f", { { "a", "integer" }, { "a", "number" } }) end,
      "option 'a' is declared twice")
    expect.error(function() options.spec("f", { { "a", "colour" } }) end, "unknown type 'colour'")
  end)

  it("picks some of a spec's options, with other defaults, and adds more", function()
    local s = spec():pick("graft.other", { "kind", epochs = { default = 5 }, "list", "resume",
                                           rate = { default_help = "the caller's", help = "other words" } })
      :add { "more", "integer", default = 2 }
    expect.eq(s:check {}, { epochs = 5, kind = "cosine", list = { 1, 2 }, more = 2 },
      "no default stays none; default_help without default removes it")
    expect.contains(s:describe(), { "rate = the caller's", "other words (a number in [0, 1])" })
    expect.eq(spec():check { name = "x" }.epochs, 1, "the original keeps its default")
    expect.contains(s:describe(), "epochs = 5")
    expect.error(function() local o = s:check { test = true } return o end, "graft.other: unknown option 'test'")
    expect.error(function() spec():pick("f", { "colour" }) end, "no option 'colour'")
  end)
end)

describe("spec:describe", function()
  it("lists every option with its default, its help and what it takes", function()
    local text = spec():describe()
    expect.contains(text, { "  epochs = 1", "passes over the data (an integer >= 1)",
                            "kind = 'cosine'", "('cosine' or 'step')", "list = {1, 2}",
                            "name (required)", "(a number in [0, 1])", "(a string or a boolean)" })
    for line in text:gmatch("[^\n]+") do expect.truthy(#line <= 88, "short lines: " .. line) end
  end)
end)

describe("command lines", function()
  local function parser()
    local p = options.parser("example", "An example.")
    spec():add_arguments(p, { "epochs", "rate", "kind", { "name", flag = "--title" }, "quiet", "test",
                              { "kind", flag = "--cos", value = "cosine" } })
    return p
  end

  it("turns flags into the options, converted and checked as declared", function()
    local o = options.parse(parser(), { "--epochs", "3", "--rate=0.25", "--kind", "step", "--title", "t",
                                        "--quiet", "--no-test" })
    expect.eq(o, { epochs = 3, rate = 0.25, kind = "step", name = "t", quiet = true, test = false })
    expect.eq(options.parse(parser(), { "--kind", "step", "--cos", "--title", "t" }), { kind = "cosine", name = "t" })
    expect.eq(options.parse(parser(), { "--title", "t" }), { name = "t" }, "absent flags leave the function's defaults")
  end)

  it("suggests the nearest of a command's own flags", function()
    local flags = { "-o", "--inplace", "--continue", "--quick" }
    expect.eq(options.did_you_mean("--quik", flags), "\nDid you mean '--quick'?")
    expect.eq(options.did_you_mean("--inplcae", flags), "\nDid you mean '--inplace'?")
    expect.eq(options.did_you_mean("--nothing-like", flags), "")
    expect.eq(options.did_you_mean("-x", flags), "", "one letter of two is no likeness")
  end)

  it("gives the usage and the error, or the help, with an exit status", function()
    local function refused(args, message)
      local result, status, text = options.parse(parser(), args)
      expect.eq({ result, status }, { nil, 2 }, table.concat(args, " "))
      expect.contains(text, { "Usage: example", "example: " .. message })
    end
    refused({ "--title", "t", "--epochs", "0" }, "--epochs: an integer >= 1 expected, got '0'")
    refused({ "--epochs", "two" }, "--epochs: an integer >= 1 expected, got 'two'")
    refused({ "--rate", "1.5" }, "--rate: a number in [0, 1] expected, got '1.5'")
    refused({ "--kind", "linear" }, "--kind: 'cosine' or 'step' expected, got 'linear'")
    refused({ "--frobnicate" }, "unknown option '--frobnicate'")
    refused({ "--epochs", "2" }, "missing option '--title'")
    refused({ "--title", "t", "--epochs", "-2" }, "--epochs: an integer >= 1 expected, got '-2'")
    local result, status, text = options.parse(parser(), { "--epochs", "x", "--help" })
    expect.eq({ result, status }, { nil, 0 })
    expect.contains(text, { "Usage: example", "An example.", "--epochs", "passes over the data",
                            "(default 1)", "--no-test", "--cos" })
  end)
end)
