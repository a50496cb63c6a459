"""The classifier's network (models/builtin/classifier/network.ts) in PyTorch on
the CPU, timed on the same images and batch size as the TypeScript side.

usage: classifier_torch.py DATA_DIR INPUT_SIZE WIDTH DEPTH CLASSES BATCH STEPS THREADS
reads images.f32 (N×S×S×3) and labels.i32 (N); prints torch_twin.report's JSON line
"""
from torch import nn

from torch_twin import Standardize, StandardizedConv2d, arguments, batches, report

data_dir, size, width, depth, classes, batch, steps = arguments()

layers, cin = [Standardize()], 3
for stage in range(depth):
    cout = width * 2 ** stage
    layers += [StandardizedConv2d(cin, cout), nn.ReLU(), nn.MaxPool2d(2)]
    cin = cout
layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, classes)]
net = nn.Sequential(*layers)

report(net, nn.CrossEntropyLoss(), batches(data_dir, size, batch, "labels.i32", "<i4", ()), steps, batch)
