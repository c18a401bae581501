#!/usr/bin/env python
"""Training-step cost of GALA-ResNet-50 with the ClickMe loss against plain ResNet-50.

    .venv/bin/python bench/train_step.py                  # CPU, batch 32, 224 px (a few minutes on 2 cores)
    .venv/bin/python bench/train_step.py --batch 8        # a quick CPU look (about a minute)
    .venv/bin/python bench/train_step.py --cuda           # GPU: bfloat16 autocast, channels_last, images/s
    .venv/bin/python bench/train_step.py --json out.json  # every number, for comparing runs
    nice .venv/bin/python bench/train_step.py --threads 2 --batch 8,32 --reference   # the issue's check:
        # both batches in one run, and GALA's unfused reference ops timed beside the fused ones
    .venv/bin/python bench/train_step.py --batch 8 --profile 25   # + torch.profiler's costliest ops

The goal (the issue's): one training step of `gala_resnet50` trained with the ClickMe loss costs at
most 1.15 x one step of plain `resnet50` (gala/plain step-time ratio <= 1.15, which is the same as
plain/gala images per second), on CPU (fp32) and with `--cuda` (bfloat16, channels_last). It is a
script, not a test; it prints PASS or MISS and always exits 0 when it ran.

What one step is, for both nets (the same code, only the net differs):

    logits, maps = net(images)                                       # "forward"
    loss, ce, att = clickme_loss(logits, targets, maps, clickme, has_map, lambda)   # "loss"
    loss.backward()                                                  # "backward"
    optimizer.step(); optimizer.zero_grad(set_to_none=True)          # "optimizer"

- Nets: `training.nets.resnets.build_net(arch, 1000, stages=("layer3",))`, an ImageNet-sized head,
  in train mode (BatchNorm batch statistics). `gala_resnet50` has GALA gating the input of each of
  layer3's 6 bottlenecks (docs/SCIENCE.md section 3) and returns their 6 attention maps; `resnet50`
  returns none. `--gated`, `--base`, `--stages`, `--local-5x5` choose others (e.g. `--gated
  se_resnet50`).
- Loss: `training.losses.clickme_loss` for both, lambda 1.0 (`--lambda`). The GALA net gets a random
  224 x 224 ClickMe map for every image (has_map all True), so the attention term's full cost
  (6 bilinear resizes, normalisations, distances) is paid; plain ResNet-50 has no maps, so the same
  call is plain cross-entropy (attention term 0).
- Optimizer: SGD, Nesterov momentum 0.9, lr 0.1 x batch / 256, weight decay 1e-4 on weights with
  more than one dimension (not on norms, biases or GALA's gains), as docs/SCIENCE.md section 4: the
  trainer's own `param_groups`. `--gala-preset gala_tpu` builds and decays GALA as gala_tpu does
  (training/config.py GALA_PRESETS; the default is the project's settings).
- GALA on CPU runs its fused path (training/nets/gala.py: the local path's 1 x 1 convs as batched
  matrix products, the combination and its backward by hand); `--reference` adds a third net, the
  same GALA net with the plain autograd ops (`GALA.reference_forward`), timed in the same rounds,
  so one run gives the before/after ratio. With --cuda both are the reference ops.
- `--batch 8,32` runs each batch size in turn in one process (a summary of the ratios at the end);
  `--profile N` profiles one extra step of each net with torch.profiler and prints the N ops with
  the most self time side by side and the ops whose time grows most in the gated net. One profiled
  step on a loaded machine is noisy: read it for where time goes, not for ratios.
- Allocator: by default the process keeps freed memory for reuse, as the trainer's processes do
  (training/allocator.py: glibc's mmap'd chunks and heap trimming off); `--allocator system` leaves
  glibc's defaults, under which every large free goes back to the kernel and every step faults the
  memory in again (both nets alike; the ratio under each is in bench/README.md).
- Data: one fixed batch of random images (N(0, 1)), random labels in [0, 1000) and random maps in
  [0, 1), already on the device; no data loading is timed.
- Timing: warm-up steps for both nets first (`--warmup`, default 1 on CPU, 5 with --cuda: oneDNN /
  cuDNN set-up and cudnn.benchmark's autotuning), then `--steps` measured steps each (default 3 on
  CPU, 20 with --cuda), interleaved in rounds whose order alternates (plain, gala, gala, plain, ...)
  so that drift from other load on a shared machine falls on both nets alike. A step's time is the
  wall clock around the whole step (with torch.cuda.synchronize before and after on GPU). The table
  reports the median (and min) step time, images/s = batch / median, and the median time of each
  phase: on CPU from perf_counter marks between phases, on GPU from CUDA events recorded between
  phases (GPU time, no extra synchronisation inside the step), so the phases show where GALA's
  extra time goes (the net's forward, the ClickMe loss, backward, or the optimizer over GALA's extra
  parameters). With --cuda it also prints each net's step memory ("step GiB"): the peak GPU memory
  allocated during the step above what was allocated before it (activations, gradients,
  temporaries; both nets' weights and momenta stay resident and are not counted).
- `--cuda` without a visible GPU exits with status 2 and a message. `--precision` and
  `--channels-last` override the defaults of either mode (fp32 / NCHW on CPU; bf16 / channels_last
  with --cuda), e.g. to look at bf16 on CPU. `--threads N` sets torch's intra-op threads (CPU).

Honesty notes: on a shared machine (this one has 2 cores and other people's jobs) single CPU steps
vary by 10-30 %; the interleaving cancels slow drift but not a burst that hits one step, so the
median of few steps is still noisy: re-run, or raise --steps, before reading a ratio near 1.15.
The wall time of the first warm-up step includes one-off allocation and is never counted.
"""

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from training.allocator import keep_freed_memory  # noqa: E402
from training.config import GALA_PRESETS, STAGES  # noqa: E402
from training.losses import clickme_loss  # noqa: E402
from training.nets.gala import GALA  # noqa: E402
from training.nets.resnets import build_net  # noqa: E402
from training.trainer import param_groups  # noqa: E402

