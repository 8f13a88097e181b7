"""Amazon DevOps Guru for moto, which has none: the eight operations orgscan's checks and demo use.

The package is laid out like a moto service (``models``, ``responses``, ``urls``)
because moto finds a backend's URL table next to its models module. It is made
importable as ``moto.devopsguru`` by :mod:`scanner.simulator.registration`.
"""
from scanner.simulator.devopsguru.models import DevOpsGuruBackend, devopsguru_backends

__all__ = ["DevOpsGuruBackend", "devopsguru_backends"]
