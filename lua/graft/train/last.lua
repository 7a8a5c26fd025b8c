-- graft.last: the history (complete epochs) of the last graft.train, or the result of
-- the last graft.run, also when Ctrl-C stopped it.
return function(value)
  local graft = package.loaded["graft"]
  if type(graft) == "table" then graft.last = value end
end
