"""Training: the loss falls on one image, resume is exact, masking follows the schedule."""

import copy

import pytest
import torch
from safetensors.torch import load_file

from styledrop.adapters.io import load_adapter_file
from styledrop.errors import StyleDropError
from styledrop.training.checkpoint import checkpoint_path, load_checkpoint
from styledrop.training.loop import TrainConfig, train_adapter
from styledrop.training.masking import mask_tokens, masked_token_loss


def style_image(base):
    size = base.resolution
    image = torch.zeros(1, 3, size, size)
    image[:, 0, : size // 2] = 1.0  # red top half
    image[:, 2, size // 2 :] = 0.8  # blue bottom half
    return image


def test_masking_hides_a_scheduled_fraction_and_only_masks():
    ids = torch.randint(0, 10, (2000, 64), generator=torch.Generator().manual_seed(0))
    inputs, masked = mask_tokens(ids, 99, torch.Generator().manual_seed(1))
    assert torch.equal(inputs[~masked], ids[~masked]) and (inputs[masked] == 99).all()
    assert (masked.sum(1) >= 1).all()
    # E[cos(pi/2 u)] = 2/pi for u ~ U(0, 1)
    assert abs(masked.float().mean().item() - 2 / torch.pi) < 0.02


def test_the_loss_on_masked_features_equals_the_loss_on_every_logit(tiny_base):
    transformer = copy.deepcopy(tiny_base.transformer).requires_grad_(True)  # the fixture's is frozen
    h, w = tiny_base.grid
    generator = torch.Generator().manual_seed(0)
    target = torch.randint(tiny_base.mask_id, (3, h * w), generator=generator)
    inputs, masked = mask_tokens(target, tiny_base.mask_id, generator)
    assert masked.sum() % (h * w)  # so the loss pads its rows: the padding must change nothing
    text = tiny_base.text_encoder.encode(["A cow", "", "A dog in [V] style"])
    micro = tiny_base.micro_conds(3)
    args = (inputs, masked, target, (h, w), text.states, text.pooled, micro)
    with torch.random.fork_rng():  # the transformer in train mode may draw dropout masks: the same for both
        head = transformer.mlm_layer.conv2
        gathered = masked_token_loss(transformer, *args)
        gathered.backward()
        gathered_grad = head.weight.grad.clone()
        head.weight.grad = None
    assert transformer.mlm_layer.conv2 is head  # put back
    logits = transformer(inputs.view(-1, h, w), encoder_hidden_states=text.states, pooled_text_emb=text.pooled,
                         micro_conds=micro).flatten(2).transpose(1, 2)
    full = torch.nn.functional.cross_entropy(logits[masked], target[masked])
    full.backward()
    assert torch.allclose(gathered, full, atol=1e-5)
    assert torch.allclose(gathered_grad, head.weight.grad, atol=1e-6)


def test_fifty_steps_drive_the_loss_well_below_its_start(tiny_base, tmp_path):
    config = TrainConfig(steps=50, lr=3e-2, batch_size=8, checkpoint_every=25, seed=0)
    result = train_adapter(tiny_base, style_image(tiny_base), ["A square in [V] style"], config,
                           tmp_path / "a.safetensors", style_descriptor="[V]", show_progress=False)
    first, last = sum(result.losses[:5]) / 5, sum(result.losses[-5:]) / 5
    assert len(result.losses) == 50
    assert last < 0.5 * first, (first, last)
    saved = load_adapter_file(tmp_path / "a.safetensors")
    assert saved.training["steps"] == 50 and saved.style_descriptor == "[V]"
    assert saved.base_hash == tiny_base.transformer_hash()
    assert result.trainable_parameters < 0.2 * result.base_parameters


@pytest.mark.parametrize("kind", ["styledrop", "lora", "adain"])
def test_adapter_kinds_learn_and_leave_the_base_untouched(tiny_base, tmp_path, kind):
    from styledrop.base import hash_state_dict

    config = TrainConfig(steps=30, lr=3e-2, batch_size=8, checkpoint_every=30, seed=0, adapter_kind=kind)
    result = train_adapter(tiny_base, style_image(tiny_base), ["A square in [V] style"], config,
                           tmp_path / "a.safetensors", show_progress=False)
    assert sum(result.losses[-5:]) < sum(result.losses[:5])
    assert hash_state_dict(tiny_base.transformer.state_dict()) == tiny_base.transformer_hash()


def test_full_fine_tune_learns_more_than_an_adapter_and_gives_the_base_back(tiny_base, tmp_path):
    from styledrop.base import hash_state_dict

    losses = {}
    for kind in ("styledrop", "full"):
        config = TrainConfig(steps=30, lr=1e-2, batch_size=8, checkpoint_every=30, seed=0, adapter_kind=kind)
        result = train_adapter(tiny_base, style_image(tiny_base), ["A square in [V] style"], config,
                               tmp_path / f"{kind}.safetensors", show_progress=False)
        losses[kind] = sum(result.losses[-5:]) / 5
        assert hash_state_dict(tiny_base.transformer.state_dict()) == tiny_base.transformer_hash()
    assert result.trainable_parameters == result.base_parameters  # every weight of the transformer
    assert losses["full"] < losses["styledrop"], losses
    assert not any(p.requires_grad for p in tiny_base.transformer.parameters())


@pytest.mark.parametrize("kind", ["styledrop", "lora", "adain", "full"])
def test_resume_is_exact(tiny_base_dir, tmp_path, kind, monkeypatch):
    from styledrop.base import load_base
    from styledrop.training import loop

    image = style_image(load_base(tiny_base_dir))
    captions = ["A square in [V] style"]
    full = TrainConfig(steps=12, lr=1e-2, checkpoint_every=4, adapter_kind=kind, rank=2, seed=3)
    straight = train_adapter(load_base(tiny_base_dir), image, captions, full, tmp_path / "straight.safetensors",
                             show_progress=False)
    assert not checkpoint_path(tmp_path / "straight.safetensors").exists()  # a finished run removes its own
    # stop after 8 steps with the checkpoint kept, as a crash at step 8-11 would leave it, then resume to 12
    # in a fresh process state
    train_adapter(load_base(tiny_base_dir), image, captions, TrainConfig(**{**full.__dict__, "steps": 8}),
                  tmp_path / "resumed.safetensors", show_progress=False, keep_checkpoint=True)
    resumed_from, real_resume_point = [], loop.resume_point

    def resume_point(*args):
        resumed_from.append(real_resume_point(*args))
        return resumed_from[-1]

    monkeypatch.setattr(loop, "resume_point", resume_point)
    other_cadence = TrainConfig(**{**full.__dict__, "checkpoint_every": 5})  # a machine setting: may change
    resumed = train_adapter(load_base(tiny_base_dir), image, captions, other_cadence, tmp_path / "resumed.safetensors",
                            resume=True, show_progress=False)
    assert [ckpt.step for ckpt in resumed_from] == [8]  # it continued; it did not start over
    assert resumed.losses == straight.losses
    a, b = load_file(str(tmp_path / "straight.safetensors")), load_file(str(tmp_path / "resumed.safetensors"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert not checkpoint_path(tmp_path / "resumed.safetensors").exists()


def test_resume_refuses_changed_settings(tiny_base_dir, tmp_path):
    from styledrop.base import load_base

    base = load_base(tiny_base_dir)
    train_adapter(base, style_image(base), ["x"], TrainConfig(steps=2, checkpoint_every=1), tmp_path / "a.safetensors",
                  show_progress=False, keep_checkpoint=True)
    with pytest.raises(StyleDropError, match="lr"):
        train_adapter(load_base(tiny_base_dir), style_image(base), ["x"], TrainConfig(steps=4, lr=1.0),
                      tmp_path / "a.safetensors", resume=True, show_progress=False)


@pytest.mark.slow
def test_kill_9_mid_run_then_resume_ends_equal_to_an_uninterrupted_run(tiny_base_dir, tmp_path):
    """`styledrop train` in a subprocess, SIGKILLed mid-run (maybe mid-write), then `--resume`d."""
    import signal
    import subprocess
    import sys
    import time

    from PIL import Image

    steps, image = 150, tmp_path / "w.png"
    Image.new("RGB", (24, 20), (200, 30, 30)).save(image)

    def train(out, *flags) -> subprocess.Popen:
        with open(tmp_path / f"{out.stem}{''.join(flags)}.log", "w") as log:  # the child keeps its own copy
            return subprocess.Popen(
                [sys.executable, "-m", "styledrop", "train", "--base", str(tiny_base_dir), "--image", str(image),
                 "--caption", "A watermelon in [V] style", "--out", str(out), "--steps", str(steps),
                 "--checkpoint-every", "3", "--batch-size", "2", "--lr", "0.01", "--seed", "7", *flags],
                stdout=log, stderr=subprocess.STDOUT)

    def finish(process: subprocess.Popen) -> int:
        return process.wait(timeout=240)

    straight, killed = tmp_path / "straight.safetensors", tmp_path / "killed.safetensors"
    uninterrupted, victim = train(straight), train(killed)  # side by side: each waits on imports mostly
    target, deadline = int(torch.randint(6, 60, ())), time.monotonic() + 240
    while not (checkpoint_path(killed).exists() and load_checkpoint(checkpoint_path(killed)).step >= target):
        assert victim.poll() is None and time.monotonic() < deadline, (tmp_path / "killed.log").read_text()
        time.sleep(0.005)
    time.sleep(0.03 * torch.rand(()).item())  # a moment in the run, checkpoint writes included
    victim.send_signal(signal.SIGKILL)
    assert finish(victim) == -signal.SIGKILL and not killed.exists()  # it died mid-run
    assert target <= load_checkpoint(checkpoint_path(killed)).step < steps

    resumed = train(killed, "--resume")
    assert finish(uninterrupted) == 0, (tmp_path / "straight.log").read_text()
    assert finish(resumed) == 0, (tmp_path / "killed--resume.log").read_text()
    a, b = load_file(str(straight)), load_file(str(killed))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert not checkpoint_path(killed).exists() and not checkpoint_path(straight).exists()  # both finished
    assert not list(tmp_path.glob(".*.tmp"))  # a write the kill cut short left nothing behind


def test_round_two_runs_unchanged_on_an_adain_round_one(tiny_base, tmp_path):
    """The pool is drawn with the round-1 AdaIN adapter (two-scale guidance, the reference it recorded);
    the picks train an AdaIN round 2."""
    from styledrop.adapters.io import load_adapter_file
    from styledrop.feedback.manifest import read_manifest, set_pick
    from styledrop.feedback.pool import make_pool
    from styledrop.feedback.rounds import RoundConfig, train_round
    from styledrop.pipeline import SampleConfig

    round1 = tmp_path / "r1.safetensors"
    train_adapter(tiny_base, style_image(tiny_base), ["A square in [V] style"],
                  TrainConfig(steps=3, lr=1e-2, adapter_kind="adain"), round1, style_descriptor="[V]",
                  show_progress=False)
    pool = tmp_path / "pool"
    images = make_pool(tiny_base, round1, None, ["A cow in [V] style", "A car in [V] style"], 2,
                       SampleConfig(steps=3, style_scale=1.0, content_scale=2.0), pool, show_progress=False)
    for image in images[::2]:
        set_pick(pool, image.id, True, "human")
    result = train_round(tiny_base, pool, "human", tmp_path / "r2.safetensors",
                         RoundConfig(steps=2, lr=1e-2, adapter_kind="adain"), show_progress=False)
    round2 = load_adapter_file(tmp_path / "r2.safetensors")
    assert round2.config.kind == "adain" and round2.lineage["round"] == 2
    assert round2.lineage["parent_hash"] == load_adapter_file(round1).content_hash()
    assert round2.captions[:2] == [i.prompt for i in read_manifest(pool)[::2]] and len(result.losses) == 2
