"""orgscan: organization-wide AWS compliance scanner (the plugin host).

Plugin authors need one name from here: ``hookimpl``.
"""
import pluggy

__version__ = "0.1.0"

hookimpl = pluggy.HookimplMarker("orgscan")

__all__ = ["hookimpl", "__version__"]
