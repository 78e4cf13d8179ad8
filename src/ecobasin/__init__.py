"""ecobasin: the shared environmental platform of a city region.

A functional core (``ecobasin.standards``, ``forecast``, ``carbon``, ``workflow``) inside an
I/O shell (``ingest``, ``store``, ``web``, ``reports``, ``cli``); see ``docs/architecture.md``.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
