"""The systemd units in deploy/ restart forever, never give up, and stop only for bad config."""

from __future__ import annotations

import configparser
import shlex
from pathlib import Path

import pytest

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
UNITS = {
    "raffles-web.service": "gunicorn",
    "raffles-delivery.service": "deliver_outbox",
    "raffles-worker.service": "run_worker",
    "raffles-periodic.service": "run_periodic",
}


def parse(path: Path) -> configparser.ConfigParser:
    # systemd's format is close enough to INI; CI has no systemd to run `systemd-analyze verify`.
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # keys are case-sensitive in systemd
    parser.read_string(path.read_text())
    return parser


def test_deploy_holds_exactly_the_web_worker_and_periodic_units():
    assert sorted(p.name for p in DEPLOY.glob("*.service")) == sorted(UNITS)


@pytest.mark.parametrize(("name", "program"), UNITS.items())
def test_each_unit_restarts_forever_and_stops_only_on_ex_config(name, program):
    unit = parse(DEPLOY / name)

    service = unit["Service"]
    assert service["Restart"] == "always"
    assert 1 <= float(service["RestartSec"]) <= 30
    assert unit["Unit"]["StartLimitIntervalSec"] == "0"  # the default limit gives up for good
    assert service["RestartPreventExitStatus"].split() == ["78"]
    assert program in [Path(arg).name for arg in shlex.split(service["ExecStart"])[:3]]
    assert unit["Install"]["WantedBy"] == "multi-user.target"


def test_the_worker_unit_runs_the_worker_that_waits_for_the_database():
    argv = shlex.split(parse(DEPLOY / "raffles-worker.service")["Service"]["ExecStart"])

    assert "db_worker" not in argv  # the library's worker exits on every database error
