import pytest
import torch
from unlearnkit.lmeraser.prompters import (
    FixedPatchPrompter,
    PadPrompter,
    RandomPatchPrompter,
    build_prompter,
    scaled_prompt_size,
)
from unlearnkit.shared.errors import UnlearnkitError


def test_pad_prompter_matches_the_paper_parameter_count():
    p = PadPrompter(224, 30, 3)
    assert sum(t.numel() for t in p.parameters()) == 69_840


def test_pad_prompt_is_zero_inside_and_learned_on_the_border():
    p = PadPrompter(32, 4, 1, generator=torch.Generator().manual_seed(0), init_std=1.0)
    prompt = p.prompt()
    assert prompt.shape == (1, 1, 32, 32)
    assert torch.all(prompt[..., 4:28, 4:28] == 0)
    assert torch.all(prompt[..., :4, :] != 0) and torch.all(prompt[..., :, -4:] != 0)
    x = torch.zeros(2, 1, 32, 32)
    assert torch.equal(p(x), prompt.expand(2, -1, -1, -1))


def test_prompt_size_is_scaled_from_224():
    assert scaled_prompt_size(30, 224) == 30
    assert scaled_prompt_size(30, 32) == 4
    assert scaled_prompt_size(1, 32) == 1


def test_fixed_patch_sits_top_left():
    p = FixedPatchPrompter(32, 5, 1, init_std=1.0, generator=torch.Generator().manual_seed(0))
    out = p(torch.zeros(1, 1, 32, 32))
    assert torch.all(out[..., :5, :5] != 0) and out[..., 5:, :].abs().sum() == 0 and out[..., :, 5:].abs().sum() == 0


def test_random_patch_uses_its_own_generator_and_is_centred_in_eval():
    def positions(seed):
        p = RandomPatchPrompter(32, 4, 1, init_std=1.0, generator=torch.Generator().manual_seed(0))
        p.location_generator = torch.Generator().manual_seed(seed)
        torch.manual_seed(123)  # the global RNG must not matter
        return [p(torch.zeros(1, 1, 32, 32)).nonzero()[0].tolist() for _ in range(5)]

    assert positions(1) == positions(1)
    assert positions(1) != positions(2)
    p = RandomPatchPrompter(32, 4, 1, init_std=1.0).eval()
    assert p(torch.zeros(1, 1, 32, 32)).nonzero()[0].tolist()[2:] == [14, 14]


def test_build_prompter_by_name_and_unknown_name():
    assert isinstance(build_prompter("pad", 32, 4, 1), PadPrompter)
    with pytest.raises(UnlearnkitError, match="unknown prompter"):
        build_prompter("nope", 32, 4, 1)
    with pytest.raises(ValueError):
        PadPrompter(32, 16, 1)
