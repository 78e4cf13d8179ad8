"""Surface water wired into the platform: sections, imports, the demo, report tables.

* :mod:`ecobasin.water.importing`: section lists, tidy CSV and CNEMC water files, with the water
  checks before the common validation (the demo sections: :func:`ecobasin.demo.water.install`);
* :mod:`ecobasin.water.tables`: the tables ``ecobasin water …`` prints and the API serves,
  built from the stored results (so both give the same numbers).

The engine is :mod:`ecobasin.standards.water`; the stored results are kept up to date by
:mod:`ecobasin.jobs.water_quality`.
"""
