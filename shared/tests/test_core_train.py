import pytest
import torch
from unlearnkit.shared.checkpoint import read_checkpoint
from unlearnkit.shared.errors import UnlearnkitError
from unlearnkit.shared.models import create_model
from unlearnkit.shared.train import TrainConfig, evaluate, fit, lr_factor


def test_tiny_model_learns_digits(tiny_trained, digits):
    model, meta, path = tiny_trained
    assert meta["test_acc"] > 85
    assert evaluate(model, digits.test) == pytest.approx(meta["test_acc"])
    ckpt = read_checkpoint(path)
    assert ckpt["meta"]["train_config"]["epochs"] == 3 and "train_state" not in ckpt
    assert ckpt["meta"]["init_classifier"]["weight"].shape == (10, 128)


def test_resume_reaches_the_same_weights(digits, tmp_path):
    cfg = TrainConfig(epochs=4, batch_size=128, lr=0.05)
    data = digits.train.subset(range(512))
    torch.manual_seed(1)
    full = create_model("lenet5", 10, in_chans=1)
    init = {k: v.clone() for k, v in full.state_dict().items()}
    fit(full, data, cfg, progress=False)

    killed = create_model("lenet5", 10, in_chans=1)
    killed.load_state_dict(init)
    ckpt = tmp_path / "run.pt"
    fit(killed, data, cfg, checkpoint_path=ckpt, progress=False, on_epoch_end=lambda e, m: e == 1)  # "killed"
    resumed = create_model("lenet5", 10, in_chans=1)  # a fresh process: weights come from the checkpoint
    result = fit(resumed, data, cfg, checkpoint_path=ckpt, resume=True, progress=False)
    assert result.resumed_from == 2
    for (k, a), b in zip(full.state_dict().items(), resumed.state_dict().values(), strict=True):
        assert torch.equal(a, b), k


def test_grad_mask_holds_weights_under_decay_and_momentum(digits):
    model = create_model("mlp", 10, in_chans=1)
    w = model.body[1].weight
    mask = {"body.1.weight": (torch.rand_like(w) > 0.5).float()}
    before = w.detach().clone()
    cfg = TrainConfig(epochs=2, batch_size=64, lr=0.1, weight_decay=0.05, momentum=0.9)
    fit(model, digits.train.subset(range(256)), cfg, grad_mask=mask, progress=False)
    frozen = mask["body.1.weight"] == 0
    assert torch.equal(w.detach()[frozen], before[frozen])
    assert not torch.equal(w.detach()[~frozen], before[~frozen])


def test_schedules():
    cfg = TrainConfig(epochs=10, lr=1.0, schedule="cosine", warmup_epochs=0)
    assert lr_factor(0, cfg) == 1.0 and lr_factor(5, cfg) == pytest.approx(0.5)
    ms = TrainConfig(epochs=10, schedule="multistep", milestones=(3, 6), gamma=0.1)
    assert [round(lr_factor(e, ms), 6) for e in (0, 3, 6)] == [1.0, 0.1, 0.01]
    wu = TrainConfig(epochs=10, warmup_epochs=3, schedule="constant")
    assert [lr_factor(e, wu) for e in range(4)] == [0.25, 0.5, 0.75, 1.0]


def test_resuming_a_finished_run_trains_nothing(digits, tmp_path):
    from unlearnkit.shared.workflows import train_model

    cfg = TrainConfig(epochs=2, batch_size=128, lr=0.05)
    path = tmp_path / "done.pt"
    model, meta, _ = train_model(digits, "mlp", cfg, path, progress=False)
    again, meta2, result = train_model(digits, "mlp", cfg, path, resume=True, progress=False)
    assert result.resumed_from == 2 and len(result.history) == 2  # loaded, not retrained
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), again.state_dict().values(), strict=True))


