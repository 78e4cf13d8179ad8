"""Rivers: hydraulics, pollutant transport and the river network for sudden incidents.

Pure functions (numbers and graphs in, numbers and frames out) behind the joint response to
sudden water-pollution incidents on cross-boundary rivers (``../shared/reference/incidents.md``):

- :mod:`.hydraulics`: velocity from discharge (Q/A, rating curve, Manning, hydraulic geometry)
  and the longitudinal dispersion coefficient from several published formulas (a band);
- :mod:`.transport`: the 1-D advection–dispersion solutions with first-order decay for
  instantaneous, continuous and finite releases, peaks and threshold windows, confluence mixing;
- :mod:`.network`: the river network as a directed graph and the plume along it;
- :mod:`.grading`: the incident grade and the reporting deadlines from versioned rule data.

Units follow the brief (§2): x, L [m]; t [s]; u [m/s]; D [m²/s]; k [1/s]; A [m²]; Q [m³/s];
M [g]; W [g/s]; so C is in [g/m³] = [mg/L]. Public functions carry their units in their names.
"""
