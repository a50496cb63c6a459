"""The segmentation U-Net (models/builtin/segmentation/network.ts) in PyTorch on
the CPU, timed on the same images, targets and batch size as the TypeScript side.

usage: segmentation_torch.py DATA_DIR INPUT_SIZE WIDTH DEPTH CLASSES BATCH STEPS THREADS
reads images.f32 (N×S×S×3) and targets.f32 (N×S×S: class per pixel, -1 = ignored)
prints one JSON line: {"train_img_s": ..., "infer_img_s": ..., "threads": ...}
"""
import json
import math
import sys
import time

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

data_dir, size, width, depth, classes, batch, steps, threads = sys.argv[1], *map(int, sys.argv[2:])
torch.set_num_threads(threads)


def standardize(x):
    """Per-image standardization, as the TypeScript network's first step."""
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    var = x.var(dim=(1, 2, 3), keepdim=True, unbiased=False)
    return (x - mean) / torch.sqrt(var + 1e-3)


class StandardizedConv2d(nn.Conv2d):
    """3×3 convolution with scaled weight standardization and a learned gain per filter, then ReLU."""

    def __init__(self, cin, cout):
        super().__init__(cin, cout, 3, padding=1)
        self.gain = nn.Parameter(torch.ones(cout, 1, 1, 1))

    def forward(self, x):
        w = self.weight
        mean = w.mean(dim=(1, 2, 3), keepdim=True)
        var = w.var(dim=(1, 2, 3), keepdim=True, unbiased=False)
        w = self.gain * math.sqrt(2) * (w - mean) / torch.sqrt((var + 1e-6) * w[0].numel())
        return F.relu(F.conv2d(x, w, self.bias, padding=1))


def block(cin, cout):
    return nn.Sequential(StandardizedConv2d(cin, cout), StandardizedConv2d(cout, cout))


class UNet(nn.Module):
    def __init__(self):
        super().__init__()
        c = [width * 2 ** level for level in range(depth + 1)]
        self.down = nn.ModuleList(block(3 if level == 0 else c[level - 1], c[level]) for level in range(depth))
        self.bottom = block(c[depth - 1], c[depth])
        # Decoder levels from the deepest up; input = upsampled features, then the skip connection.
        self.up = nn.ModuleList(block(c[level + 1] + c[level], c[level]) for level in reversed(range(depth)))
        self.head = nn.Conv2d(c[0], classes, 1)

    def forward(self, x):
        h, skips = standardize(x), []
        for down in self.down:
            h = down(h)
            skips.append(h)
            h = F.max_pool2d(h, 2)
        h = self.bottom(h)
        for up, skip in zip(self.up, reversed(skips)):
            h = up(torch.cat([F.interpolate(h, scale_factor=2, mode="nearest"), skip], dim=1))
        return self.head(h)


net = UNet()
images = np.fromfile(f"{data_dir}/images.f32", dtype="<f4").reshape(-1, size, size, 3)
targets = np.fromfile(f"{data_dir}/targets.f32", dtype="<f4").reshape(-1, size, size)
# NCHW, as PyTorch convolutions expect; converted once, outside the timing.
batches = [
    (torch.from_numpy(images[i:i + batch]).permute(0, 3, 1, 2).contiguous(), torch.from_numpy(targets[i:i + batch]).long())
    for i in range(0, len(images) - batch + 1, batch)
]
optimizer = torch.optim.AdamW(net.parameters(), lr=1e-3, weight_decay=0)


def train_step(x, y):
    optimizer.zero_grad()
    # As ours: cross-entropy summed over labelled pixels, per pixel of an image, averaged over the batch.
    loss = F.cross_entropy(net(x), y, ignore_index=-1, reduction="sum") / (size * size * len(x))
    loss.backward()
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
