"""Argument errors say where, which argument, what is allowed and what was received."""

import pytest

from mmkeras import argument_checks as checks


@pytest.mark.parametrize(
    "call, message",
    [
        (
            lambda: checks.check_positive_int("units", 0, "image_cnn"),
            "image_cnn: `units` must be a positive integer; received units=0.",
        ),
        (
            lambda: checks.check_positive_int("units", True),
            "`units` must be a positive integer; received units=True.",
        ),
        (
            lambda: checks.check_int("max_length", 1, minimum=2),
            "`max_length` must be an integer >= 2; received max_length=1.",
        ),
        (
            lambda: checks.check_positive_ints("filters", (), "image_cnn"),
            "image_cnn: `filters` must be a non-empty tuple of positive integers; received "
            "filters=().",
        ),
        (
            lambda: checks.check_positive_number("duration", 0, "AudioSpec", allow_none=True),
            "AudioSpec: `duration` must be a positive number or None; received duration=0.",
        ),
        (
            lambda: checks.check_rate("dropout", 1.0),
            "`dropout` must be a float in [0, 1); received dropout=1.0.",
        ),
        (
            lambda: checks.check_fraction("noise", 2, "AudioAugment"),
            "AudioAugment: `noise` must be a number in [0, 1.0]; received noise=2.",
        ),
        (
            lambda: checks.check_choice("cell", "rnn", ("lstm", "gru"), "text_rnn"),
            "text_rnn: unknown cell='rnn'; `cell` must be one of ['lstm', 'gru'].",
        ),
        (
            lambda: checks.check_choice("flip", "x", {"vertical", "horizontal"}),
            "unknown flip='x'; `flip` must be one of ['horizontal', 'vertical'].",
        ),
    ],
)
def test_one_wording(call, message):
    with pytest.raises(ValueError) as info:
        call()
    assert str(info.value) == message


def test_checks_return_the_value():
    assert checks.check_positive_int("n", 3) == 3
    assert checks.check_positive_int("n", None, allow_none=True) is None
    assert checks.check_positive_ints("filters", 8) == (8,)
    assert checks.check_positive_ints("filters", [], allow_empty=True) == ()
    assert checks.check_rate("rate", 1, allow_one=True) == 1
    assert checks.check_fraction("noise", 0) == 0.0 and isinstance(
        checks.check_fraction("noise", 0), float
    )
    assert checks.check_choice("cell", "gru", ("lstm", "gru")) == "gru"
