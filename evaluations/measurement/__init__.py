"""Service measurement: transactions reported by business systems, post-service ratings,
call-centre KPIs, store inspections, monthly rollups, rankings and store grades.

One room per concept, each a module of this package (``transactions``, ``kpi``,
``inspections``, ``rollups``, ``grades`` …); the models live in
``evaluations.models.measurement``. Nothing here imports ``voting``.
"""
