"""The classifier's network (models/builtin/classifier/network.ts) in PyTorch on
the CPU, timed on the same images and batch size as the TypeScript side.

usage: classifier_torch.py DATA_DIR INPUT_SIZE WIDTH DEPTH HEAD CLASSES BATCH STEPS THREADS
(HEAD: flatten = a linear layer on every position of the last feature map, pool = on its global average)
prints torch_common.report's JSON line
"""
import sys

import torch
from torch import nn

from torch_common import backbone, load_batches, report

data_dir, head = sys.argv[1], sys.argv[5]
size, width, depth = map(int, sys.argv[2:5])
classes, batch, steps, threads = map(int, sys.argv[6:])
torch.set_num_threads(threads)

layers, channels = backbone(width, depth)
side = size // 2 ** depth
if head not in ("flatten", "pool"):
    raise SystemExit(f"no PyTorch twin of the {head} head")
head_layers = [nn.Flatten(), nn.Linear(channels * side * side, classes)] if head == "flatten" else [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, classes)]
net = nn.Sequential(*layers, *head_layers)
# One-hot targets, as our network takes them; cross-entropy wants class indices.
batches = [(x, y.argmax(dim=1)) for x, y in load_batches(data_dir, size, batch, [classes])]
cross_entropy = nn.CrossEntropyLoss()

report(net, lambda x, y: cross_entropy(net(x), y), batches, steps, lambda x: net(x).softmax(dim=1))
