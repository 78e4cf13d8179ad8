"""Pure implementations of official environmental standards (no I/O).

``ecobasin.standards.air``: HJ 633 AQI, GB 3095 limits and validity, HJ 663 assessment.
"""
