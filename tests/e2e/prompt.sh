#!/usr/bin/env bash
# End-to-end tests of the graft prompt in a real terminal: tmux runs graft in a
# detached session of fixed size; keys go in with send-keys and the screen comes
# back with capture-pane, polled until the expected text shows (or a timeout).
#
#   prompt.sh <graft executable> <scenario>
# scenarios: completion, multiline, tensor, interrupt, history, history_fifo, help, errors
# (a wrong argument to graft is one line; a user's function shows its own frames), script,
# training (the progress line in a narrow, then resized terminal; Ctrl-C while training),
# live (graft.train{live = true}: the picture redrawn in place under the epochs' lines)
# Exit status 77 (skipped) without tmux.
set -euo pipefail

graft=$1
scenario=$2
command -v tmux >/dev/null || { echo "tmux is not installed: skipped"; exit 77; }

work=$(mktemp -d)
# the server's socket in the test's own folder (tmux leaves it behind after kill-server)
socket="$work/tmux"
cleanup() {
  tmux -S "$socket" kill-server 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

history_file="$work/history"
timeout_seconds=${GRAFT_E2E_TIMEOUT:-30}

fail() {
  echo "FAIL ($scenario): $*" >&2
  echo "---- screen ----" >&2
  screen >&2 || true
  exit 1
}

# The whole pane, scrollback included.
screen() { tmux -S "$socket" capture-pane -p -S - -t e2e; }

# start [ARGS]: graft (with ARGS) in a new session, waiting for its prompt.
columns=120
start() {
  tmux -S "$socket" new-session -d -s e2e -x "$columns" -y 40 \
    "env HOME='$work' GRAFT_HISTORY='$history_file' '$graft' $*"
  wait_for "graft>"
}

# wait_for TEXT: polls the screen until TEXT (a fixed string) appears.
wait_for() {
  local deadline=$((SECONDS + timeout_seconds))
  while ((SECONDS < deadline)); do
    if screen 2>/dev/null | grep -qF -- "$1"; then return 0; fi
    sleep 0.1
  done
  fail "'$1' did not appear within ${timeout_seconds}s"
}

# wait_line TEXT: polls until a whole line of the screen is TEXT.
wait_line() {
  local deadline=$((SECONDS + timeout_seconds))
  while ((SECONDS < deadline)); do
    if screen 2>/dev/null | grep -qxF -- "$1"; then return 0; fi
    sleep 0.1
  done
  fail "no line '$1' within ${timeout_seconds}s"
}

# count TEXT: how many lines of the screen hold TEXT.
count() { screen | grep -cF -- "$1" || true; }

# wait_count TEXT N: polls until at least N lines hold TEXT.
wait_count() {
  local deadline=$((SECONDS + timeout_seconds))
  while ((SECONDS < deadline)); do
    if (($(count "$1") >= $2)); then return 0; fi
    sleep 0.1
  done
  fail "'$1' did not appear $2 times within ${timeout_seconds}s"
}

type_text() { tmux -S "$socket" send-keys -t e2e -l -- "$1"; }
keys() { tmux -S "$socket" send-keys -t e2e "$@"; }
enter_line() { type_text "$1"; keys Enter; }

# The session ends when graft exits; waits for that.
wait_exit() {
  local deadline=$((SECONDS + timeout_seconds))
  while ((SECONDS < deadline)); do
    tmux -S "$socket" has-session -t e2e 2>/dev/null || return 0
    sleep 0.1
  done
  fail "graft did not exit"
}

case "$scenario" in
completion)
  start
  type_text "graft.ze"
  keys Tab
  wait_for "graft> graft.zeros"
  enter_line "{2}"
  wait_for "graft.Tensor [2] {0, 0}"
  enter_line "t = graft.tensor{1, 2, 3}"
  wait_count "graft>" 3
  type_text "t:nu"
  keys Tab
  wait_for "graft> t:numel"
  enter_line "()"
  wait_line "3"
  # after indexing: readline's word is ".fi", the expression nets[1].fi
  enter_line "nets = {{first_net = 7}}"
  wait_count "graft>" 5
  type_text "x = nets[1].fi"
  keys Tab
  wait_for "graft> x = nets[1].first_net"
  enter_line " + 1"
  enter_line "x"
  wait_line "8"
  ;;
multiline)
  start
  enter_line "function square(x)"
  wait_for "  ...>"
  enter_line "  return x * x"
  enter_line "end"
  wait_count "graft>" 2
  enter_line "square(12)"
  wait_line "144"
  # an expression over two lines is printed too
  enter_line "graft.tensor{"
  wait_count "  ...>" 3
  enter_line "{1, 2}}"
  wait_for "graft.Tensor [1, 2]"
  wait_line "[[1, 2]]"
  ;;
tensor)
  start
  enter_line "big = graft.randn({1000, 1000}, 1)"
  wait_count "graft>" 2
  enter_line "big"
  wait_line "graft.Tensor [1000, 1000]"
  wait_line " ...,"
  lines=$(screen | grep -c . || true)
  ((lines <= 13)) || fail "printing a 1000x1000 tensor took $lines lines"
  longest=$(screen | awk '{ if (length($0) > n) n = length($0) } END { print n }')
  ((longest <= 100)) || fail "a line of $longest characters"
  ;;
interrupt)
  start
  enter_line "kept = 42"
  wait_count "graft>" 2
  enter_line "print('looping'); while true do end"
  wait_for "looping"
  keys C-c
  wait_for "interrupted!"
  wait_count "graft>" 3
  enter_line "kept + 1"
  wait_line "43"
  # Ctrl-C at the prompt abandons the line and keeps the session
  type_text "abandoned = 1"
  wait_for "graft> abandoned = 1"
  keys C-c
  wait_for "abandoned = 1^C"
  enter_line "= tostring(abandoned == nil) .. ' ' .. kept"
  wait_line '"true 42"'
  ;;