GOAL_RATIO = 1.15
NUM_CLASSES = 1000
PHASES = ("forward", "loss", "backward", "optimizer")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--batch", default="32", help="batch size, or several comma-separated (e.g. 8,32: each in turn, one run)"
    )
    parser.add_argument("--size", type=int, default=224, help="image side in pixels")
    parser.add_argument("--steps", type=int, default=None, help="measured steps per net (3 on CPU, 20 with --cuda)")
    parser.add_argument("--warmup", type=int, default=None, help="warm-up steps per net (1 on CPU, 5 with --cuda)")
    parser.add_argument("--cuda", action="store_true", help="run on the GPU in bfloat16 and channels_last")
    parser.add_argument("--precision", choices=("fp32", "bf16"), default=None, help="fp32 on CPU, bf16 with --cuda")
    parser.add_argument(
        "--channels-last",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="channels_last model and input (default: on with --cuda, off on CPU)",
    )
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    parser.add_argument("--base", default="resnet50", help="the reference net (default resnet50)")
    parser.add_argument("--gated", default="gala_resnet50", help="the attention net (default gala_resnet50)")
    parser.add_argument("--stages", default="layer3", help="comma-separated stages the gated net gates")
    parser.add_argument("--local-5x5", action="store_true", help="GALA's v2 extra 5x5 conv in the local path")
    parser.add_argument(
        "--gala-preset",
        choices=tuple(GALA_PRESETS),
        default="project",
        help="GALA settings (training/config.py GALA_PRESETS); --local-5x5 adds the 5x5 conv to either",
    )
    parser.add_argument(
        "--reference",
        action="store_true",
        help="also time the gated net with GALA's unfused reference ops (before/after in one run)",
    )
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="N",
        help="after timing, profile one step of each net (torch.profiler) and print the N costliest ops",
    )
    parser.add_argument(
        "--allocator",
        choices=("kept", "system"),
        default="kept",
        help="kept (default, as the trainer runs): glibc keeps freed memory for reuse "
        "(training/allocator.py); system: glibc's defaults, freed blocks go back to the kernel",
    )
    parser.add_argument("--lambda", dest="lambda_clickme", type=float, default=1.0, help="ClickMe loss weight")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", metavar="OUT", help="write every number to this file")
    args = parser.parse_args(argv)
    args.steps = args.steps if args.steps is not None else (20 if args.cuda else 3)
    args.warmup = args.warmup if args.warmup is not None else (5 if args.cuda else 1)
    args.precision = args.precision or ("bf16" if args.cuda else "fp32")
    if args.channels_last is None:
        args.channels_last = args.cuda
    args.stages = tuple(s.strip() for s in args.stages.split(",") if s.strip())
    try:
        args.batches = [int(b) for b in args.batch.split(",") if b.strip()]
    except ValueError:
        parser.error(f"--batch takes integers separated by commas, not {args.batch!r}")
    if not args.batches or min(args.batches) < 1 or args.size < 32 or args.steps < 1 or args.warmup < 0:
        parser.error("need --batch >= 1, --size >= 32, --steps >= 1, --warmup >= 0")
    unknown = set(args.stages) - set(STAGES)
    if unknown:
        parser.error(f"unknown stages {sorted(unknown)}; known: {', '.join(STAGES)}")
    return args


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


