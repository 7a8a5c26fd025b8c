-- Documentation of the C module graft.core (tensors, networks, files), registered
-- with graft.doc so that help(graft.zeros) and ?t:sum work.
local core = require "graft.core"
local doc = require "graft.doc"

doc(core, [[graft.core
The C module: tensors, networks and their files. Its public functions are also
in the graft table (graft.tensor, graft.load, ...).]])

doc(core.tensor, [==[graft.tensor(nested_table) -> tensor
A float32 tensor from nested tables of numbers, up to 5 levels:
  graft.tensor{{1, 2, 3}, {4, 5, 6}}   --> graft.Tensor [2, 3]
                                            [[1, 2, 3],
                                             [4, 5, 6]]
Every row must have the length of the first one.]==])
doc(core.zeros, [[graft.zeros{d1, d2, ...} -> tensor
A tensor of zeros with the given shape (1 to 5 positive sizes).]])
doc(core.ones, [[graft.ones{d1, d2, ...} -> tensor
A tensor of ones with the given shape.]])
doc(core.randn, [[graft.randn({d1, d2, ...}, seed = 0) -> tensor
Standard normal values from graft's PCG32 generator: the same seed gives the same
numbers on every machine.]])
doc(core.rand, [[graft.rand({d1, d2, ...}, seed = 0) -> tensor
Uniform values in [0, 1) from graft's PCG32 generator.]])
doc(core.save_tensors, [[graft.save_tensors(path, {name = tensor, ...} [, metadata]) -> nil
Writes a safetensors file (F32 tensors; Lua integers become I64 scalars, as
PyTorch's num_batches_tracked), through a temporary file renamed into place.
metadata: {string = string or number} for the file's __metadata__.]])
doc(core.load_tensors, [[graft.load_tensors(path) -> {name = tensor, ...}, metadata
Reads a safetensors file: F32 tensors as tensors (a 0-d tensor as shape [1]),
I64 values as Lua integers (0-d) or flat arrays of integers. A corrupt,
truncated or inconsistent file is refused with an error naming the file, the
tensor and what was wrong.]])
doc(core.load, [[graft.load(path) -> net
A network saved with net:save(path): rebuilt from the architecture recorded in
the file's metadata ("graft.architecture"), compared with the file's tensors, then
its parameters and BatchNorm statistics loaded. For weights from elsewhere
(PyTorch), build the network and call net:load(path).]])
doc(core.cross_entropy, [[graft.cross_entropy(logits, labels) -> loss, grad
Softmax cross-entropy, mean over the batch (PyTorch's CrossEntropyLoss).
logits: tensor [N, classes]; labels: Lua array of N class indices counted from 0,
as in the data files and PyTorch. grad is d loss / d logits, [N, classes].]])

doc(core.tensor_methods, [[graft.Tensor: float32, up to 5 dimensions, printed short
(a matrix with its middle rows and columns elided).
  t[i]            number (1-D) or a view of row i (writes go to t); t[i] = v
  #t              size of the first dimension
  t + u, t - u, t * u, t / u, -t   elementwise, with tensors of the same shape
                  or numbers; a fresh tensor
  local t <close> = ...   frees the memory at the end of the scope]])
local m = core.tensor_methods
doc(m.shape, "t:shape() -> {d1, d2, ...}")
doc(m.numel, "t:numel() -> number of elements")
doc(m.dim, "t:dim() -> number of dimensions")
doc(m.totable, "t:totable() -> nested Lua tables of numbers (all of them: mind the size)")
doc(m.sum, "t:sum() -> sum of the elements (accumulated in double)")
doc(m.mean, "t:mean() -> mean of the elements")
doc(m.max, "t:max() -> largest element")
doc(m.min, "t:min() -> smallest element")
doc(m.abs_sum, "t:abs_sum() -> sum of absolute values (the l1 norm)")
doc(m.fill, "t:fill(v) -> t, every element set to v")
doc(m.clone, "t:clone() -> a copy that owns its memory")
doc(m.copy, "t:copy(src) -> t, src's values copied in (same shape)")
doc(m.reshape, [[t:reshape{d1, d2, ...} -> view
A view with another shape and the same number of elements; writes go to t.]])
doc(m.close, "t:close() -> frees the memory now (also what `<close>` does)")

doc(core.net_methods, [[graft.Net: a network over one flat parameter buffer.
Built by graft.models.*, graft.nn.build, or graft.load. Tensors named as the
PyTorch state_dict keys ("layer1.0.conv1.weight").]])
local n = core.net_methods
doc(n.forward, [[net:forward(x) -> y
x: [N, C, H, W] as the network's input ([N, C] when the input is C x 1 x 1).
y: a fresh tensor, [N, classes] (or [N, C, H, W] when the last node is spatial).]])
doc(n.backward, [[net:backward(grad_output) -> nil
Back-propagates grad_output (the shape of the last forward's output); training
mode only. The parameter gradients are replaced (not accumulated): net:grads().]])
doc(n.train, "net:train([on = true]) -> net, training mode (BatchNorm uses batch statistics)")
doc(n.eval, "net:eval() -> net, evaluation mode (BatchNorm uses running statistics)")
doc(n.is_training, "net:is_training() -> boolean")
doc(n.parameters, [[net:parameters() -> {name = view}, {names in order}
Views into the flat parameter buffer: writing to them changes the network.
A view keeps the network alive.]])
doc(n.grads, "net:grads() -> {name = view}, {names}: the gradient buffer, named as parameters()")
doc(n.buffers, [[net:buffers() -> {name = view or integer}, {names}
BatchNorm running_mean / running_var as views; num_batches_tracked as integers.]])
doc(n.param_count, "net:param_count() -> number of trainable parameters")
doc(n.model, "net:model() -> the model's name (\"resnet20\", \"custom\", ...)")
doc(n.nodes, [[net:nodes() -> {{op=, name=, inputs=, channels=, height=, width=, ...}, ...}
The nodes in execution order; entry i + 1 is node i (node 0 is the input).]])
doc(n.input_shape, "net:input_shape() -> {C, H, W}")
doc(n.output_shape, "net:output_shape() -> per-sample output shape, {classes} or {C, H, W}")
doc(n.initialise, "net:initialise(seed) -> net, weights drawn again with the network's rule (Kaiming normal, or PyTorch's defaults for MobileNetV2; see graft.models)")
doc(n.copy_state, "net:copy_state(other) -> net, parameters and statistics copied from other")
doc(n.release_activations, "net:release_activations() frees the memory of the last batch's activations and gradients (graft.train does at its end); the next forward allocates it again")
doc(n.activation_bytes, "net:activation_bytes() -> bytes of activation memory the network holds now")
doc(n.clone, "net:clone() -> an independent copy (same architecture, weights and mode)")
doc(n.save, [[net:save(path [, metadata]) -> nil
Writes parameters and BatchNorm statistics as safetensors (PyTorch state_dict
names), with the architecture in the metadata so graft.load(path) rebuilds it.]])
doc(n.load, [[net:load(path) -> net
Loads every tensor of the network from a safetensors file (from net:save or
PyTorch); a missing, extra or mis-shaped tensor is refused, leaving net as it was.]])
doc(n.close, "net:close() -> frees the network now (also what `<close>` does)")

doc(core.net_create, [[graft.core.net_create(channels, height, width) -> net (being built)
The low-level builder behind graft.nn.build: add nodes with graft.core.net_conv2d,
net_batchnorm, net_activation, net_maxpool, net_avgpool, net_global_avgpool,
net_linear, net_shortcut_a, net_add (each returns the new node's index; node 0
is the input), then graft.core.net_finalize(net, seed, model_name).]])
doc(core.net_conv2d, "graft.core.net_conv2d(net, name, input, out_channels, kernel, stride, padding, groups, bias) -> node")
doc(core.net_batchnorm, "graft.core.net_batchnorm(net, name, input) -> node")
doc(core.net_activation, "graft.core.net_activation(net, input, 'relu'|'leaky_relu'|'relu6' [, slope = 0.01]) -> node")
doc(core.net_maxpool, "graft.core.net_maxpool(net, input, kernel, stride, padding) -> node")
doc(core.net_avgpool, "graft.core.net_avgpool(net, input, kernel, stride, padding) -> node")
doc(core.net_global_avgpool, "graft.core.net_global_avgpool(net, input) -> node ([N, C])")
doc(core.net_linear, "graft.core.net_linear(net, name, input, out_features, bias) -> node (flattens its input)")
doc(core.net_shortcut_a, "graft.core.net_shortcut_a(net, input, out_channels, stride) -> node (option A: subsample, zero channels)")
doc(core.net_add, "graft.core.net_add(net, a, b) -> node (a + b, the residual add)")
doc(core.net_finalize, "graft.core.net_finalize(net [, seed = 0, model = 'custom']) -> net, buffers allocated and weights initialised")
doc(core.net_node, "graft.core.net_node(net, index) -> {op=, name=, channels=, ...} of node index (0 = input)")
doc(core.resnet_cifar, [[graft.core.resnet_cifar{depth =, classes =, in_channels =,
                         image_size =, seed =, leaky_slope = 0, init = 'kaiming'} -> net
The reference's CIFAR ResNet (option A shortcuts), depth 6n + 2. The sizes and the
seed are required: graft.models.resnet declares their defaults.]])
doc(core.mobilenetv2_cifar, [[graft.core.mobilenetv2_cifar{classes =, in_channels =,
                              image_size =, seed =, init = 'pytorch'} -> net
The reference's CIFAR MobileNetV2 (init: 'pytorch', the reference's, or 'kaiming').]])
doc(core.vgg16_cifar, [[graft.core.vgg16_cifar{classes =, in_channels =, image_size =,
                        seed =, init = 'pytorch'} -> net
VGG16 with BatchNorm, CIFAR variant (features.N, classifier); images of 32x32 or more.]])
doc(core.wrn_cifar, [[graft.core.wrn_cifar{depth =, widen =, classes =, in_channels =,
                      image_size =, seed =, init = 'wrn'} -> net
Wide ResNet-depth-widen with pre-activation blocks, depth 6n + 4, named as the
reference's wrn.py (conv, stageS.blockI, shortcut.conv, bn, fc).]])
doc(core.resnet_depth_expected, [[graft.core.resnet_depth_expected(depth) -> nil or what a depth must be
The rule of graft.core.resnet_cifar's depth (6n + 2, at most 1202), as its errors say it.]])
doc(core.wrn_depth_expected, [[graft.core.wrn_depth_expected(depth) -> nil or what a depth must be
The rule of graft.core.wrn_cifar's depth (6n + 4), as its errors say it.]])
doc(core.vgg16_size_expected, [[graft.core.vgg16_size_expected(image_size) -> nil or what a size must be
The rule of graft.core.vgg16_cifar's image size (32 or more), as its errors say it.]])

return true
