"""Reads `perf script` output (DWARF call graphs of a `forecast train` run, see
scripts/profile-train.sh) on stdin and prints the share of samples per part of the training step.
Each sample goes to the first rule that matches: a rule's names match any frame of the stack,
its TOP: names only the five frames nearest the leaf. Scoring on the flat path is recognised by
its workspace frames without a training step's."""
import sys, collections
RULES = [  # (category, substrings any of which in a frame name assigns it), checked leaf→root per rule order
    ("page faults and zeroing of fresh memory", ["clear_page", "asm_exc_page_fault"]),
    ("memory allocation and freeing", ["_mi_", "mi_free", "mi_malloc", "__memset", "__memmove"]),
    ("thread hand-offs (spawn, join, wake, idle spin)", ["TOP:rayon_core::sleep", "TOP:futex", "TOP:wait_until", "TOP:sched_yield", "TOP:schedule", "TOP:finish_task_switch", "TOP:clone3", "TOP:std::thread::Builder", "TOP:start_thread", "TOP:crossbeam", "TOP:rayon_core::registry", "TOP:rayon_core::latch", "TOP:__GI___sched", "TOP:syscall", "TOP:mmap", "TOP:__pthread"]),
    ("validation (scoring the validation span each epoch)", ["validation_loss", "::outputs", "flat_outputs", "forward_windows"]),
    ("Adam and clipping", ["AdamW", "adam::Adam", "clip_grad_norm", "clip_factor"]),
    ("LSTM recurrence forward (per-step GEMM + gates)", ["recur_forward", "fused::forward", "forward_rows", "::cpu_fwd"]),
    ("LSTM recurrence backward (per-step GEMM + gates, dW_hh)", ["recur_backward", "fused::backward", "backward_rows", "CustomOp3>::bwd"]),
    ("input projection, dW_ih, dx, head (GEMMs outside the recurrence)", ["Workspace::forward", "Workspace::backward", "MatMul", "matmul", "flat_part_step", "part_gradients"]),
    ("gathering windows", ["load_input", "Batches::inputs", "windows::Windows::inputs", "target_tensor"]),
    ("head loss and its gradient", ["batch_nll", "loss_gradient", "head_loss"]),
    ("candle's other element-wise ops and autograd bookkeeping", ["candle_core", "candle_nn"]),
    ("loading the CSV and start-up", ["forecast::data::load", "forecast::data::features", "dataset", "main"]),
]
blocks = sys.stdin.read().split("\n\n")
counts = collections.Counter(); total = 0
for b in blocks:
    lines = [l.strip() for l in b.strip().split("\n")]
    if len(lines) < 2: continue
    frames = [l.split(None, 1)[1].rsplit(" (", 1)[0] for l in lines[1:] if len(l.split(None, 1)) > 1]
    total += 1
    cat = "other"
    flat_scoring = any("Workspace::" in f or "load_input" in f for f in frames) and not any(
        "flat_part_step" in f for f in frames)
    for name, keys in RULES:
        if name.startswith("validation") and flat_scoring:
            cat = name; break
        top = [k[4:] for k in keys if k.startswith("TOP:")]
        anywhere = [k for k in keys if not k.startswith("TOP:")]
        if any(k in f for f in frames[:5] for k in top) or any(k in f for f in frames for k in anywhere):
            cat = name; break
    counts[cat] += 1
for name, n in counts.most_common():
    print(f"{100*n/total:5.1f} %  {name}")
print(f"({total} samples)")
