"""A plugin whose hook name is misspelt: the host must reject it, not ignore it."""
from scanner import hookimpl


@hookimpl
def orgscan_register_chekcs(options):
    return []
