"""The search spaces as data: layer shapes, the skip rule, width and class options."""

from __future__ import annotations

import pytest

from hanna_tui.space import CANDIDATE_NAMES, get_space

FIRST_OF_GROUP = (0, 1, 5, 9, 13, 17, 21)


def test_candidate_order_is_the_tables_column_order() -> None:
    assert CANDIDATE_NAMES == ("k3_e1", "k3_e1_g2", "k3_e3", "k3_e6", "k5_e1", "k5_e1_g2", "k5_e3", "k5_e6", "skip")


@pytest.mark.parametrize("name", ["fbnet-cifar10", "fbnet-imagenet"])
@pytest.mark.parametrize("width", [1.0, 0.25, 0.5])
def test_skip_rule_gives_15_layers_of_9_and_7_of_8(name: str, width: float) -> None:
    space = get_space(name, width)
    counts = [len(layer.allowed) for layer in space.layers]
    assert len(counts) == 22
    assert counts.count(9) == 15 and counts.count(8) == 7
    assert tuple(i for i, c in enumerate(counts) if c == 8) == FIRST_OF_GROUP
    for i in FIRST_OF_GROUP:
        assert CANDIDATE_NAMES.index("skip") not in space.layers[i].allowed


def test_cifar_layout_matches_the_reference() -> None:
    space = get_space("fbnet-cifar10")
    assert space.input_size == 32 and space.stem_stride == 1 and space.stem_channels == 16
    shapes = [(s.c_in, s.c_out, s.stride, s.input_hw, s.output_hw) for s in space.layers]
    assert shapes[0] == (16, 16, 1, 32, 32)
    assert shapes[1] == (16, 24, 2, 32, 16)
    assert shapes[4] == (24, 24, 1, 16, 16)
    assert shapes[5] == (24, 32, 2, 16, 8)
    assert shapes[9] == (32, 64, 1, 8, 8)
    assert shapes[21] == (184, 352, 1, 8, 8)
    assert space.head_channels == 1984 and space.num_classes == 10


def test_imagenet_strides_follow_fig5() -> None:
    space = get_space("fbnet-imagenet")
    firsts = [space.stem_stride] + [space.layers[i].stride for i in FIRST_OF_GROUP]
    assert firsts == [2, 1, 2, 2, 2, 1, 2, 1]
    assert space.layers[-1].output_hw == 7 and space.num_classes == 1000


def test_width_and_classes_are_options() -> None:
    space = get_space("fbnet-cifar10", 0.25, 100)
    assert space.num_classes == 100
    assert all(s.c_in % 8 == 0 and s.c_out % 8 == 0 for s in space.layers)
    assert space.layers[-1].c_out < 352


@pytest.mark.parametrize("args", [("nope", 1.0, None), ("fbnet-cifar10", 0.0, None), ("fbnet-cifar10", 1.0, 1)])
def test_bad_space_arguments_raise(args) -> None:
    with pytest.raises(ValueError):
        get_space(*args)


def test_mask_marks_padded_cells() -> None:
    mask = get_space("fbnet-cifar10").mask()
    assert sum(sum(row) for row in mask) == 15 * 9 + 7 * 8
    assert mask[0][8] is False and mask[2][8] is True
