"""Which tensor to edit: importance vs gradient alignment per candidate tensor, and their Pareto set.

A good layer carries a large forget gradient relative to its weights (importance) while that gradient
is nearly orthogonal to the retain gradient (low alignment), so the edit barely moves retained behaviour.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from ._core import UnlearnkitError, save_json

EXCLUDE_KEYWORDS = ("bias", "logit_scale", "position", "embedding")
NORM_KEYWORDS = ("norm", "ln_")


@dataclass
class LayerScore:
    name: str
    tower: str  # "vision" | "text"
    importance: float
    alignment: float
    numel: int
    pareto: bool = False


def tower_of(name: str) -> str:
    return "vision" if name.startswith("visual.") else "text"


def candidate_names(names: Iterable[str], exclude_norm: bool = True) -> list[str]:
    """Parameter tensors SLUG may edit: never biases, the temperature, positional or token embeddings."""
    out = []
    for n in names:
        low = n.lower()
        if any(k in low for k in EXCLUDE_KEYWORDS):
            continue
        if exclude_norm and any(k in low for k in NORM_KEYWORDS):
            continue
        out.append(n)
    return out


def score_layers(params: Mapping[str, torch.Tensor], g_forget: Mapping[str, torch.Tensor],
                 g_retain: Mapping[str, torch.Tensor], exclude_norm: bool = True,
                 tower: Callable[[str], str] = tower_of) -> list[LayerScore]:
    """importance = ||g_f|| / ||theta||, alignment = |cos(g_f, g_r)| for every candidate tensor.
    ``tower`` names each tensor's tower (other model families than open_clip name theirs differently)."""
    names = [n for n in candidate_names(params, exclude_norm) if n in g_forget and n in g_retain]
    if not names:
        raise UnlearnkitError("no candidate tensors shared by the model and both gradient files")
    scores = []
    for n in names:
        theta = params[n].detach().float().flatten()
        gf, gr = g_forget[n].float().flatten(), g_retain[n].float().flatten()
        if gf.shape != theta.shape or gr.shape != theta.shape:
            raise UnlearnkitError(f"gradient for {n} has shape {tuple(g_forget[n].shape)}, the model {tuple(params[n].shape)}")
        tn, gfn, grn = theta.norm().item(), gf.norm().item(), gr.norm().item()
        importance = gfn / tn if tn > 0 else 0.0
        alignment = abs(torch.dot(gf, gr).item()) / (gfn * grn) if gfn > 0 and grn > 0 else 0.0
        scores.append(LayerScore(n, tower(n), importance, alignment, theta.numel()))
    return scores


def pareto_mask(points: Sequence[tuple[float, float]]) -> list[bool]:
    """``points`` are (importance, alignment). A point is dominated when another has strictly higher
    importance AND strictly lower alignment; the front is everything not dominated."""
    out = []
    for i, (imp_i, ali_i) in enumerate(points):
        dominated = any(imp_j > imp_i and ali_j < ali_i for j, (imp_j, ali_j) in enumerate(points) if j != i)
        out.append(not dominated)
    return out


def mark_pareto(scores: list[LayerScore]) -> list[LayerScore]:
    """Pareto set computed per tower: the towers' gradients live on different scales."""
    for tower in ("vision", "text"):
        group = [s for s in scores if s.tower == tower]
        for s, keep in zip(group, pareto_mask([(s.importance, s.alignment) for s in group]), strict=True):
            s.pareto = keep
    return scores


def save_layers(path: str | Path, scores: Sequence[LayerScore]) -> None:
    save_json(path, [asdict(s) for s in scores])


def load_layers(path: str | Path) -> list[LayerScore]:
    import json

    path = Path(path)
    if not path.is_file():
        raise UnlearnkitError(f"layer list {path} not found (run `slug layers` first)")
    try:
        return [LayerScore(**d) for d in json.loads(path.read_text())]
    except (json.JSONDecodeError, UnicodeDecodeError, TypeError) as exc:
        raise UnlearnkitError(f"{path} is not a layer list written by `slug layers` ({exc})") from None


def plot_layers(path: str | Path, scores: Sequence[LayerScore], title: str = "SLUG layer selection") -> None:
    """Importance vs alignment, log-log, one colour per tower, Pareto layers ringed and labelled."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ._core import atomic_write_bytes

    fig, ax = plt.subplots(figsize=(7, 5))
    eps = 1e-12
    for tower, color in (("vision", "tab:blue"), ("text", "tab:orange")):
        pts = [s for s in scores if s.tower == tower]
        if not pts:
            continue
        ax.scatter([max(s.alignment, eps) for s in pts], [max(s.importance, eps) for s in pts], s=14,
                   color=color, alpha=0.6, label=f"{tower} tower")
        front = [s for s in pts if s.pareto]
        ax.scatter([max(s.alignment, eps) for s in front], [max(s.importance, eps) for s in front], s=70,
                   facecolors="none", edgecolors=color, linewidths=1.5, label=f"{tower} Pareto")
        for s in front:
            ax.annotate(s.name.replace("transformer.resblocks.", "b").replace("visual.", "v."),
                        (max(s.alignment, eps), max(s.importance, eps)), fontsize=6)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("gradient alignment |cos(g_forget, g_retain)|")
    ax.set_ylabel("importance ||g_forget|| / ||theta||")
    ax.set_title(title)
    ax.legend(fontsize=7)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=120)
    plt.close(fig)
    atomic_write_bytes(path, buf.getvalue())
