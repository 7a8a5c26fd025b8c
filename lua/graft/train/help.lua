-- The help text of graft.train (?graft.train at the prompt); its options follow it.
return [[
graft.train{net=, data=, epochs=1, ...} -> history
Trains net on data with SGD and returns one record per epoch: epoch, loss,
train_top1, test_loss, test_top1 (test_top5 with >= 100 classes), lr, images_per_s,
seconds (accuracies in %).
A NaN or infinite loss, or BatchNorm running statistic, stops with an error naming
epoch and batch (and the statistic); that batch changes nothing. Ctrl-C stops with
one line saying where and how to resume; graft.last holds the history of the
complete epochs (after any graft.train, the last one's history).
In a terminal, a progress line fitted to its width shows the epoch's and the whole
run's time left (not in logs or pipes).
See also graft.trainer (the same loop as an object) and graft.train.diff_lr.
Options:
]]
