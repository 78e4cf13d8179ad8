"""The generated demo region (tooling, not part of the platform): seeded, deterministic, synthetic.

* :mod:`.region`: the air stations of a region and their hourly year (pure);
* :mod:`.water`: the water sections (``data/water_sections.csv``) and their year; ``install``;
* :mod:`.carbon`: illustrative city inventories and sinks; ``install``;
* :mod:`.ledger`: a month of the carbon-inclusive ledger (generated residents' events); ``install``;
* :mod:`.forecast`: the small demo forecast model and its forecast; ``install``.

``ecobasin demo`` (``cli/run.py``) calls them; docs/demo-data.md says how the data are made.
"""