class PhaseClock:
    """Marks between the phases of one step: perf_counter on CPU, CUDA events (GPU time) on GPU."""

    def __init__(self, cuda):
        self.cuda = cuda
        self.marks = []

    def mark(self):
        if self.cuda:
            event = torch.cuda.Event(enable_timing=True)
            event.record()
            self.marks.append(event)
        else:
            self.marks.append(time.perf_counter())

    def durations(self):
        """Seconds between consecutive marks; call after the step has been synchronised."""
        if self.cuda:
            return [a.elapsed_time(b) / 1000.0 for a, b in zip(self.marks, self.marks[1:], strict=False)]
        return [b - a for a, b in zip(self.marks, self.marks[1:], strict=False)]


class Runner:
    """One net, its optimizer and its fixed batch; `step()` runs and times one training step."""

    def __init__(self, arch, args, batch, device, data, use_maps, reference=False):
        settings = dict(GALA_PRESETS[args.gala_preset])
        settings["local_5x5"] = settings["local_5x5"] or args.local_5x5
        attention_weight_decay = settings.pop("attention_weight_decay")
        kwargs = {"stages": args.stages, **settings} if arch.startswith(("gala_", "se_")) else {}
        self.arch = arch + (" (reference)" if reference else "")
        self.net = build_net(arch, NUM_CLASSES, **kwargs).to(device)
        for module in self.net.modules():
            if isinstance(module, GALA):
                module.fused = not reference
        if args.channels_last:
            self.net = self.net.to(memory_format=torch.channels_last)
        self.net.train()
        self.optimizer = torch.optim.SGD(
            param_groups(self.net, 1e-4, attention_weight_decay),
            lr=0.1 * batch / 256,
            momentum=0.9,
            nesterov=True,
        )
        self.params = sum(p.numel() for p in self.net.parameters())
        self.images, self.targets, clickme, has_map = data
        self.clickme = clickme
        self.has_map = has_map if use_maps else torch.zeros_like(has_map)
        self.lambda_clickme = args.lambda_clickme
        self.device = device
        self.cuda = device.type == "cuda"
        self.autocast_dtype = torch.bfloat16 if args.precision == "bf16" else None
        self.step_times, self.phase_times, self.peak_mem = [], {p: [] for p in PHASES}, []
        self.n_maps = None
        self.last = {}

    def _autocast(self):
        if self.autocast_dtype is None:
            return torch.autocast(device_type=self.device.type, enabled=False)
        return torch.autocast(device_type=self.device.type, dtype=self.autocast_dtype)

    def step(self, record):
        clock = PhaseClock(self.cuda)
        if self.cuda:
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            resident = torch.cuda.memory_allocated()  # both nets' weights, momenta and the batch
        start = time.perf_counter()
        clock.mark()
        with self._autocast():
            logits, maps = self.net(self.images)
            clock.mark()
            loss, ce, att = clickme_loss(logits, self.targets, maps, self.clickme, self.has_map, self.lambda_clickme)
        clock.mark()
        loss.backward()
        clock.mark()
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        clock.mark()
        if self.cuda:
            torch.cuda.synchronize()
        elapsed = time.perf_counter() - start
        self.n_maps = len(maps)
        self.last = {"loss": loss.item(), "cross_entropy": ce.item(), "attention": att.item()}
        if record:
            self.step_times.append(elapsed)
            for phase, seconds in zip(PHASES, clock.durations(), strict=True):
                self.phase_times[phase].append(seconds)
            if self.cuda:
                self.peak_mem.append(torch.cuda.max_memory_allocated() - resident)
        return elapsed

    def summary(self, batch):
        median = statistics.median(self.step_times)
        return {
            "arch": self.arch,
            "params": self.params,
            "attention_maps": self.n_maps,
            "step_s": self.step_times,
            "step_median_s": median,
            "step_min_s": min(self.step_times),
            "images_per_s": batch / median,
            "phase_s": self.phase_times,
            "phase_median_s": {p: statistics.median(v) for p, v in self.phase_times.items()},
            "step_peak_memory_bytes": max(self.peak_mem) if self.peak_mem else None,
            "last_losses": self.last,
        }


