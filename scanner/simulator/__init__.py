"""The simulated AWS Organization: moto plus DevOps Guru, scenarios, fault injection.

``serve`` runs it over HTTP on 127.0.0.1 (reach it with ``AWS_ENDPOINT_URL``,
as ``sim.environment()`` says); ``mock_organization`` runs it in process.
Importing this package does not import moto.
"""
from scanner.simulator.faults import Faults, edit_json_answer
from scanner.simulator.scenario import Scenario, default_scenario, load_scenario, scenario_from_dict
from scanner.simulator.server import Simulation, mock_organization, serve
from scanner.simulator.synthetic import synthetic_scenario

__all__ = [
    "Faults",
    "Scenario",
    "Simulation",
    "default_scenario",
    "edit_json_answer",
    "load_scenario",
    "mock_organization",
    "scenario_from_dict",
    "serve",
    "synthetic_scenario",
]
