-- Fig. 7: network information (the sum of the conv layers' entropies, eq. 6) and
-- test accuracy of network 1 against the number of networks grafted in a ring.
package.path = debug.getinfo(1, "S").source:match("^@(.*/)") .. "lib/?.lua;" .. package.path
local ablation = require "ablation"
local graft = require "graft"

local function report(ctx)
  local ks, info, info_sd, acc, acc_sd, rows = {}, {}, {}, {}, {}, {}
  for _, variant in ipairs(ctx.variants) do
    local runs = ctx.by_variant[variant.name].runs
    local infos, accs = {}, {}
    for r, m in ipairs(runs) do infos[r], accs[r] = m.information, m.accuracy end
    local im, isd = ablation.stats(infos)
    local am, asd = ablation.stats(accs)
    ks[#ks + 1], info[#info + 1], info_sd[#info_sd + 1] = variant.k, im, isd or 0
    acc[#acc + 1], acc_sd[#acc_sd + 1] = am, asd or 0
    rows[#rows + 1] = {tostring(variant.k), ablation.format_mean(im, isd, 3), ablation.format_mean(am, asd)}
  end
  graft.plot.information{networks = ks, information = info, information_err = info_sd, accuracy = acc,
                         accuracy_err = acc_sd, out = ctx.out .. "/fig7.png"}
  return "\nNetwork information of network 1 (sum of conv layer entropies, nats) and its accuracy:\n\n"
         .. ablation.markdown({"networks", "information", "test accuracy (%)"}, rows)
         .. "\nThe paper (Fig. 7, MobileNetV2 on CIFAR-10) shows information and accuracy rising with "
         .. "the number of networks; it prints no numbers for the information.\n\nPicture: "
         .. ctx.out .. "/fig7.png\n"
end

ablation.main{
  name = "fig7_information",
  title = "Fig. 7: information against the number of networks",
  paper_note = "MobileNetV2 on CIFAR-10 (Fig. 7; accuracies of Table 6)",
  presets = {
    quick = ablation.preset(ablation.quick, {subset = 2500}),
    paper = ablation.preset(ablation.paper),
  },
  report = report,
  variants = function(preset)
    local paper = {[1] = {92.42, 71.44}, [2] = {94.20, 74.15}, [3] = {94.55, 76.21}, [4] = {95.23, 77.08},
                   [6] = {95.33, 78.32}}
    local v = {}
    for _, k in ipairs(preset.run.model == "mobilenetv2" and {1, 2, 3, 4, 6} or {1, 2, 3, 4}) do
      v[#v + 1] = {name = "K" .. k, k = k, label = k == 1 and "baseline" or k .. " networks", paper = paper[k],
                   run = {nets = k, scion = k == 1 and "none" or "external", criterion = "entropy", diff_lr = true}}
    end
    return v
  end,
}
