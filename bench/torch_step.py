"""PyTorch peer for bench/train: the same generator and discriminator, built from the layer graph that
`p2p summary --format json` prints, and the same pix2pix step of `train.loop` (seed: a D update on a real or a
generated batch, then the G update; paper: D on the fake and the real batch, then G), Adam for both. Usage: python3 torch_step.py GEN.json DISC.json CONFIG.json THREADS STEPS [--device cuda] [--batch N]
On CUDA each step ends in a synchronisation, as the tfjs step ends in reading its losses.
"""
import json, sys, time
import torch
import torch.nn as nn
import torch.nn.functional as F


class GraphNet(nn.Module):
    def __init__(self, graph):
        super().__init__()
        self.layers = graph["layers"]
        self.mods = nn.ModuleDict()
        shapes = {}
        for l in self.layers:
            op = l["op"]
            inner = op["layer"] if op["op"] == "timeDistributed" else op
            cin = None
            if l["inbound"]:
                src = shapes[l["inbound"][0]]
                cin = src[-1]
            shapes[l["name"]] = l["outputShape"]
            key = l["name"].replace(".", "_")
            if inner["op"] == "conv2d":
                k = inner["kernel"]
                if inner["transpose"]:
                    self.mods[key] = nn.ConvTranspose2d(cin, inner["filters"], k, inner["strides"], padding=k // 2, output_padding=inner["strides"] - 1)
                else:
                    self.mods[key] = nn.Conv2d(cin, inner["filters"], k, inner["strides"], padding=k // 2)
            elif inner["op"] == "batchNorm":
                self.mods[key] = nn.BatchNorm2d(cin, eps=1e-3, momentum=0.01)
            elif inner["op"] == "dense":
                fan_in = src[-1]
                self.mods[key] = nn.Linear(fan_in, inner["units"])
            elif inner["op"] == "dropout":
                self.mods[key] = nn.Dropout(inner["rate"])

    def forward(self, *xs):
        """The graph's input layers take `xs` in order (the discriminator: image, then the generator's input)."""
        t = {}
        inputs = iter(xs)
        patches = None  # (grid, patch) while the Reshape/Permute/Reshape tiling is in progress
        for l in self.layers:
            op = l["op"]
            inner = op["layer"] if op["op"] == "timeDistributed" else op
            key = l["name"].replace(".", "_")
            ins = [t[n] for n in l["inbound"]]
            v = ins[0] if ins else None
            o = inner["op"]
            if o == "input":
                out = next(inputs)
            elif o == "reshape" and len(inner["target"]) == 5:
                patches = (inner["target"][0], inner["target"][1])
                out = v
            elif o == "permute":
                out = v
            elif o == "reshape":
                g, p = patches
                b, c = v.shape[0], v.shape[1]
                out = v.unfold(2, p, p).unfold(3, p, p).permute(0, 2, 3, 1, 4, 5).reshape(b * g * g, c, p, p)
                self.batch = b
            elif o in ("conv2d", "batchNorm", "dropout"):
                out = self.mods[key](v)
            elif o == "leakyRelu":
                out = F.leaky_relu(v, inner["alpha"])
            elif o == "activation":
                fn = inner["fn"]
                out = torch.relu(v) if fn == "relu" else torch.tanh(v) if fn == "tanh" else torch.sigmoid(v) if fn == "sigmoid" else v
            elif o == "upSampling":
                out = F.interpolate(v, scale_factor=inner["size"], mode="nearest")
            elif o == "concat":
                out = torch.cat(ins, dim=1)
            elif o == "flatten":
                out = v.reshape(v.shape[0], -1) if op["op"] == "timeDistributed" else v.reshape(self.batch, -1)
            elif o == "dense":
                out = self.mods[key](v)
                out = torch.softmax(out, dim=-1) if inner["activation"] == "softmax" else out
            else:
                raise ValueError(o)
            t[l["name"]] = out
        return out


def main():
    gen_graph, disc_graph, cfg = (json.load(open(p)) for p in sys.argv[1:4])
    threads, steps = int(sys.argv[4]), int(sys.argv[5])
    rest = sys.argv[6:]
    device = rest[rest.index("--device") + 1] if "--device" in rest else "cpu"
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    g, d = GraphNet(gen_graph).to(device), GraphNet(disc_graph).to(device)
    n_g = sum(p.numel() for p in g.parameters()) + sum(b.numel() for n, b in g.named_buffers() if "running" in n)
    n_d = sum(p.numel() for p in d.parameters()) + sum(b.numel() for n, b in d.named_buffers() if "running" in n)
    opt = cfg["train"]["optimizer"]
    og = torch.optim.Adam(g.parameters(), lr=opt["lr"], betas=(opt["beta1"], opt["beta2"]), eps=1e-8)
    od = torch.optim.Adam(d.parameters(), lr=opt["lr"], betas=(opt["beta1"], opt["beta2"]), eps=1e-8)
    b = int(rest[rest.index("--batch") + 1]) if "--batch" in rest else cfg["train"]["batchSize"]
    s = cfg["input"]["size"]
    x = torch.rand(b, cfg["input"]["channels"], s, s, device=device) * 2 - 1
    y = torch.rand(b, cfg["output"]["channels"], s, s, device=device) * 2 - 1
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    torch.backends.cudnn.benchmark = device == "cuda"  # the fastest convolution algorithms for these shapes
    w = cfg["train"]["loss"]
    g.train(); d.train()

    loop = cfg["train"]["loop"]
    real_target = [0.5, 0.5] if w["realLabel"] == "zeros" else [0.0, 1.0]
    batches = [0]

    def ce(p, target):
        return -sum(t * torch.log(p[:, k].clamp(1e-7, 1)).mean() for k, t in enumerate(target) if t)

    def l1(a, b):
        e = (a - b).abs()
        return (e.sum(1) if w["l1Reduction"] == "sum-channels" else e).mean()

    def update_g(fake):
        loss_g = w["l1"] * l1(fake, y) + w["gan"] * ce(d(fake, x), [0.0, 1.0])
        og.zero_grad(); loss_g.backward(); og.step()

    def update_d(image, target):
        loss_d = ce(d(image, x), target) if target else 0.5 * (ce(d(image[0], x), [1.0, 0.0]) + ce(d(image[1], x), real_target))
        od.zero_grad(); loss_d.backward(); od.step()

    def step():
        if loop == "paper":
            fake = g(x)
            update_d((fake.detach(), y), None)
            update_g(fake)
        else:
            # The seed's loop: D first, alternating real and generated (G in inference mode), then G. The batch
            # statistics are over all patches and the frozen D's moving ones are updated: the same work.
            if batches[0] % 2:
                g.eval()
                with torch.no_grad():
                    generated = g(x)
                g.train()
                update_d(generated, [1.0, 0.0])
            else:
                update_d(y, real_target)
            batches[0] += 1
            update_g(g(x))
        sync()

    t = time.perf_counter(); step(); warm = (time.perf_counter() - t) * 1000
    times = []
    for _ in range(steps):
        t = time.perf_counter(); step(); times.append((time.perf_counter() - t) * 1000)
    times.sort()
    med = times[len(times) // 2] if times else warm
    print(json.dumps({"backend": f"pytorch-cuda" if device == "cuda" else f"pytorch-cpu-{threads}t", "batch": b, "warmMs": warm, "msPerStep": med, "imgPerSec": b * 1000 / med, "params": [n_g, n_d]}))


main()
