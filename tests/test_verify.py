"""Exact verification of saved results: ``verify_result`` and ``calmech verify``.

A result straight from ``calmech solve --json`` verifies; a result edited by
hand (a probability nudged, a transfer changed, a posterior moved so that
Bayes plausibility fails) is rejected with the failing constraint named.
"""

from __future__ import annotations

import copy
import json
from fractions import Fraction

import pytest

from calmech.cli import main
from calmech.cli.common import plain
from calmech.errors import InputError, MechanismError
from calmech.examples import assignment, monopoly, quality
from calmech.mechanisms import solve
from calmech.verify import Check, verify_result

EXAMPLES = {"monopoly": monopoly, "quality": quality, "assignment": assignment}

# An edit this large is far beyond any rounding tolerance at 9 digits.
NUDGE = 0.01


@pytest.fixture(scope="module")
def documents() -> dict[str, dict]:
    return {name: plain(solve(make()).to_dict()) for name, make in EXAMPLES.items()}


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_solver_output_verifies(documents, name):
    report = verify_result(EXAMPLES[name](), documents[name])
    assert report.verified, report.verdict
    families = {(c.mechanism, c.family) for c in report.checks}
    for family in ("IC", "IR", "distribution", "value"):
        assert ("calibrated", family) in families
        assert ("standard", family) in families
    assert ("calibrated", "Bayes plausibility") in families


def _edit_and_verify(tmp_path, capsys, name, document, edit):
    doc = copy.deepcopy(document)
    edit(doc)
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(doc))
    code = main(["verify", name, str(path)])
    captured = capsys.readouterr()
    # Rich wraps long lines; compare words, not line breaks.
    return code, " ".join(captured.out.split()), captured.err


def test_nudged_probability_is_rejected(tmp_path, capsys, documents):
    def edit(doc):
        x = doc["calibrated"]["signals"][0]["allocation"]
        x[0][0] += NUDGE

    code, out, err = _edit_and_verify(
        tmp_path, capsys, "quality", documents["quality"], edit
    )
    assert code == 2
    assert err.count("\n") == 1
    assert "signal 1" in out and "probabilities for report 'low' sum to 1" in out
    assert "fails" in out


def test_changed_transfer_is_rejected(tmp_path, capsys, documents):
    def edit(doc):
        doc["standard"]["transfers"][1][1] += 0.3

    code, out, err = _edit_and_verify(
        tmp_path, capsys, "monopoly", documents["monopoly"], edit
    )
    assert code == 2
    # Raising the high type's payment in state H breaks its participation
    # and the claimed value; both are named.
    assert "IR for type 'high'" in out
    assert "standard: " in err and "fails by" in err


def test_moved_posterior_breaks_bayes_plausibility(tmp_path, capsys, documents):
    def edit(doc):
        # Keep the posterior a distribution so that only the mean is wrong.
        mu = doc["calibrated"]["signals"][1]["posterior"]
        mu[0] += NUDGE
        mu[1] -= NUDGE

    code, out, _ = _edit_and_verify(
        tmp_path, capsys, "quality", documents["quality"], edit
    )
    assert code == 2
    assert "mean posterior of 'good' equals the prior" in out
    report = verify_result(
        quality(), json.loads((tmp_path / "edited.json").read_text())
    )
    bayes = [c for c in report.failures if c.family == "Bayes plausibility"]
    assert {c.constraint for c in bayes} >= {
        "mean posterior of 'good' equals the prior",
        "mean posterior of 'bad' equals the prior",
    }


def test_incentive_failure_is_named_with_amount(documents):
    doc = copy.deepcopy(documents["quality"])
    signal = doc["calibrated"]["signals"][0]
    signal["transfers"] = [
        t + 0.5 if n == 0 else t for n, t in enumerate(signal["transfers"])
    ]
    report = verify_result(quality(), doc)
    described = [c.describe() for c in report.failures]
    assert "signal 1: IC for type 'low' vs 'high' fails by 0.5" in described
    assert "signal 1: IR for type 'low' fails by 0.5" in described


def test_statuses_exact_within_and_fails():
    tol = Fraction(1, 10**8)
    assert Check("calibrated", "s", "IC", "c", Fraction(0), tol).status == "exact"
    assert Check("calibrated", "s", "IC", "c", -tol, tol).status == "within tolerance"
    assert Check("calibrated", "s", "IC", "c", -2 * tol, tol).status == "fails"


def test_fewer_digits_widen_the_tolerance(documents):
    fine = verify_result(quality(), documents["quality"], digits=12)
    coarse = verify_result(quality(), documents["quality"], digits=4)
    assert coarse.verified
    tolerances = {(c.where, c.constraint): c.tolerance for c in fine.checks}
    # 8 fewer digits: tolerances grow by 10^8, up to the change rounding
    # makes in the largest transfer that some of them include.
    for check in coarse.checks:
        fine_tol = tolerances[(check.where, check.constraint)]
        assert check.tolerance >= fine_tol * Fraction(99, 100) * 10**8


@pytest.mark.parametrize(
    "edit, field",
    [
        (lambda d: d.pop("calibrated") and d.pop("standard"), "result"),
        (lambda d: d["calibrated"]["signals"][0].pop("posterior"), "posterior"),
        (
            lambda d: d["calibrated"]["signals"][0].update(probability="x"),
            "probability",
        ),
        (lambda d: d["standard"].update(allocation=[[1, 0]]), "standard.allocation"),
        (lambda d: d["environment"].update(types=["a", "b"]), "environment.types"),
        (lambda d: d["standard"].update(value=float("nan")), "standard.value"),
    ],
)
def test_malformed_documents_name_the_field(documents, edit, field):
    doc = copy.deepcopy(documents["quality"])
    edit(doc)
    with pytest.raises(MechanismError, match=field.replace(".", r"\.")):
        verify_result(quality(), doc)


@pytest.mark.parametrize("digits", [0, 16, True, 2.5])
def test_digits_are_validated(documents, digits):
    with pytest.raises(InputError, match="digits"):
        verify_result(quality(), documents["quality"], digits=digits)


def test_cli_rejects_bad_digits_in_one_line(tmp_path, capsys, documents):
    path = tmp_path / "r.json"
    path.write_text(json.dumps(documents["quality"]))
    assert main(["verify", "quality", str(path), "--digits", "40"]) == 2
    assert capsys.readouterr().err.strip().count("\n") <= 1


def test_cli_json_verdict(tmp_path, capsys, documents):
    path = tmp_path / "r.json"
    path.write_text(json.dumps(documents["assignment"]))
    assert main(["verify", "assignment", str(path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["verified"] is True and out["digits"] == 9
    assert {row["family"] for row in out["families"]} >= {"IC", "IR", "value"}


def test_infeasible_claims_are_noted_not_checked(documents):
    doc = copy.deepcopy(documents["monopoly"])
    doc["calibrated"] = {"status": "infeasible", "signals": [], "value": None}
    report = verify_result(monopoly(), doc)
    assert report.verified
    assert any("not checked" in note for note in report.notes)
