from __future__ import annotations

import torch
from unlearnkit.slug.layers import candidate_names, mark_pareto, pareto_mask, plot_layers, score_layers


def test_pareto_front_of_hand_made_points():
    # (importance, alignment): higher importance and lower alignment are better
    pts = [(1.0, 0.1), (2.0, 0.2), (3.0, 0.5), (1.5, 0.3), (0.5, 0.05), (2.5, 0.6), (3.0, 0.4)]
    # (1.5,.3) is dominated by (2,.2); (2.5,.6) by (3,.5); (3,.5) by nothing strictly (same importance as (3,.4))
    assert pareto_mask(pts) == [True, True, True, False, True, False, True]


def test_candidates_exclude_bias_embeddings_norms():
    names = ["visual.conv1.weight", "visual.positional_embedding", "token_embedding.weight", "logit_scale",
             "transformer.resblocks.0.attn.in_proj_bias", "ln_final.weight", "text_projection",
             "visual.transformer.resblocks.0.ln_1.weight", "transformer.resblocks.0.mlp.c_fc.weight"]
    assert candidate_names(names) == ["visual.conv1.weight", "text_projection",
                                      "transformer.resblocks.0.mlp.c_fc.weight"]
    assert "ln_final.weight" in candidate_names(names, exclude_norm=False)


def test_scores_and_per_tower_front(tmp_path):
    params = {"visual.a.weight": torch.ones(4), "visual.b.weight": torch.ones(4) * 2, "t.c.weight": torch.ones(4)}
    gf = {"visual.a.weight": torch.tensor([1.0, 0, 0, 0]), "visual.b.weight": torch.tensor([0, 2.0, 0, 0]),
          "t.c.weight": torch.tensor([1.0, 1.0, 0, 0])}
    gr = {"visual.a.weight": torch.tensor([1.0, 0, 0, 0]), "visual.b.weight": torch.tensor([1.0, 0, 0, 0]),
          "t.c.weight": torch.tensor([-1.0, 0, 0, 0])}
    s = {x.name: x for x in mark_pareto(score_layers(params, gf, gr))}
    assert abs(s["visual.a.weight"].importance - 0.5) < 1e-6 and abs(s["visual.a.weight"].alignment - 1) < 1e-6
    assert abs(s["visual.b.weight"].importance - 0.5) < 1e-6 and s["visual.b.weight"].alignment < 1e-6
    assert abs(s["t.c.weight"].alignment - 2 ** -0.5) < 1e-6  # absolute cosine
    assert s["t.c.weight"].tower == "text" and s["t.c.weight"].pareto  # alone in its tower
    plot_layers(tmp_path / "l.png", list(s.values()))
    assert (tmp_path / "l.png").read_bytes()[:4] == b"\x89PNG"