def make_data(args, batch, device):
    generator = torch.Generator().manual_seed(args.seed)
    images = torch.randn(batch, 3, args.size, args.size, generator=generator)
    targets = torch.randint(0, NUM_CLASSES, (batch,), generator=generator)
    clickme = torch.rand(batch, args.size, args.size, generator=generator)
    has_map = torch.ones(batch, dtype=torch.bool)
    images = images.to(device)
    if args.channels_last:
        images = images.contiguous(memory_format=torch.channels_last)
    return images, targets.to(device), clickme.to(device), has_map.to(device)


def fmt_s(seconds, cuda):
    return f"{seconds * 1000:.1f} ms" if cuda else f"{seconds:.2f} s"


def profile_step(runner, top):
    """Self time per op name (seconds) of one more step of `runner` under torch.profiler."""
    from torch.profiler import ProfilerActivity, profile

    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if runner.cuda else [])
    with profile(activities=activities) as prof:
        runner.step(record=False)
    key = "self_device_time_total" if runner.cuda else "self_cpu_time_total"
    return {event.key: getattr(event, key) / 1e6 for event in prof.key_averages()}


def print_profile(runners, profiles, top, cuda):
    """The `top` ops by self time, for each net side by side, and where the gated nets' extra goes."""
    scale, unit = (1000.0, "ms") if cuda else (1.0, "s")
    names = sorted(set().union(*profiles), key=lambda op: -max(p.get(op, 0.0) for p in profiles))[:top]
    width = max(len(op) for op in names) if names else 10
    print(f"\nprofile of one step ({'GPU' if cuda else 'CPU'} self time per op, {unit}); top {top}:")
    header = f"{'op':<{width}} " + " ".join(f"{r.arch[:22]:>22}" for r in runners) + f" {'extra (2nd - 1st)':>18}"
    print(header)
    print("-" * len(header))
    for op in names:
        cells = " ".join(f"{p.get(op, 0.0) * scale:>22.3f}" for p in profiles)
        print(f"{op:<{width}} {cells} {(profiles[1].get(op, 0.0) - profiles[0].get(op, 0.0)) * scale:>+18.3f}")
    totals = " ".join(f"{sum(p.values()) * scale:>22.3f}" for p in profiles)
    print(f"{'(all ops)':<{width}} {totals} {(sum(profiles[1].values()) - sum(profiles[0].values())) * scale:>+18.3f}")
    extra = {op: profiles[1].get(op, 0.0) - profiles[0].get(op, 0.0) for op in set(profiles[0]) | set(profiles[1])}
    biggest = sorted(extra.items(), key=lambda kv: -kv[1])[:top]
    print(f"\nwhere {runners[1].arch}'s extra time goes (ops with the largest self-time increase, {unit}):")
    for op, seconds in biggest:
        print(f"  {op:<{width}} {seconds * scale:>+10.3f}")


