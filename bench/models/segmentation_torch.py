"""The segmentation U-Net (models/builtin/segmentation/network.ts) in PyTorch on
the CPU, timed on the same images, targets and batch size as the TypeScript side.

usage: segmentation_torch.py DATA_DIR INPUT_SIZE WIDTH DEPTH CLASSES BATCH STEPS THREADS
reads images.f32 (N×S×S×3) and targets.f32 (N×S×S: class per pixel, -1 = ignored);
prints torch_common.report's JSON line
"""
import sys

import torch
from torch import nn
from torch.nn import functional as F

from torch_common import Standardize, StandardizedConv2d, load_batches, report

data_dir, size, width, depth, classes, batch, steps, threads = sys.argv[1], *map(int, sys.argv[2:])
torch.set_num_threads(threads)


def block(cin, cout):
    return nn.Sequential(StandardizedConv2d(cin, cout), nn.ReLU(), StandardizedConv2d(cout, cout), nn.ReLU())


class UNet(nn.Module):
    def __init__(self):
        super().__init__()
        c = [width * 2 ** level for level in range(depth + 1)]
        self.standardize = Standardize()
        self.down = nn.ModuleList(block(3 if level == 0 else c[level - 1], c[level]) for level in range(depth))
        self.bottom = block(c[depth - 1], c[depth])
        # Decoder levels from the deepest up; input = upsampled features, then the skip connection.
        self.up = nn.ModuleList(block(c[level + 1] + c[level], c[level]) for level in reversed(range(depth)))
        self.head = nn.Conv2d(c[0], classes, 1)

    def forward(self, x):
        h, skips = self.standardize(x), []
        for down in self.down:
            h = down(h)
            skips.append(h)
            h = F.max_pool2d(h, 2)
        h = self.bottom(h)
        for up, skip in zip(self.up, reversed(skips)):
            h = up(torch.cat([F.interpolate(h, scale_factor=2, mode="nearest"), skip], dim=1))
        return self.head(h)


def loss(logits, targets):
    """As ours: cross-entropy summed over labelled pixels, per pixel of an image, averaged over the batch."""
    return F.cross_entropy(logits, targets, ignore_index=-1, reduction="sum") / (size * size * len(logits))


net = UNet()
# Class indices as integers once, outside the timing.
batches = [(x, y.long()) for x, y in load_batches(data_dir, size, batch, (size, size))]
report(net, lambda x, y: loss(net(x), y), batches, steps, lambda x: net(x).softmax(dim=1))
