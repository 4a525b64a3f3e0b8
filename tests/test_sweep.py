"""Sweeps over paths of an environment document."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import calmech
from calmech.cli import main
from calmech.cli.sweep import HAS_SCHEDULER
from calmech.errors import InputError
from calmech.files import environment_from_dict, environment_to_document
from calmech.sweep import (
    apply_setting,
    parse_path,
    parse_setting,
    parse_values,
    plot_sweep,
    sweep,
)

#: Tolerance on values from LP solutions.
ATOL = 1e-6


@pytest.fixture(scope="module")
def monopoly_doc():
    return environment_to_document(calmech.examples.monopoly())


def test_values_and_paths():
    assert parse_values("1:2:3") == (1.0, 1.5, 2.0)
    assert parse_values("4") == (4.0,)
    for bad in ("a,b", "0:1:0", "0:1:2:3", "nan"):
        with pytest.raises(InputError, match="VALUES"):
            parse_values(bad)
    assert parse_path("agent_payoff[1][0][1]") == ["agent_payoff", 1, 0, 1]
    with pytest.raises(InputError, match="PATH: must look like"):
        parse_path("[0]")
    with pytest.raises(InputError, match="--set: must be PATH=VALUES"):
        parse_setting("prior[0][0]")


def test_apply_setting_rules(monopoly_doc):
    doc = apply_setting(monopoly_doc, "prior[1][1]", 0.9)
    assert doc["normalize"] is True and doc["prior"][1][1] == 0.9
    assert "normalize" not in monopoly_doc  # the input is not changed
    assert apply_setting(monopoly_doc, "transfer_weight", 2.0)["transfer_weight"] == 2
    with pytest.raises(InputError, match="index out of range"):
        apply_setting(monopoly_doc, "prior[2][0]", 0.1)
    with pytest.raises(InputError, match="must lead to a number"):
        apply_setting(monopoly_doc, "prior[0]", 0.1)
    with pytest.raises(InputError, match="must lead to a number"):
        apply_setting(monopoly_doc, "name", 1.0)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.floats(0.01, 1.0), min_size=4, max_size=4),
    st.floats(0.0, 1.0),
)
def test_correlation_keeps_marginals(entries, c):
    prior = np.array(entries).reshape(2, 2)
    prior /= prior.sum()
    doc = apply_setting({"prior": prior.tolist()}, "correlation", c)
    out = np.array(doc["prior"])
    assert np.allclose(out.sum(axis=0), prior.sum(axis=0))
    assert np.allclose(out.sum(axis=1), prior.sum(axis=1))
    if c == 1.0:
        assert np.allclose(out, prior)
    # Between independence and the prior: entries stay nonnegative.
    assert out.min() >= -1e-12


def test_one_parameter_matches_direct_solves():
    doc = environment_to_document(calmech.examples.quality())
    setting = parse_setting("agent_payoff[1][1][0]=2,4")
    result = sweep(doc, [setting])
    assert [r["agent_payoff[1][1][0]"] for r in result.rows] == [2.0, 4.0]
    for row, value in zip(result.rows, setting.values, strict=True):
        env = environment_from_dict(apply_setting(doc, setting.path, value))
        direct = calmech.solve(env).values
        for key, expected in direct.items():
            assert row[key] == pytest.approx(expected, abs=ATOL)
    # At the file's value 4 the quality example of THEORY §8 B: gain 0.25.
    assert result.rows[1]["gain"] == pytest.approx(0.25, abs=ATOL)


def test_invalid_points_are_recorded_not_raised(monopoly_doc):
    result = sweep(monopoly_doc, [parse_setting("prior[0][0]=-0.1,0.4")])
    bad, good = result.rows
    assert bad["status"] == "error" and bad["calibrated"] is None
    assert "prior: entries must be nonnegative" in bad["message"]
    assert good["standard"] == pytest.approx(1.5, abs=ATOL)
    rows = list(csv.DictReader(io.StringIO(result.to_csv())))
    assert rows[0]["calibrated"] == "" and float(rows[1]["calibrated"]) > 0


def test_two_parameters_in_parallel_equal_serial(monopoly_doc):
    settings_ = [
        parse_setting("correlation=0,1"),
        parse_setting("agent_payoff[1][1][0]=2,3"),
    ]
    serial = sweep(monopoly_doc, settings_, workers=1)
    parallel = sweep(monopoly_doc, settings_, workers=2)
    assert serial.rows == parallel.rows
    assert serial.grid("standard").shape == (2, 2)
    # Independence (c = 0) leaves nothing to extract beyond one price.
    assert serial.grid("standard")[0, 0] == pytest.approx(1.0, abs=ATOL)
    fig = plot_sweep(serial)
    assert len(fig.axes) == 3  # lines, heatmap, colour bar
    assert fig.axes[1].get_ylabel() == "agent_payoff[1][1][0]"
    legend = fig.axes[0].get_legend()
    assert legend.get_title().get_text() == "agent_payoff[1][1][0]"


def test_one_parameter_plot(monopoly_doc):
    result = sweep(monopoly_doc, [parse_setting("correlation=0:1:3")])
    ax = plot_sweep(result).axes[0]
    assert ax.get_xlabel() == "correlation"
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["standard", "calibrated", "full transparency", "no disclosure"]
    ys = ax.get_lines()[1].get_ydata()
    assert np.allclose(ys, result.grid("calibrated"))


def test_formula_attribute(tmp_path):
    path = tmp_path / "m.toml"
    path.write_text(
        'states = ["L", "H"]\n'
        'types = [{name = "low", value = 1}, {name = "high", value = 2}]\n'
        'allocations = [{name = "no sale", sale = 0}, {name = "sale", sale = 1}]\n'
        "prior = [[0.4, 0.1], [0.1, 0.4]]\n"
        'agent_payoff = "sale * value"\n'
    )
    out = tmp_path / "out"
    code = main(
        [
            "sweep",
            str(path),
            "--set",
            "types[1].value=2,3",
            "--out",
            str(out),
            "--workers",
            "1",
        ]
    )
    assert code == 0
    doc = json.loads((out / "sweep.json").read_text())
    # value 2 is THEORY §8 A: standard 1.5, calibrated 1.3.
    first = doc["rows"][0]
    assert first["standard"] == pytest.approx(1.5, abs=ATOL)
    assert first["calibrated"] == pytest.approx(1.3, abs=ATOL)
    assert doc["rows"][1]["calibrated"] > first["calibrated"]
    assert (out / "sweep.csv").read_text().startswith("types[1].value,standard")
    again = ["sweep", str(path), "--set", "types[1].value=2", "--out", str(out)]
    assert main(again) == 2
    assert main([*again, "--force", "--workers", "1"]) == 0


def test_cli_errors_and_scheduler_option(capsys):
    assert main(["sweep", "monopoly", "--set", "prior[9][0]=0.1"]) == 2
    assert "index out of range" in capsys.readouterr().err
    args = ["sweep", "monopoly", "--set", "correlation=1", "--workers", "1", "--json"]
    # --scheduler exists exactly when parallel_map accepts a scheduler.
    assert main(["sweep", "--help"]) == 0
    assert ("--scheduler" in capsys.readouterr().out) == HAS_SCHEDULER
    if not HAS_SCHEDULER:
        assert main([*args, "--scheduler", "tcp://127.0.0.1:1"]) == 2
        assert "unrecognized arguments: --scheduler" in capsys.readouterr().err
    assert main(args) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["rows"][0]["calibrated"] == pytest.approx(1.3, abs=ATOL)


def test_correlation_needs_a_prior_array():
    # Known limitation: a prior given as a formula cannot be re-correlated.
    doc = {"prior": "0.25"}
    with pytest.raises(InputError, match="correlation: needs the prior as an array"):
        apply_setting(doc, "correlation", 0.5)
