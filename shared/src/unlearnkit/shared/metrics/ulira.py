"""An opt-in, per-example, retrain-referenced membership attack (U-LiRA, Hayes et al. 2024).

Population MIAs (SalUn's MIA-efficacy) can be fooled: a method may make the forget set *look* like test data
on average while each example stays recognisable. U-LiRA asks, example by example: does this model's
confidence on x look like that of models that never saw x (retrained, "out"), or like that of models that
saw it ("in": shadow models unlearned with the same method, or simply trained with x)?

Per example we fit one Gaussian to the "in" shadow confidences and one to the "out" ones (LiRA), where the
confidence is the logit-scaled probability of the true class, phi = log(p / (1 - p)), which is close to
Gaussian across retrainings. The score is the log-likelihood ratio log N(phi | in) - log N(phi | out):
> 0 means "looks like it still knows x".

The cost is the shadow models (several retrains), hence opt-in. To summarise how well unlearned and
retrained models can be told apart, :func:`ulira_evaluate` scores each shadow model against Gaussians fitted
on the *other* shadows (leave-one-model-out): AUC / accuracy near 0.5 = indistinguishable = good unlearning.
"""

from __future__ import annotations

import numpy as np
import torch

from ..inference import predict

__all__ = ["logit_confidence", "ulira_scores", "ulira_evaluate", "ulira_attack"]


def logit_confidence(logits, targets) -> np.ndarray:
    """phi = log(p_y / (1 - p_y)) per row, computed as z_y - logsumexp_{j != y} z_j so that it stays finite
    for confident predictions where 1 - p_y underflows in float32."""
    z = (logits if torch.is_tensor(logits) else torch.as_tensor(np.asarray(logits))).detach().double().cpu()
    y = (
        (targets if torch.is_tensor(targets) else torch.as_tensor(np.asarray(targets)))
        .long()
        .cpu()
        .reshape(-1)
    )
    rows = torch.arange(z.shape[0])
    zy = z[rows, y]
    others = z.clone()
    others[rows, y] = -torch.inf
    return (zy - torch.logsumexp(others, dim=1)).numpy()


def _as_models_by_examples(confs) -> np.ndarray:
    a = np.asarray(confs, dtype=np.float64)
    return a.reshape(1, -1) if a.ndim == 1 else a


def _variances(side: np.ndarray, global_variance: bool) -> np.ndarray | None:
    if side.shape[0] < 2:
        return None
    var = side.var(axis=0, ddof=1)
    return np.full_like(var, var.mean()) if global_variance else var


def ulira_scores(
    target_conf, in_confs, out_confs, global_variance: bool = False, min_std: float = 1e-3
) -> np.ndarray:
    """Per-example log-likelihood ratio log N(t | in) - log N(t | out).

    ``in_confs`` / ``out_confs``: ``[M, N]`` phi values of M shadow models on N examples. ``target_conf``:
    ``[N]`` (or ``[K, N]`` for K target models). A side with a single model borrows the other side's
    variance (LiRA's fixed-variance trick); ``global_variance`` pools each side's variance over examples,
    steadier with few shadows.
    """
    ins, outs = _as_models_by_examples(in_confs), _as_models_by_examples(out_confs)
    t = np.asarray(target_conf, dtype=np.float64)
    if ins.shape[1] != outs.shape[1] or t.shape[-1] != ins.shape[1]:
        raise ValueError(f"example counts differ: target {t.shape}, in {ins.shape}, out {outs.shape}")
    v_in, v_out = _variances(ins, global_variance), _variances(outs, global_variance)
    if v_in is None and v_out is None:
        raise ValueError("U-LiRA needs at least 2 shadow models on one side to estimate a variance")
    v_in = v_out if v_in is None else v_in
    v_out = v_in if v_out is None else v_out
    s_in = np.sqrt(np.maximum(v_in, min_std**2))
    s_out = np.sqrt(np.maximum(v_out, min_std**2))

    def logpdf(x, mu, s):
        return -0.5 * ((x - mu) / s) ** 2 - np.log(s)

    return logpdf(t, ins.mean(0), s_in) - logpdf(t, outs.mean(0), s_out)


def ulira_evaluate(in_confs, out_confs, target_conf=None, global_variance: bool = False) -> dict:
    """Leave-one-model-out attack over the shadow models, plus the target's per-example verdicts.

    Returns ``auc`` and ``accuracy`` (threshold 0) of telling "in" from "out" shadow models per example
    (NaN when there are too few shadows to hold one out), and, when ``target_conf`` is given,
    ``per_example`` scores and ``target_in_rate`` (percent of examples on which the target looks "in").
    """
    ins, outs = _as_models_by_examples(in_confs), _as_models_by_examples(out_confs)
    scores, labels = [], []
    for side, label in ((ins, 1), (outs, 0)):
        for m in range(side.shape[0]):
            rest = np.delete(side, m, axis=0)
            other = outs if label == 1 else ins
            new_in, new_out = (rest, other) if label == 1 else (other, rest)
            if rest.shape[0] == 0 or (rest.shape[0] < 2 and other.shape[0] < 2):
                continue
            scores.append(ulira_scores(side[m], new_in, new_out, global_variance))
            labels.append(np.full(side.shape[1], label))
    out: dict = {"auc": float("nan"), "accuracy": float("nan"), "n_in": ins.shape[0], "n_out": outs.shape[0]}
    if scores and len({int(lab[0]) for lab in labels}) == 2:
        from sklearn.metrics import roc_auc_score  # lazy: slow import

        s, y = np.concatenate(scores), np.concatenate(labels)
        out["auc"] = float(roc_auc_score(y, s))
        out["accuracy"] = float(100.0 * ((s > 0) == (y == 1)).mean())
    if target_conf is not None:
        per = ulira_scores(target_conf, ins, outs, global_variance)
        out["per_example"] = per
        out["target_in_rate"] = float(100.0 * (per > 0).mean())
    return out


def ulira_attack(
    target_model,
    in_models,
    out_models,
    forget,
    device="cpu",
    batch_size: int = 256,
    global_variance: bool = False,
) -> dict:
    """U-LiRA on the forget set: ``in_models`` saw (then possibly unlearned) the forget set, ``out_models``
    were retrained without it. See :func:`ulira_evaluate` for the result's keys."""

    def confs(model):
        logits, y = predict(model, forget, device=device, batch_size=batch_size)
        return logit_confidence(logits, y)

    ins = np.stack([confs(m) for m in in_models])
    outs = np.stack([confs(m) for m in out_models])
    return ulira_evaluate(ins, outs, target_conf=confs(target_model), global_variance=global_variance)
