"""The classifier's network (models/builtin/classifier/network.ts) in PyTorch on
the CPU, timed on the same images and batch size as the TypeScript side.

usage: classifier_torch.py DATA_DIR INPUT_SIZE WIDTH DEPTH CLASSES BATCH STEPS THREADS
prints one JSON line: {"train_img_s": ..., "infer_img_s": ..., "threads": ...}
"""
import json
import math
import sys
import time

import numpy as np
import torch
from torch import nn

data_dir, size, width, depth, classes, batch, steps, threads = sys.argv[1], *map(int, sys.argv[2:])
torch.set_num_threads(threads)


class Standardize(nn.Module):
    """Per-image standardization, as the TypeScript network's first step."""

    def forward(self, x):
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        var = x.var(dim=(1, 2, 3), keepdim=True, unbiased=False)
        return (x - mean) / torch.sqrt(var + 1e-3)


class StandardizedConv2d(nn.Conv2d):
    """3×3 convolution with scaled weight standardization and a learned gain per filter."""

    def __init__(self, cin, cout):
        super().__init__(cin, cout, 3, padding=1)
        self.gain = nn.Parameter(torch.ones(cout, 1, 1, 1))

    def forward(self, x):
        w = self.weight
        mean = w.mean(dim=(1, 2, 3), keepdim=True)
        var = w.var(dim=(1, 2, 3), keepdim=True, unbiased=False)
        w = self.gain * math.sqrt(2) * (w - mean) / torch.sqrt((var + 1e-6) * w[0].numel())
        return nn.functional.conv2d(x, w, self.bias, padding=1)


layers, cin = [Standardize()], 3
for stage in range(depth):
    cout = width * 2 ** stage
    layers += [StandardizedConv2d(cin, cout), nn.ReLU(), nn.MaxPool2d(2)]
    cin = cout
layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, classes)]
net = nn.Sequential(*layers)

images = np.fromfile(f"{data_dir}/images.f32", dtype="<f4").reshape(-1, size, size, 3)
labels = np.fromfile(f"{data_dir}/labels.i32", dtype="<i4")
# NCHW, as PyTorch convolutions expect; converted once, outside the timing.
batches = [
    (torch.from_numpy(images[i:i + batch]).permute(0, 3, 1, 2).contiguous(), torch.from_numpy(labels[i:i + batch]).long())
    for i in range(0, len(images) - batch + 1, batch)
]
optimizer = torch.optim.AdamW(net.parameters(), lr=1e-3, weight_decay=0)
loss_fn = nn.CrossEntropyLoss()


def train_step(x, y):
    optimizer.zero_grad()
    loss_fn(net(x), y).backward()
    optimizer.step()


def infer_step(x, _y):
    with torch.no_grad():
        net(x).softmax(dim=1)


def images_per_second(step):
    for x, y in batches[:3]:  # warm-up
        step(x, y)
    start = time.perf_counter()
    for k in range(steps):
        step(*batches[k % len(batches)])
    return steps * batch / (time.perf_counter() - start)


train = images_per_second(train_step)
infer = images_per_second(infer_step)
print(json.dumps({"train_img_s": train, "infer_img_s": infer, "threads": torch.get_num_threads()}))
