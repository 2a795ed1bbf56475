"""unlearnkit tune's selection rule on constructed grids (no training), and the shipped presets."""

import json

from unlearnkit.shared.bench.presets import HERE, preset_params
from unlearnkit.shared.bench.tune import choose, grid_points, load_grid


def _row(i, ua, ra, ta, ta_forget=None, ta_retain=None, status="ok"):
    row = {"params": {"i": i}, "UA": ua, "RA": ra, "TA": ta, "status": status}
    if ta_forget is not None:
        row.update(TA_forget=ta_forget, TA_retain=ta_retain)
    return row


def test_class_rule_chance_then_retain_accuracy_then_test_retain_then_cheaper():
    rows = [
        _row(0, 60, 100.0, 95, ta_forget=40.0, ta_retain=99),  # keeps everything but does not forget
        _row(1, 100, 97.0, 88, ta_forget=10.0, ta_retain=97),  # exactly chance (10 classes): allowed
        _row(2, 100, 99.0, 89, ta_forget=5.0, ta_retain=96),   # best RA among those at chance ...
        _row(3, 100, 99.0, 90, ta_forget=0.0, ta_retain=98),   # ... tie on RA: higher TA_retain wins
        _row(4, 100, 99.0, 90, ta_forget=0.0, ta_retain=98),   # full tie: the earlier (cheaper) point
        _row(5, 100, 99.9, 90, ta_forget=0.0, ta_retain=99, status="failed"),
    ]
    pick = choose(rows, "class", num_classes=10, original_ra=100.0)
    assert pick["index"] == 3 and pick["meets_rule"]


def test_class_rule_not_met_picks_the_lowest_forget_test_accuracy_and_says_so():
    rows = [_row(0, 50, 100, 95, 60.0, 99), _row(1, 80, 90, 85, 20.0, 90), _row(2, 70, 99, 90, 20.0, 95)]
    pick = choose(rows, "class", num_classes=10, original_ra=100.0)
    assert pick["index"] == 2 and not pick["meets_rule"] and "chance" in pick["why"]


def test_random_rule_forget_accuracy_closest_to_test_accuracy_keeping_retain_accuracy():
    rows = [
        _row(0, 0.0, 100.0, 99.0),  # forget acc 100 vs TA 99: gap 1
        _row(1, 2.0, 99.0, 98.5),   # forget acc 98 vs 98.5: gap 0.5
        _row(2, 1.0, 90.0, 99.0),   # gap 0 but RA fell 10 points below the original's: not allowed
    ]
    pick = choose(rows, "random", num_classes=10, original_ra=100.0)
    assert pick["index"] == 1 and pick["meets_rule"]
    none_keep = choose([rows[2], _row(3, 5.0, 92.0, 90.0)], "random", num_classes=10, original_ra=100.0)
    assert none_keep["index"] == 1 and not none_keep["meets_rule"]


def test_grids_and_shipped_presets():
    assert grid_points({"lr": [0.1, 0.2], "epochs": [1]}, "class") == [{"lr": 0.1, "epochs": 1},
                                                                       {"lr": 0.2, "epochs": 1}]
    assert grid_points({"class": {"lr": [1]}, "random": {"lr": [2]}}, "random") == [{"lr": 2}]
    assert grid_points({}, "class") == [{}]
    grids = load_grid()
    assert all(1 <= len(grid_points(g, "class")) <= 8 for g in grids.values())
    presets = json.loads((HERE / "digits.json").read_text())["methods"]
    assert "ft" in presets and preset_params("digits", "ft", "class") == presets["ft"]["class"]
    assert preset_params("no-such-data", "ft", "class") == {}


def test_multi_seed_points_are_averaged_and_a_failure_on_any_seed_rules_the_point_out():
    from unlearnkit.shared.bench.tune import _mean_row

    a, b = _row(0, 90, 98, 88, 12.0, 95), _row(0, 100, 96, 86, 6.0, 93)
    mean = _mean_row([a, b])
    assert mean["status"] == "ok" and mean["UA"] == 95 and mean["TA_forget"] == 9.0 and len(mean["per_seed"]) == 2
    knife = _mean_row([_row(1, 100, 97, 90, 0.0, 95), {"params": {"i": 1}, "status": "failed", "note": "diverged"}])
    assert knife["status"] == "failed"
    # The rule on the means: the knife-edge point that diverged on one seed is out, the stable one is chosen.
    pick = choose([mean, knife], "class", num_classes=10, original_ra=100.0)
    assert pick["index"] == 0 and pick["meets_rule"]
