"""Non-road mobile machinery (非道路移动机械, issue 18): the pure core of the shared registry.

Registration codes (:mod:`.codes`), emission stages (:mod:`.stages`), GB 36886-2018 smoke
limits and verdicts (:mod:`.smoke`), no-use zones (:mod:`.zones`) and the rule engine of checks
C1–C11 (:mod:`.rules`). Thresholds come from ``catalog/data/machinery`` (:mod:`.tables`). No I/O
besides reading those bundled tables; the store and the services live in the shell.
"""
