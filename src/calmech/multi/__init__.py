"""Several agents: calibrated auctions and ad platforms (THEORY §9).

Each agent learns its own interim rule in the state that holds, hence a
partition of Ω of its own. The two-stage characterisation is proved for one
agent only, so this package computes, beside the standard optimum, the best
mechanisms of two well-defined families (public disclosure then a
state-independent Bayesian IC mechanism; interim rules measurable for a
profile of partitions, IC and IR cell by cell) and checks any mechanism for
calibration.

Examples
--------
>>> from calmech.multi import examples, solve_multi
>>> sol = solve_multi(examples.ad_platform())
>>> sol.standard.value >= sol.public.value - 1e-9
True
"""

from calmech.multi import examples
from calmech.multi.calibration import (
    MultiCalibrationReport,
    MultiViolation,
    check_multi_calibration,
)
from calmech.multi.environment import (
    MultiEnvironment,
    one_object_outcomes,
    slot_outcomes,
)
from calmech.multi.files import (
    is_multi_document,
    load_multi_environment,
    multi_from_dict,
)
from calmech.multi.mechanisms import (
    MultiMechanism,
    MultiSolution,
    MultiValuePoint,
    PartitionSearch,
    PublicDisclosure,
    PublicSignal,
    best_partition_profile,
    multi_standard_optimum,
    multi_value,
    partition_optimum,
    public_disclosure,
    set_partitions,
    solve_multi,
)

__all__ = [
    "MultiCalibrationReport",
    "MultiEnvironment",
    "MultiMechanism",
    "MultiSolution",
    "MultiValuePoint",
    "MultiViolation",
    "PartitionSearch",
    "PublicDisclosure",
    "PublicSignal",
    "best_partition_profile",
    "check_multi_calibration",
    "examples",
    "is_multi_document",
    "load_multi_environment",
    "multi_from_dict",
    "multi_standard_optimum",
    "multi_value",
    "one_object_outcomes",
    "partition_optimum",
    "public_disclosure",
    "set_partitions",
    "slot_outcomes",
    "solve_multi",
]