def bench_batch(args, batch, device):
    """Time (and with --profile, profile) the nets at one batch size; prints its table and returns its numbers."""
    torch.manual_seed(args.seed)
    data = make_data(args, batch, device)
    runners = [
        Runner(args.base, args, batch, device, data, use_maps=False),
        Runner(args.gated, args, batch, device, data, use_maps=True),
    ]
    if args.reference:
        runners.append(Runner(args.gated, args, batch, device, data, use_maps=True, reference=True))
    five = args.local_5x5 or GALA_PRESETS[args.gala_preset]["local_5x5"]
    print(
        f"\nbatch {batch}, {args.size} px, {NUM_CLASSES} classes, {args.precision}, "
        f"{'channels_last' if args.channels_last else 'NCHW'}, lambda {args.lambda_clickme}, "
        f"gated stages {','.join(args.stages)}{' (local 5x5)' if five else ''}, GALA settings {args.gala_preset}; "
        f"{args.warmup} warm-up + {args.steps} measured steps each, interleaved"
    )
    sys.stdout.flush()

    wall_start = time.perf_counter()
    for i in range(args.warmup):
        for runner in runners:
            seconds = runner.step(record=False)
            print(f"  warm-up {i + 1}/{args.warmup} {runner.arch}: {fmt_s(seconds, args.cuda)}", flush=True)
    for i in range(args.steps):
        order = runners if i % 2 == 0 else runners[::-1]
        for runner in order:
            seconds = runner.step(record=True)
            if not args.cuda or args.steps <= 10:
                print(f"  step {i + 1}/{args.steps} {runner.arch}: {fmt_s(seconds, args.cuda)}", flush=True)
    wall = time.perf_counter() - wall_start

    summaries = [r.summary(batch) for r in runners]
    sb, sg = summaries[0], summaries[1]
    ratio = sg["step_median_s"] / sb["step_median_s"]
    verdict = "PASS" if ratio <= GOAL_RATIO else "MISS"
    unit = "ms" if args.cuda else "s"
    scale = 1000.0 if args.cuda else 1.0
    digits = 1 if args.cuda else 2

    def cell(seconds):
        return f"{seconds * scale:.{digits}f}"

    width = max(16, *(len(s["arch"]) for s in summaries))
    header = (
        f"{'net':<{width}} {'params':>8} {'maps':>4} | {'median ' + unit:>10} {'min ' + unit:>8} {'images/s':>9} | "
        + " ".join(f"{p + ' ' + unit:>12}" for p in PHASES)
        + (f" | {'step GiB':>8}" if args.cuda else "")
    )
    print()
    print(header)
    print("-" * len(header))
    for s in summaries:
        print(
            f"{s['arch']:<{width}} {s['params'] / 1e6:>7.2f}M {s['attention_maps']:>4} | "
            f"{cell(s['step_median_s']):>10} {cell(s['step_min_s']):>8} {s['images_per_s']:>9.1f} | "
            + " ".join(f"{cell(s['phase_median_s'][p]):>12}" for p in PHASES)
            + (f" | {s['step_peak_memory_bytes'] / 2**30:>8.2f}" if args.cuda else "")
        )
    # A phase's ratio is shown only where the plain net spends at least 1 % of its step there (the
    # plain net's loss is a bare cross-entropy: microseconds); the deltas line below has them all.
    print("-" * len(header))
    ratios = {}
    for s in summaries[1:]:
        phase_ratio = {
            p: (s["phase_median_s"][p] / sb["phase_median_s"][p])
            if sb["phase_median_s"][p] >= 0.01 * sb["step_median_s"]
            else None
            for p in PHASES
        }
        ratios[s["arch"]] = {
            "ratio_step_time": s["step_median_s"] / sb["step_median_s"],
            "ratio_step_min": s["step_min_s"] / sb["step_min_s"],
            "phase_ratio": phase_ratio,
        }
        label = "gala/plain" if s is sg else "ref/plain"
        print(
            f"{label:<{width}} {s['params'] / sb['params']:>8.3f} {'':>4} | "
            f"{s['step_median_s'] / sb['step_median_s']:>10.3f} "
            f"{s['step_min_s'] / sb['step_min_s']:>8.3f} {sb['images_per_s'] / s['images_per_s']:>9.3f} | "
            + " ".join(f"{phase_ratio[p]:>12.3f}" if phase_ratio[p] else f"{'-':>12}" for p in PHASES)
        )
    print()
    what = "images/s plain/gala" if args.cuda else "step time gala/plain"
    print(
        f"goal: {what} <= {GOAL_RATIO:.2f} ({device.type}, {args.precision}, batch {batch}): {ratio:.3f} -> {verdict}"
    )
    extra = sg["step_median_s"] - sb["step_median_s"]
    deltas = ", ".join(
        f"{p} {(sg['phase_median_s'][p] - sb['phase_median_s'][p]) * scale:+.{digits}f} {unit}" for p in PHASES
    )
    print(f"extra time per step {extra * scale:+.{digits}f} {unit} (medians); by phase: {deltas}")
    if args.cuda:
        print("(phases are GPU time between CUDA events; the step time is wall clock between synchronisations)")
    print(
        f"last losses: {args.gated} ce {sg['last_losses']['cross_entropy']:.3f} + "
        f"{args.lambda_clickme} x attention {sg['last_losses']['attention']:.4f}; "
        f"{args.base} ce {sb['last_losses']['cross_entropy']:.3f}"
    )
    print(f"wall time {wall:.1f} s")
    result = {
        "batch": batch,
        "base": sb,
        "gated": sg,
        "reference": summaries[2] if args.reference else None,
        "ratio_step_time": ratio,
        "ratio_step_min": sg["step_min_s"] / sb["step_min_s"],
        "phase_ratio": ratios[sg["arch"]]["phase_ratio"],
        "ratios": ratios,
        "verdict": verdict,
        "wall_s": wall,
    }
    if args.profile:
        profiles = [profile_step(r, args.profile) for r in runners]
        print_profile(runners, profiles, args.profile, args.cuda)
        result["profile_self_s"] = {r.arch: p for r, p in zip(runners, profiles, strict=True)}
    return result


