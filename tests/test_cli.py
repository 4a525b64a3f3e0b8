"""The command line: ``solve``, ``check``, ``demo``, ``examples`` and errors.

Commands run in-process through :func:`calmech.cli.main` (output captured
with ``capsys``), and ``python -m calmech demo`` once in a subprocess.
Every error must be one line on standard error, exit code 2, no traceback.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import calmech
from calmech.cli import main
from calmech.examples import monopoly

EXAMPLES_DIR = Path(__file__).resolve().parents[1] / "examples"
MONOPOLY_FILE = EXAMPLES_DIR / "monopoly.json"
QUALITY_FILE = EXAMPLES_DIR / "quality.toml"
#: Values printed with 10 significant digits; rational answers are exact.
EXACT = 1e-9


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def solve_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict:
    code, out, err = run(capsys, "solve", *argv, "--json")
    assert code == 0, err
    return json.loads(out)


def assert_plain_floats(value, shape: tuple[int, ...]) -> None:
    """Nested lists of plain floats with the given shape."""
    assert np.shape(value) == shape
    for item in np.ravel(np.array(value, dtype=object)):
        assert type(item) is float


# ----------------------------------------------------------------------
# solve
# ----------------------------------------------------------------------
def test_solve_table_shows_the_four_values(capsys) -> None:
    code, out, err = run(capsys, "solve", str(MONOPOLY_FILE))
    assert code == 0 and err == ""
    for label, value in [
        ("standard", "1.5"),
        ("calibrated", "1.3"),
        ("full transparency", "1.3"),
        ("no disclosure", "1"),
    ]:
        line = next(row for row in out.splitlines() if label in row)
        assert f" {value} " in line, line
    assert "not calibrated" in out


def test_solve_json_contract(capsys) -> None:
    doc = solve_json(capsys, str(QUALITY_FILE))
    env = calmech.examples.quality()
    M, N, K = env.shape
    assert doc["environment"] == {
        "name": "quality",
        "states": ["good", "bad"],
        "types": ["low", "high"],
        "allocations": ["no sale", "sale"],
    }
    assert set(doc["values"]) == {
        "standard",
        "calibrated",
        "full_transparency",
        "no_disclosure",
    }
    for key, expected in [
        ("standard", 1.25),
        ("calibrated", 1.25),
        ("full_transparency", 1.0),
        ("no_disclosure", 1.0),
    ]:
        assert type(doc["values"][key]) is float
        assert doc["values"][key] == pytest.approx(expected, abs=EXACT)
    cal = doc["calibrated"]
    assert cal["value"] == doc["values"]["calibrated"]
    assert cal["upper_bound"] >= cal["value"]
    assert len(cal["signals"]) == 2
    for sig in cal["signals"]:
        assert {"probability", "posterior", "value", "allocation", "transfers"} <= set(
            sig
        )
        assert type(sig["probability"]) is float and type(sig["value"]) is float
        assert_plain_floats(sig["posterior"], (K,))
        assert_plain_floats(sig["allocation"], (M, N))
        assert_plain_floats(sig["transfers"], (N,))
    std = doc["standard"]
    assert std["value"] == pytest.approx(1.25, abs=EXACT)
    assert_plain_floats(std["allocation"], (M, N, K))
    assert_plain_floats(std["transfers"], (N, K))
    assert type(std["calibrated"]) is bool
    assert doc["private_values"] is False


def test_solve_json_is_deterministic_and_accepts_example_names(capsys) -> None:
    first = run(capsys, "solve", "monopoly", "--json")[1]
    second = run(capsys, "solve", str(MONOPOLY_FILE), "--json")[1]
    assert first == second
    doc = json.loads(first)
    assert doc["private_values"] is True
    assert doc["standard"]["calibrated"] is False


def test_solve_method_envelope(capsys) -> None:
    doc = solve_json(capsys, "monopoly", "--method", "envelope")
    assert doc["values"]["calibrated"] == pytest.approx(1.3, abs=EXACT)


# ----------------------------------------------------------------------
# check
# ----------------------------------------------------------------------
def test_check_a_calibrated_mechanism(capsys, tmp_path: Path) -> None:
    mechanism = tmp_path / "pool.json"
    mechanism.write_text(
        json.dumps(
            {
                "allocation": [[[0, 0], [0, 0]], [[1, 1], [1, 1]]],
                "transfers": [[1, 1], [1, 1]],
            }
        )
    )
    code, out, err = run(capsys, "check", str(MONOPOLY_FILE), str(mechanism))
    assert code == 0 and err == ""
    assert "{L, H}" in out
    assert "Verdict: calibrated" in out


def test_check_json_names_the_violations(capsys, tmp_path: Path) -> None:
    # The full-surplus mechanism of test_calibration: low pays 0.5 in L and
    # 3 in H, high pays 2; sold always.
    mechanism = tmp_path / "cm.toml"
    mechanism.write_text(
        "allocation = [[[0, 0], [0, 0]], [[1, 1], [1, 1]]]\n"
        "transfers = [[0.5, 3.0], [2.0, 2.0]]\n"
    )
    code, out, err = run(capsys, "check", "monopoly", str(mechanism), "--json")
    assert code == 0 and err == ""
    doc = json.loads(out)
    assert doc["calibrated"] is False
    assert doc["interim_incentive_compatible"] is True
    assert doc["partition"] == [["L"], ["H"]]
    got = [(v["kind"], v["cell"], v["type"], v["amount"]) for v in doc["violations"]]
    assert got == [
        ("IR", ["H"], "low", pytest.approx(2.0)),
        ("IC", ["L"], "high", pytest.approx(1.5)),
        ("IC", ["H"], "low", pytest.approx(1.0)),
    ]


def test_check_reads_solve_output(capsys, tmp_path: Path) -> None:
    result = tmp_path / "result.json"
    result.write_text(run(capsys, "solve", "monopoly", "--json")[1])
    code, out, err = run(capsys, "check", str(MONOPOLY_FILE), str(result), "--json")
    assert code == 0 and err == ""
    doc = json.loads(out)
    assert doc["calibrated"] is False
    assert doc["partition"] == [["L"], ["H"]]
    expected = calmech.standard_optimum(monopoly()).calibration
    assert doc["calibrated"] == expected.calibrated


# ----------------------------------------------------------------------
# demo and examples
# ----------------------------------------------------------------------
def test_demo_in_a_subprocess() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "calmech", "demo"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    for name in ("monopoly", "quality", "assignment"):
        assert name in done.stdout
    assert "1.25" in done.stdout and "1.8" in done.stdout
    assert "Traceback" not in done.stderr


def test_examples_lists_every_example(capsys) -> None:
    code, out, _ = run(capsys, "examples")
    assert code == 0
    names = [line.split()[0] for line in out.splitlines() if line.strip()]
    from calmech.multi.examples import MULTI_EXAMPLES

    assert names == list(calmech.examples.EXAMPLES) + list(MULTI_EXAMPLES)


def test_examples_refuses_to_write_a_several_agent_example(capsys, tmp_path) -> None:
    code, _, err = run(
        capsys, "examples", "ad_platform", "--write", str(tmp_path / "a.toml")
    )
    assert code == 2
    assert err.count("\n") == 1 and "calmech solve ad_platform" in err
    assert not (tmp_path / "a.toml").exists()


def test_examples_prints_a_document(capsys) -> None:
    code, out, _ = run(capsys, "examples", "quality")
    assert code == 0
    doc = json.loads(out)
    assert doc["states"] == ["good", "bad"]


@pytest.mark.parametrize("suffix", [".json", ".toml"])
def test_examples_write_round_trip(capsys, tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"assignment{suffix}"
    code, out, err = run(capsys, "examples", "assignment", "--write", str(path))
    assert code == 0 and err == ""
    assert str(path) in out
    doc = solve_json(capsys, str(path))
    assert doc["values"]["calibrated"] == pytest.approx(1.8, abs=EXACT)

    # An existing file is kept unless --force is given.
    before = path.read_bytes()
    code, _, err = run(capsys, "examples", "monopoly", "--write", str(path))
    assert_one_line_error(
        code, "", err, "calmech: error: path: exists; pass --force to overwrite; got"
    )
    assert path.read_bytes() == before
    code, _, err = run(capsys, "examples", "monopoly", "--write", str(path), "--force")
    assert code == 0 and err == ""
    assert solve_json(capsys, str(path))["environment"]["name"] == "monopoly"


# ----------------------------------------------------------------------
# Errors: one line, exit code 2, no traceback
# ----------------------------------------------------------------------
def assert_one_line_error(code: int, out: str, err: str, start: str) -> None:
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and err.endswith("\n"), err
    assert err.startswith(start), err
    assert "Traceback" not in err


def test_missing_file(capsys, tmp_path: Path) -> None:
    missing = tmp_path / "nope.json"
    assert_one_line_error(
        *run(capsys, "solve", str(missing)), "calmech: error: path: cannot be read"
    )


def test_bad_suffix(capsys, tmp_path: Path) -> None:
    path = tmp_path / "env.yaml"
    path.write_text("states: [a]\n")
    assert_one_line_error(
        *run(capsys, "solve", str(path)),
        f"calmech: error: path: must end in .json or .toml; got {str(path)!r}",
    )


def test_invalid_environment(capsys, tmp_path: Path) -> None:
    doc = monopoly().to_dict()
    doc["prior"] = [[0.4, 0.1], [0.1, 0.3]]
    path = tmp_path / "env.json"
    path.write_text(json.dumps(doc))
    assert_one_line_error(
        *run(capsys, "solve", str(path)),
        "calmech: error: prior: entries must sum to 1 over states and types",
    )


@pytest.mark.parametrize(
    ("tol", "got"), [("0", "0"), ("1.5", "1.5"), ("-1e-3", "-0.001")]
)
def test_bad_tol(capsys, tol: str, got: str) -> None:
    assert_one_line_error(
        *run(capsys, "solve", "monopoly", f"--tol={tol}"),
        f"calmech: error: --tol: must be between 0 and 1; got {got}\n",
    )


def test_tol_that_is_not_a_number(capsys) -> None:
    code, out, err = run(capsys, "solve", "monopoly", "--tol", "tiny")
    assert code == 2 and out == ""
    assert "argument --tol: invalid float value: 'tiny'" in err
    assert "Traceback" not in err


def test_bad_time_limit(capsys) -> None:
    assert_one_line_error(
        *run(capsys, "solve", "monopoly", "--time-limit", "0"),
        "calmech: error: --time-limit: must be positive; got 0\n",
    )


def test_check_with_invalid_mechanism(capsys, tmp_path: Path) -> None:
    mechanism = tmp_path / "bad.json"
    mechanism.write_text(json.dumps({"allocation": [[[1, 1], [1, 1]]]}))
    assert_one_line_error(
        *run(capsys, "check", "monopoly", str(mechanism)),
        "calmech: error: allocation: must have shape (allocations, types, states) "
        "= (2, 2, 2); got (1, 2, 2)",
    )


def test_unknown_example(capsys) -> None:
    assert_one_line_error(
        *run(capsys, "examples", "nope"),
        "calmech: error: example: unknown name (known: monopoly, quality, "
        "assignment); got 'nope'",
    )


def test_no_command_prints_help_and_exits_2(capsys) -> None:
    code, out, _ = run(capsys)
    assert code == 2
    assert "calmech solve" in out