def test_killed_run_never_replaces_a_finished_checkpoint(digits, tmp_path):
    from unlearnkit.shared.checkpoint import is_complete, load_model, partial_path
    from unlearnkit.shared.train import loop
    from unlearnkit.shared.workflows import train_model

    cfg = TrainConfig(epochs=2, batch_size=128, lr=0.05)
    path = tmp_path / "model.pt"
    model, meta, _ = train_model(digits, "mlp", cfg, path, progress=False)
    assert is_complete(path) and meta["complete"] and not partial_path(path).exists()
    before = path.read_bytes()

    class Killed(Exception):
        pass

    def die_after_first_epoch():
        raise Killed

    # an --overwrite run with another seed dies after one epoch: P is untouched, P.partial holds epoch 0
    orig_delay = loop._test_delay
    loop._test_delay = die_after_first_epoch
    try:
        with pytest.raises(Killed):
            train_model(digits, "mlp", TrainConfig(epochs=2, batch_size=128, lr=0.05, seed=7), path, overwrite=True,
                        progress=False)
    finally:
        loop._test_delay = orig_delay
    assert path.read_bytes() == before and is_complete(path)
    partial = partial_path(path)
    assert read_checkpoint(partial)["meta"]["complete"] is False and not is_complete(partial)
    # resuming would replace the finished P at its end: only with --overwrite
    with pytest.raises(UnlearnkitError, match="pass --overwrite"):
        train_model(digits, "mlp", TrainConfig(epochs=2, batch_size=128, lr=0.05, seed=7), path, resume=True,
                    progress=False)
    # resuming with another seed than the killed run's is refused: it would relabel the weights
    with pytest.raises(UnlearnkitError, match="cannot resume .* seed 7, not 8"):
        train_model(digits, "mlp", TrainConfig(epochs=2, batch_size=128, lr=0.05, seed=8), path, resume=True,
                    overwrite=True, progress=False)
    assert path.read_bytes() == before
    # resuming continues the partial run and only then replaces P
    _, meta2, result = train_model(digits, "mlp", TrainConfig(epochs=2, batch_size=128, lr=0.05, seed=7), path,
                                   resume=True, overwrite=True, progress=False)
    assert result.resumed_from == 1 and meta2["complete"] and not partial.exists()
    assert load_model(path)[1]["train_config"]["seed"] == 7


def test_is_complete_rejects_missing_truncated_and_unfinished_files(tiny_trained, tmp_path):
    from unlearnkit.shared.checkpoint import is_complete

    _, _, path = tiny_trained
    assert is_complete(path)
    assert not is_complete(tmp_path / "missing.pt")
    cut = tmp_path / "cut.pt"
    cut.write_bytes(path.read_bytes()[:100])
    assert not is_complete(cut)


@pytest.mark.parametrize("field, value, needle", [
    ("lr", float("nan"), "lr must be a finite number"), ("lr", float("inf"), "lr must be a finite number"),
    ("lr", 0.0, "lr must be > 0"), ("epochs", 0, "epochs must be >= 1"), ("epochs", -3, "epochs must be >= 1"),
    ("epochs", 2.5, "epochs must be an integer"), ("batch_size", 0, "batch_size must be >= 1"),
    ("weight_decay", -1e-4, "weight_decay must be >= 0"), ("label_smoothing", 1.0, "label_smoothing must be in"),
    ("warmup_epochs", -1, "warmup_epochs must be >= 0"), ("optimizer", "sgdd", "unknown optimizer 'sgdd'"),
    ("schedule", "linear", "unknown schedule 'linear'"),
])
def test_train_config_refuses_nonsense_numbers(field, value, needle):
    with pytest.raises(UnlearnkitError, match=needle):
        TrainConfig(**{field: value})


def test_diverging_loss_stops_in_one_line_and_writes_nothing(digits, tmp_path):
    from unlearnkit.shared.workflows import train_model

    path = tmp_path / "m.pt"
    with pytest.raises(UnlearnkitError, match="training diverged: the loss became nan in epoch 1"):
        train_model(digits, "mlp", TrainConfig(epochs=2, batch_size=128, lr=1e30), path, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_model_that_does_not_fit_the_images_is_one_line(tmp_path):
    from unlearnkit.shared.workflows import load_data, train_model

    big = load_data("digits", image_size=64)  # lenet5 takes 28/32-pixel images
    with pytest.raises(UnlearnkitError, match=r"model lenet5 does not fit the data's images of shape \(1, 64, 64\)"):
        train_model(big, "lenet5", TrainConfig(epochs=1), tmp_path / "m.pt", progress=False)
    assert not any(tmp_path.iterdir())


def test_resume_of_a_finished_run_with_other_settings_is_refused(tiny_trained, digits, tmp_path):
    import shutil

    from unlearnkit.shared.workflows import train_model

    _, _, orig = tiny_trained
    path = tmp_path / "orig.pt"
    shutil.copy(orig, path)
    before = path.read_bytes()
    for cfg, needle in [(TrainConfig(epochs=3, batch_size=64, lr=0.1), "lr 0.05, not 0.1"),
                        (TrainConfig(epochs=3, batch_size=64, lr=0.05, seed=1), "seed 0, not 1")]:
        with pytest.raises(UnlearnkitError, match=f"is a finished run, but .*{needle}"):
            train_model(digits, "mlp", cfg, path, resume=True, progress=False)
    with pytest.raises(UnlearnkitError, match="model name 'mlp', not 'lenet5'"):
        train_model(digits, "lenet5", TrainConfig(epochs=3, batch_size=64, lr=0.05), path, resume=True,
                    progress=False)
    assert path.read_bytes() == before
