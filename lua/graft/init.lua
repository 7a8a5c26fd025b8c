-- require "graft": the public table, made of the C module graft.core and the Lua
-- submodules of lua/graft/, each in its own file.
local core = require "graft.core"

local graft = { core = core, version = "0.1.0" }
-- Submodules may `require "graft"` while it loads and get this (partial) table;
-- only this file puts names into it.
package.loaded["graft"] = graft

for _, name in ipairs { "tensor", "zeros", "ones", "randn", "rand", "save_tensors",
                        "load_tensors", "load", "cross_entropy" } do
  graft[name] = core[name]
end

local doc = require "graft.doc"
graft.doc = doc
graft.help = doc.help
require "graft.core_docs"

-- graft.<name> = require "graft.<name>". Add your submodule here when it exists.
local submodules = { "nn", "data", "models", "train", "grafting", "run", "json", "plot", "notebook", "summary" }
for _, name in ipairs(submodules) do
  graft[name] = require("graft." .. name)
end

-- The grafting functions are also graft.<name> (graft.l1, graft.graft_ring, ...), and
-- the training loop as an object graft.trainer.
for name, value in pairs(graft.grafting) do
  if type(value) == "function" then graft[name] = value end
end
graft.trainer = graft.train.trainer

return graft
