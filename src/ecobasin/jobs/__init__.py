"""Background jobs: the shell that keeps derived products in the store up to date.

A job reads through :mod:`ecobasin.store`, computes with the pure engines
(:mod:`ecobasin.standards`, ...) and writes the results back through the store. Jobs run after
imports (CLI) and, in ``ecobasin serve``, on schedule or when data arrive.
"""

from ecobasin.jobs.air_quality import refresh_air_quality

__all__ = ["refresh_air_quality"]
