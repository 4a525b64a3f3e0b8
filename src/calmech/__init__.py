"""calmech: calibrated mechanism design.

A designer who knows the state runs one mechanism again and again with an
agent who learns from its own allocations and payments. calmech computes
the best mechanism that stays incentive compatible once the agent has
learned what it reveals (a disclosure followed by a state-independent
mechanism), beside the textbook benchmarks, and checks any mechanism for
calibration.

Examples
--------
>>> import calmech
>>> sol = calmech.solve(calmech.examples.quality())
>>> round(sol.calibrated.value, 9)
1.25
"""

from calmech import examples
from calmech.calibration import CalibrationReport, Violation, check_calibration
from calmech.envelope import EnvelopeResult, concavify
from calmech.environment import Environment
from calmech.errors import (
    CalmechError,
    FormatError,
    FormulaError,
    InputError,
    LabelError,
    MechanismError,
    ProbabilityError,
    ShapeError,
    SolverError,
)
from calmech.mechanisms import (
    Benchmark,
    CalibratedMechanism,
    Signal,
    Solution,
    StandardMechanism,
    calibrated_optimum,
    full_transparency,
    no_disclosure,
    solve,
    standard_optimum,
)
from calmech.simulation import LongRunAnalysis, SimulationResult, long_run, simulate
from calmech.value import ValueFunction, ValuePoint, value_function

__all__ = [
    "Benchmark",
    "CalibratedMechanism",
    "CalibrationReport",
    "CalmechError",
    "Environment",
    "EnvelopeResult",
    "FormatError",
    "FormulaError",
    "InputError",
    "LabelError",
    "LongRunAnalysis",
    "MechanismError",
    "ProbabilityError",
    "ShapeError",
    "Signal",
    "SimulationResult",
    "Solution",
    "SolverError",
    "StandardMechanism",
    "ValueFunction",
    "ValuePoint",
    "Violation",
    "calibrated_optimum",
    "check_calibration",
    "concavify",
    "examples",
    "full_transparency",
    "long_run",
    "no_disclosure",
    "simulate",
    "solve",
    "standard_optimum",
    "value_function",
]
__version__ = "0.1.0"
