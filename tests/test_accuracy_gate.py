"""The accuracy gate: every recipe, trained with its defaults on 2,000 MNIST images (shorter
or smaller where benchmarks/accuracy_gate.py says why), stays at or above the floor
recorded by ``benchmarks/accuracy_gate.py --record`` (an accuracy bound, never a time bound)."""

import json
import sys
from pathlib import Path

import pytest

from mnistlab import models

ROOT = Path(__file__).parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from accuracy_gate import FLOORS, gate_accuracy  # noqa: E402

RECORDED = json.loads(FLOORS.read_text())["recipes"]


def test_every_recipe_of_the_registry_has_a_floor():
    """A recipe added without a recorded floor would pass the gate unmeasured."""
    assert sorted(RECORDED) == sorted(models.available())


def test_each_floor_sits_the_margin_below_its_recorded_accuracy():
    margin = json.loads(FLOORS.read_text())["margin"]
    for name, row in RECORDED.items():
        assert row["floor"] == pytest.approx(row["accuracy"] - margin, abs=1e-4), name


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(RECORDED))
def test_the_recipe_stays_at_or_above_its_floor(name, real_data):
    accuracy = gate_accuracy(name, real_data("mnist", "train"), real_data("mnist", "test"))  # loaded once
    assert accuracy >= RECORDED[name]["floor"], (
        f"{name}: {accuracy:.4f} on the gate's sample, below its floor {RECORDED[name]['floor']:.4f} "
        f"(recorded {RECORDED[name]['accuracy']:.4f}; benchmarks/accuracy_gate.py re-measures)"
    )
