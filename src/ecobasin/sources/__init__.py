"""Source analysis with station data (查源头): pure functions of the brief
``../shared/reference/nonroad_and_source.md`` Part B.

- :mod:`.directional`: type-7 percentiles, openair sectors, the pollution rose, CPF, CBPF and the
  binned steps of the bivariate polar plot;
- :mod:`.wind`: the station's wind (own, nearest site, imported) and the calm share;
- :mod:`.polar`: the binned polar plot, its thin-plate-spline surface and the percentile rose;
- :mod:`.plots`: the PNGs with n per sector or bin and the B8 guardrail;
- :mod:`.trajectories`: HYSPLIT tdump endpoints on a grid for PSCF and CWT;
- :mod:`.receptor`: PSCF and CWT on trajectory cells with their weight tables, and the PMF
  receptor model's Q, expected Q, uncertainty and signal-to-noise.
"""
