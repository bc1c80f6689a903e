"""The benchmark's verdict on lost setups (benchmarks/report.py): any setup that never completed,
in any scenario that sets up sessions, is counted in the summary and fails its target."""

from __future__ import annotations

from typing import Any

from benchmarks import report


def results(top: int | None, cross: int | None) -> dict[str, Any]:
    scenarios: dict[str, Any] = {}
    if top is not None:
        scenarios["top_of_hour"] = {"completed": True, "lost_setups": top}
    if cross is not None:
        scenarios["cross_node_top_of_hour"] = {"completed": True, "lost_setups": cross}
    out: dict[str, Any] = {"scenarios": scenarios}
    out["summary"] = report.summary(out)
    return out


def lost_target(r: dict[str, Any]) -> dict[str, Any]:
    return next(t for t in report.targets(r) if t["key"] == "lost_setups")


def test_one_lost_setup_in_one_scenario_fails_the_run() -> None:
    r = results(0, 1)
    assert report.lost_setups(r) == 1
    s = r["summary"]
    assert (s["lost_setups"], s["top_of_hour_lost_setups"]) == (1, 0)
    assert s["cross_node_top_of_hour_lost_setups"] == 1
    assert lost_target(r)["met"] is False and lost_target(r)["gap"] == "1 lost"


def test_no_lost_setup_meets_the_target() -> None:
    r = results(0, 0)
    assert report.lost_setups(r) == 0 and lost_target(r)["met"] is True


def test_no_setup_scenario_run_is_not_a_verdict() -> None:
    r = results(None, None)
    assert report.lost_setups(r) is None and lost_target(r)["met"] is None