history)
  start
  enter_line "for i = 1, 2 do"
  enter_line "  first_entry = i"
  enter_line "end"
  wait_count "graft>" 2
  enter_line "history_marker = 7"
  wait_count "graft>" 3
  keys C-d
  wait_exit
  grep -qF "history_marker = 7" "$history_file" || fail "history file lacks the entry"
  # a second session recalls the entries, the multi-line one whole
  start
  keys Up
  wait_for "graft> history_marker = 7"
  keys C-u
  keys Up
  wait_for "first_entry = i"
  keys Enter
  wait_count "graft>" 2
  enter_line "= first_entry * 21"
  wait_line "42"
  ;;
history_fifo)
  # a FIFO as the history file would block the prompt at start: it is reported and
  # left alone (start fails if no prompt comes within the timeout)
  mkfifo "$history_file"
  start
  wait_for "is a FIFO; history is not kept in this session"
  enter_line "= 6 * 7"
  wait_line "42"
  keys C-d
  wait_exit
  [ -p "$history_file" ] || fail "the FIFO was replaced"
  ;;
training)
  columns=60
  start
  enter_line "data = graft.data.fashion_mnist{subset = 4000, test_subset = 200}"
  enter_line "net = graft.nn.build({graft.nn.conv2d{out = 4, kernel = 3}, graft.nn.relu{}, graft.nn.global_avgpool{}, graft.nn.linear{out = 10}}, {in_channels = 1, size = 28})"
  wait_count "graft>" 3
  enter_line "h = graft.train{net = net, data = data, epochs = 1000, batch = 2}"
  wait_for " left"
  # the line as one capture shows it (an epoch's end takes it away)
  longest=$(screen | { grep -F " left" || true; } | awk '{ if (length($0) > n) n = length($0) } END { print n + 0 }')
  ((longest <= 57)) || fail "a progress line of $longest characters in 60 columns"
  # a wider terminal: the line grows to show more
  tmux -S "$socket" resize-window -t e2e -x 110
  wait_for " img/s "
  # each epoch's line starts a line of its own, after the progress line was taken away
  wait_for "epoch 2/1000: loss"
  screen | grep -q "^epoch 1/1000: loss [0-9.]*, train" || fail "the epoch's line does not start its line"
  keys C-c
  wait_for "graft: graft.train: stopped by Ctrl-C "
  wait_for "complete epoch"
  screen | grep -qF "stack traceback" && fail "a traceback"
  screen | grep -F "graft: graft.train" | grep -qF " left" && fail "the message ran into the progress line"
  screen | grep -qF "to be able to resume" || fail "no word on resuming"
  enter_line "= tostring(#graft.last >= 2) .. ' ' .. tostring(h)"
  wait_line '"true nil"'
  ;;
live)
  start
  enter_line "data = graft.data.fashion_mnist{subset = 1000, test_subset = 100}"
  enter_line "net = graft.nn.build({graft.nn.conv2d{out = 4, kernel = 3}, graft.nn.relu{}, graft.nn.global_avgpool{}, graft.nn.linear{out = 10}}, {in_channels = 1, size = 28})"
  wait_count "graft>" 3
  enter_line "h = graft.train{net = net, data = data, epochs = 4, batch = 10, live = true, live_every = 20}"
  wait_count "graft>" 4
  (($(count "accuracy (%)") == 1)) || fail "the picture was drawn $(count "accuracy (%)") times, not redrawn in place"
  (($(count "epoch 4/4: loss") == 1)) || fail "no line of epoch 4"
  # the picture stays under the epochs' lines, the prompt under it
  after=$(screen | awk '/epoch 4\/4: loss/ { seen = 1 } seen && /accuracy \(%\)/ { print "ok"; exit }')
  [ "$after" = ok ] || fail "the picture is not under the epochs' lines"
  screen | grep -qF "train acc." || fail "no key"
  screen | grep -qiF "warning" && fail "a warning"
  enter_line "= #h"
  wait_line "4"
  ;;
help)
  start
  enter_line "?graft.zeros"
  wait_for "A tensor of zeros with the given shape"
  enter_line "help(graft.nn.conv2d)"
  wait_for "2-D convolution"
  ;;
errors)
  start
  enter_line "net = graft.models.resnet{depth = 7}"
  wait_for "graft: input:1: graft.models.resnet: option 'depth': 6n + 2"
  enter_line "function build(depth) local net = graft.models.resnet{depth = depth}; return net end"
  enter_line "built = build(9)"
  wait_for "graft: input:1: graft.models.resnet: option 'depth'"
  wait_for "input:1: in function 'build'"
  wait_for "input:1: in main chunk"
  screen | grep -qF "graft/" && fail "a path in graft's Lua files"
  screen | grep -qF "[C]" && fail "a C frame"
  (($(count "stack traceback") == 1)) || fail "a traceback for the wrong argument at the prompt"
  ;;
script)
  # graft -i script.lua: the script runs with its arguments, then the prompt opens
  printf 'from_script = #arg * 10 + tonumber(arg[1])\nprint("script ran")\n' > "$work/setup.lua"
  start -i "$work/setup.lua" 2
  wait_for "script ran"
  enter_line "= from_script"
  wait_line "12"
  ;;
*)
  echo "unknown scenario '$scenario'" >&2
  exit 2
  ;;
esac
echo "ok ($scenario)"
