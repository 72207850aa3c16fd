/**
 * The PyTorch fp32 reference for bench/gpu-check.ts: the same two-task ResNet-34 step (96×96×3, 13-way
 * cross-entropy + 136-d l1, Adam, LAF trace norm over the 36 stacked conv pairs, optional ADA domain classifier
 * 512-128-64-2 behind gradient reversal), timed on the same machine. The script travels as a string (the device
 * run gets one bundled file) and runs with whatever `python3` has torch; TF32 is off, so it is true fp32.
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const SCRIPT = `
import json, sys, time
import torch, torch.nn as nn, torch.nn.functional as F
cfg = json.loads(sys.argv[1])
dev = 'cuda' if torch.cuda.is_available() else 'cpu'
torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
torch.backends.cudnn.benchmark = True

class Block(nn.Module):
    def __init__(s, cin, cout, stride):
        super().__init__()
        s.c1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False); s.b1 = nn.BatchNorm2d(cout)
        s.c2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False); s.b2 = nn.BatchNorm2d(cout)
        s.down = None
        if stride != 1 or cin != cout:
            s.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
    def forward(s, x):
        y = F.relu(s.b1(s.c1(x))); y = s.b2(s.c2(y))
        return F.relu(y + (x if s.down is None else s.down(x)))

class ResNet34(nn.Module):
    def __init__(s, outputs):
        super().__init__()
        s.stem = nn.Sequential(nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(3, 2, 1))
        layers, cin = [], 64
        for w, n, st in [(64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)]:
            for i in range(n):
                layers.append(Block(cin, w, st if i == 0 else 1)); cin = w
        s.layers = nn.Sequential(*layers)
        s.head = nn.Linear(512, outputs)
    def forward(s, x):
        f = s.layers(s.stem(x)).mean((2, 3))
        return s.head(f), f

class Reverse(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, lam): ctx.lam = lam; return x.view_as(x)
    @staticmethod
    def backward(ctx, g): return -ctx.lam * g, None

def laf(na, nb):
    # LAF: nuclear norm of the D x 2 matrix of each stacked conv pair, through its 2 x 2 Gram matrix
    total = 0.0
    convs = [(a, b) for (a, b) in zip(na.modules(), nb.modules()) if isinstance(a, nn.Conv2d)]
    for a, b in convs:
        m = torch.stack([a.weight.flatten(), b.weight.flatten()], 1)
        ev = torch.linalg.eigvalsh(m.t() @ m)
        total = total + ev.clamp_min(1e-12).sqrt().sum()
    return total, len(convs)

out = {'device': torch.cuda.get_device_name(0) if dev == 'cuda' else 'cpu', 'torch': torch.__version__, 'rows': []}
for ada in cfg['ada']:
    torch.manual_seed(0)
    na, nb = ResNet34(13).to(dev), ResNet34(136).to(dev)
    dom = nn.Sequential(nn.Linear(512, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 2)).to(dev)
    params = list(na.parameters()) + list(nb.parameters()) + (list(dom.parameters()) if ada else [])
    opt = torch.optim.Adam(params, lr=1e-3)
    for n in cfg['batches']:
        xa = torch.randn(n, 3, 96, 96, device=dev); xb = torch.randn(n, 3, 96, 96, device=dev)
        ya = torch.randint(0, 13, (n,), device=dev); yb = torch.randn(n, 136, device=dev)
        def step(with_laf=True):
            opt.zero_grad(set_to_none=True)
            la, fa = na(xa); lb, fb = nb(xb)
            loss = F.cross_entropy(la, ya) + (lb - yb).abs().mean()
            if with_laf:
                t, _ = laf(na, nb); loss = loss + 1e-2 * t
            if ada:
                f = Reverse.apply(torch.cat([fa, fb]), 0.5)
                d = torch.cat([torch.zeros(n, dtype=torch.long, device=dev), torch.ones(n, dtype=torch.long, device=dev)])
                loss = loss + 0.1 * F.cross_entropy(dom(f), d)
            loss.backward(); opt.step()
            return loss
        def timed(f, reps):
            for _ in range(3): f()
            if dev == 'cuda': torch.cuda.synchronize()
            ts = []
            for _ in range(reps):
                t0 = time.perf_counter(); f()
                if dev == 'cuda': torch.cuda.synchronize()
                ts.append((time.perf_counter() - t0) * 1000)
            ts.sort(); return ts[len(ts) // 2]
        ms = timed(step, cfg['reps'])
        no_laf = timed(lambda: step(False), cfg['reps'])
        out['rows'].append({'ada': ada, 'batch': n, 'ms': ms, 'ms_without_laf': no_laf})
print('RESULT ' + json.dumps(out))
`

/** One row of the PyTorch table: median ms per step with and without the LAF term. */
export interface TorchRow {
  readonly ada: boolean
  readonly batch: number
  readonly ms: number
  readonly ms_without_laf: number
}

/** Runs the reference; `undefined` rows with the reason when python3 or torch is missing or the run fails. */
export const torchReference = (
  batches: readonly number[],
  opts: { ada: readonly boolean[]; reps: number; timeoutS: number },
): { rows?: TorchRow[]; device?: string; version?: string; why?: string } => {
  const probe = spawnSync('python3', ['-c', 'import torch; print(torch.__version__, torch.cuda.is_available())'], { encoding: 'utf8' })
  if (probe.error || probe.status !== 0)
    return { why: `PyTorch not importable here (${probe.error?.message ?? (probe.stderr || '').trim().split('\n').pop()})` }
  const dir = mkdtempSync(join(tmpdir(), 'softshare-torch-'))
  const file = join(dir, 'step.py')
  writeFileSync(file, SCRIPT)
  const r = spawnSync('python3', [file, JSON.stringify({ batches, ada: opts.ada, reps: opts.reps })], {
    encoding: 'utf8',
    timeout: opts.timeoutS * 1000,
  })
  const line = (r.stdout ?? '').split('\n').find((l) => l.startsWith('RESULT '))
  if (!line)
    return { why: `the PyTorch run failed (exit ${r.status}${r.error ? `, ${r.error.message}` : ''}): ${(r.stderr ?? '').slice(-600)}` }
  const res = JSON.parse(line.slice(7)) as { device: string; torch: string; rows: TorchRow[] }
  return { rows: res.rows, device: res.device, version: res.torch }
}
