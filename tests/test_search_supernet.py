"""The supernet: masked theta, Gumbel-softmax in both modes, eq. 4 cost, the loss forms."""

from __future__ import annotations

import pytest
import torch
from search_support import PROFILE

from hanna_tui.cost import CostModel
from hanna_tui.knobs import Knobs
from hanna_tui.nas.loss import cost_penalty, search_loss
from hanna_tui.nas.supernet import CostTables, Supernet, temperature_at
from hanna_tui.profiles import load_profile
from hanna_tui.space import get_space
from hanna_tui.space.blocks import ChildNet

SPACE = get_space("fbnet-cifar10", 0.25)


@pytest.fixture(scope="module")
def net() -> Supernet:
    torch.manual_seed(0)
    return Supernet(SPACE)


def test_one_module_per_allowed_candidate(net: Supernet) -> None:
    assert [len(layer.ops) for layer in net.layers] == [len(spec.allowed) for spec in SPACE.layers]
    assert tuple(net.theta.shape) == (22, 9)


def test_padded_cells_get_no_probability_and_no_gradient(net: Supernet) -> None:
    probs = net.probabilities()
    assert float(probs[0, 8].detach()) == 0.0 and float(probs[2, 8].detach()) > 0
    w = net.draw("mixture", 4, 5.0)
    assert float(w.soft[:, [0, 1, 5, 9, 13, 17, 21], 8].detach().abs().max()) == 0.0
    net.zero_grad()
    w.soft.sum(dim=0)[:, 3].sum().backward()
    assert float(net.theta.grad[0, 8]) == 0.0


def test_mixture_noise_is_per_sample_and_sampled_is_one_choice_per_layer(net: Supernet) -> None:
    w = net.draw("mixture", 8, 5.0)
    assert tuple(w.soft.shape) == (8, 22, 9) and not torch.allclose(w.soft[0], w.soft[1])
    s = net.draw("sampled", 8, 5.0)
    assert s.choices is not None and len(s.choices) == 22
    assert all(c in SPACE.layers[i].allowed for i, c in enumerate(s.choices))
    assert s.straight is not None and torch.allclose(s.straight, torch.ones(22))


@pytest.mark.parametrize("mode", ["mixture", "sampled"])
def test_forward_and_theta_gradient(net: Supernet, mode: str) -> None:
    x = torch.randn(4, 3, 16, 16)
    net.zero_grad()
    w = net.draw(mode, 4, 2.0)
    out = net(x, w)
    assert tuple(out.shape) == (4, 10)
    out.square().mean().backward()
    assert net.theta.grad is not None and float(net.theta.grad.abs().sum()) > 0


def test_fixed_path_matches_the_childnet_structure(net: Supernet) -> None:
    choices = net.argmax_choices()
    child = ChildNet(SPACE, choices)
    sub = [type(net.layers[i].ops[net.layers[i].slot[c]]).__name__ for i, c in enumerate(choices)]
    assert sub == [type(m).__name__ for m in child.layers]
    net.eval()
    with torch.no_grad():
        assert tuple(net.forward_fixed(torch.randn(2, 3, 32, 32), choices).shape) == (2, 10)
    net.train()


def test_expected_cost_is_eq4_in_seconds_and_joules() -> None:
    profile = load_profile(PROFILE)
    tables = CostTables(profile.latency_s(), profile.energy_j(), SPACE.mask())
    model = CostModel(profile, SPACE)
    probs = torch.tensor(model.uniform_probs()).unsqueeze(0)
    lat, ener = tables.expected(probs)
    ref = model.initial_cost()
    assert float(lat) == pytest.approx(ref.latency_s, rel=1e-5)
    assert float(ener) == pytest.approx(ref.energy_j, rel=1e-5)
    choices = [0] * 22
    assert tables.of_choices(choices)[0] == pytest.approx(model.arch_cost(choices).latency_s, rel=1e-5)


def test_additive_and_multiplicative_loss() -> None:
    logits, target = torch.zeros(2, 10), torch.tensor([1, 2])
    lat, ener = torch.tensor(4.0), torch.tensor(16.0)
    add = search_loss(logits, target, lat, ener, Knobs(0.5, 0.5, 0.25, 0.5))
    ce = torch.log(torch.tensor(10.0))
    assert float(add.loss) == pytest.approx(float(ce) + 0.5 * 2.0 + 0.25 * 4.0, rel=1e-6)
    mul = search_loss(logits, target, lat, ener, Knobs(0.5, 1.0, 0.0, 1.0, "multiplicative"))
    assert float(mul.loss) == pytest.approx(float(ce) * 0.5 * float(torch.log1p(torch.tensor(4000.0))), rel=1e-6)
    assert float(cost_penalty(lat, ener, Knobs(0, 1, 0, 1))) == 0.0
    assert float(cost_penalty(lat, ener, Knobs(0, 1, 0, 1, "multiplicative"))) == 1.0
    assert float(cost_penalty(lat, ener, Knobs(0, 1, 1.0, 1.0), has_energy=False)) == 0.0


def test_temperature_schedule() -> None:
    assert temperature_at(0, 5.0, 0.956, 10) == 5.0
    assert temperature_at(10, 5.0, 0.956, 10) == 5.0
    assert temperature_at(12, 5.0, 0.956, 10) == pytest.approx(5.0 * 0.956**2)


def test_search_steps_in_channels_last_match_the_default_layout(tmp_path) -> None:
    """The CUDA layout (channels_last) computes the same step as the default one; forced here on CPU."""
    from search_support import tiny_config

    from hanna_tui.config import load_config
    from hanna_tui.nas.run import prepare
    from hanna_tui.nas.search import Search
    from hanna_tui.store import create_run

    losses = []
    for layout in (torch.contiguous_format, torch.channels_last):
        p = prepare(load_config(tiny_config(tmp_path)), tmp_path)
        run = create_run(f"layout-{len(losses)}", "search", tmp_path / "runs")
        search = Search(p.cfg, run, p.profile, p.train, p.val, p.test, p.num_classes)
        search.memory_format = layout
        search.model.to(memory_format=layout)
        images = torch.stack([p.train[i][0] for i in range(4)])
        labels = torch.tensor([p.train[i][1] for i in range(4)])
        assert search.on_device(images).is_contiguous(memory_format=layout)
        losses.append(float(search.train_step(images, labels, search.w_opt, 5.0)[0].loss.detach()))
        run.close_events()
    assert losses[0] == pytest.approx(losses[1], rel=1e-4)
