"""Source analysis with station data (查源头): pure functions of the brief
``../shared/reference/nonroad_and_source.md`` Part B.

- :mod:`.directional`: type-7 percentiles, openair sectors, the pollution rose, CPF, CBPF and the
  binned steps of the bivariate polar plot;
- :mod:`.receptor`: PSCF and CWT on trajectory cells with their weight tables, and the PMF
  receptor model's Q, expected Q, uncertainty and signal-to-noise.
"""