def main(argv=None):
    args = parse_args(argv)
    if args.cuda:
        if not torch.cuda.is_available():
            print(
                "bench/train_step.py --cuda: no CUDA GPU is visible to torch "
                f"(torch {torch.__version__}, built for CUDA {torch.version.cuda}); "
                "run it on a machine with a GPU, or without --cuda for the CPU benchmark.",
                file=sys.stderr,
            )
            return 2
        device = torch.device("cuda")
        torch.backends.cudnn.benchmark = True
        device_name = torch.cuda.get_device_name(device)
    else:
        device = torch.device("cpu")
        device_name = cpu_name()
    if args.threads:
        torch.set_num_threads(args.threads)
    allocator = "system (glibc defaults)"
    if args.allocator == "kept":
        allocator = "freed memory kept" if keep_freed_memory() else "system (mallopt unavailable)"
    if args.precision == "bf16" and not args.cuda:
        print("note: bf16 autocast on CPU is for trying the GPU path's code, not the issue's CPU goal")

    print(f"bench/train_step.py: one SGD training step, {args.gated} + ClickMe loss against {args.base}")
    print(
        f"torch {torch.__version__} | device {device.type}: {device_name} | "
        f"threads {torch.get_num_threads()} (cpu cores {os.cpu_count()}) | allocator {allocator}"
        + (f" | CUDA {torch.version.cuda}, cuDNN {torch.backends.cudnn.version()}" if args.cuda else "")
    )
    runs = [bench_batch(args, batch, device) for batch in args.batches]
    if len(runs) > 1:
        print(f"\nsummary (median step time ratio against {args.base}; goal <= {GOAL_RATIO:.2f}):")
        for run in runs:
            line = f"  batch {run['batch']:>4}: {args.gated} {run['ratio_step_time']:.3f} ({run['verdict']})"
            if run["reference"] is not None:
                ref = run["ratios"][run["reference"]["arch"]]["ratio_step_time"]
                line += f", with GALA's reference ops {ref:.3f}"
            print(line)

    if args.json:
        result = {
            "benchmark": "train_step",
            "torch": torch.__version__,
            "device": device.type,
            "device_name": device_name,
            "threads": torch.get_num_threads(),
            "cpu_count": os.cpu_count(),
            "allocator": allocator,
            "config": {k: (list(v) if isinstance(v, tuple) else v) for k, v in vars(args).items() if k != "json"},
            "goal_ratio": GOAL_RATIO,
            "runs": runs,
        }
        if len(runs) == 1:  # one batch: its numbers at the top level too, as before
            result.update({k: v for k, v in runs[0].items() if k != "batch"})
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
