"""PyTorch side of `npm run bench -- cpu`: a line-oriented server (one JSON request per stdin line, one JSON
reply per stdout line) so the Node bench can interleave PyTorch calls with its own contenders.
Requests: {"op": "matmul", "n": 1024}, {"op": "conv", "pass": "fwd"|"dx"|"dw", "N","H","C","k","s","co"},
{"op": "resnet", "N": 8, "HW": 96} (one SGD step of ResNet-18). Each reply: {"secs": wall seconds of one call,
or process CPU seconds with "clock": "cpu"}
(the first call of a new configuration also builds it; the Node side discards warm-up calls)."""
import json
import sys
import time

import torch
import torch.nn.functional as F

torch.set_num_threads(int(sys.argv[1]) if len(sys.argv) > 1 else 2)
torch.manual_seed(0)
cache = {}


CLOCK = {"clock": time.perf_counter}


def timed(f):
    clock = CLOCK["clock"]
    t = clock()
    f()
    return clock() - t


def matmul(n):
    a, b = cache.setdefault(("mm", n), (torch.randn(n, n), torch.randn(n, n)))
    return timed(lambda: torch.mm(a, b))


def conv(N, H, C, k, s, co, which):
    key = ("conv", N, H, C, k, s, co)
    if key not in cache:
        x = torch.randn(N, C, H, H).contiguous(memory_format=torch.channels_last)
        w = torch.randn(co, C, k, k).contiguous(memory_format=torch.channels_last)
        y = F.conv2d(x, w, stride=s, padding=k // 2)
        dy = torch.randn_like(y).contiguous(memory_format=torch.channels_last)
        cache[key] = (x, w, dy)
    x, w, dy = cache[key]
    if which == "fwd":
        return timed(lambda: F.conv2d(x, w, stride=s, padding=k // 2))
    if which == "dx":
        return timed(lambda: torch.nn.grad.conv2d_input(x.shape, w, dy, stride=s, padding=k // 2))
    return timed(lambda: torch.nn.grad.conv2d_weight(x, w.shape, dy, stride=s, padding=k // 2))


def resnet18(classes=10):
    """The bench's ResNet-18: 7×7/2 stem, 3×3/2 max pool, 4 stages of 2 basic blocks (64…512), batch norm with batch statistics."""
    def bn(c):
        return torch.nn.BatchNorm2d(c, track_running_stats=False)

    class Block(torch.nn.Module):
        def __init__(self, cin, c, s):
            super().__init__()
            self.c1 = torch.nn.Conv2d(cin, c, 3, s, 1, bias=False)
            self.b1 = bn(c)
            self.c2 = torch.nn.Conv2d(c, c, 3, 1, 1, bias=False)
            self.b2 = bn(c)
            self.proj = torch.nn.Sequential(torch.nn.Conv2d(cin, c, 1, s, 0, bias=False), bn(c)) if s != 1 or cin != c else None

        def forward(self, h):
            y = self.b2(self.c2(F.relu(self.b1(self.c1(h)))))
            return F.relu(y + (self.proj(h) if self.proj is not None else h))

    layers = [torch.nn.Conv2d(3, 64, 7, 2, 3, bias=False), bn(64), torch.nn.ReLU(), torch.nn.MaxPool2d(3, 2, 1)]
    cin = 64
    for stage, c in enumerate([64, 128, 256, 512]):
        for b in range(2):
            layers.append(Block(cin, c, 2 if b == 0 and stage > 0 else 1))
            cin = c
    layers += [torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(512, classes)]
    return torch.nn.Sequential(*layers).to(memory_format=torch.channels_last)


def resnet(N, HW):
    key = ("resnet", N, HW)
    if key not in cache:
        model = resnet18()
        opt = torch.optim.SGD(model.parameters(), lr=0.01)
        x = torch.randn(N, 3, HW, HW).contiguous(memory_format=torch.channels_last)
        y = torch.arange(N) % 10
        cache[key] = (model, opt, x, y)
    model, opt, x, y = cache[key]

    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    return timed(step)


print(json.dumps({"ready": True, "version": torch.__version__, "threads": torch.get_num_threads()}), flush=True)
for line in sys.stdin:
    r = json.loads(line)
    op = r["op"]
    # "clock": "cpu" times the call in process CPU time (one thread's time on a one-thread server, as softshare's per-core figures)
    CLOCK["clock"] = time.process_time if r.get("clock") == "cpu" else time.perf_counter
    if op == "matmul":
        secs = matmul(r["n"])
    elif op == "conv":
        secs = conv(r["N"], r["H"], r["C"], r["k"], r["s"], r["co"], r["pass"])
    elif op == "resnet":
        secs = resnet(r["N"], r["HW"])
    else:
        print(json.dumps({"error": f"unknown op {op}"}), flush=True)
        continue
    print(json.dumps({"secs": secs}), flush=True)
