"""The heatmap network of the detector and the point model
(models/builtin/heatmap/network.ts) in PyTorch on the CPU, with the same loss
(penalty-reduced focal loss + L1 of the regression at centres, per image
divided by its objects), timed on the same images, targets and batch size as
the TypeScript side.

usage: heatmap_torch.py DATA_DIR INPUT_SIZE WIDTH DEPTH CLASSES REGRESSION BATCH STEPS THREADS
prints torch_common.report's JSON line
"""
import sys

import torch
from torch import nn

from torch_common import StandardizedConv2d, backbone, load_batches, report

data_dir, size, width, depth, classes, regression, batch, steps, threads = sys.argv[1], *map(int, sys.argv[2:])
torch.set_num_threads(threads)


class HeatmapNet(nn.Module):
    def __init__(self):
        super().__init__()
        layers, channels = backbone(width, depth)
        self.trunk = nn.Sequential(*layers, StandardizedConv2d(channels, channels), nn.ReLU())
        self.heatmap = nn.Conv2d(channels, classes, 1)
        self.regression = nn.Conv2d(channels, regression, 1)
        nn.init.constant_(self.heatmap.bias, -2.19)

    def forward(self, x):
        features = self.trunk(x)
        return self.heatmap(features), self.regression(features)


net = HeatmapNet()
grid = size // 2 ** depth
batches = load_batches(data_dir, size, batch, [grid, grid, classes + 1 + regression])


def loss(x, targets):
    logits, reg = net(x)
    targets = targets.permute(0, 3, 1, 2)
    heat, centres, wanted = targets[:, :classes], targets[:, classes:classes + 1], targets[:, classes + 1:]
    positive = (heat >= 1).float()
    p = torch.sigmoid(logits)
    focal = positive * (1 - p) ** 2 * nn.functional.softplus(-logits) + (1 - positive) * (1 - heat) ** 4 * p ** 2 * nn.functional.softplus(logits)
    l1 = centres * (reg - wanted).abs()
    objects = centres.sum(dim=(1, 2, 3)).clamp(min=1)
    return ((focal.sum(dim=(1, 2, 3)) + l1.sum(dim=(1, 2, 3))) / objects).sum() / len(x)


report(net, loss, batches, steps, lambda x: torch.cat(net(x), dim=1))
