"""Write functions of the campaigns app, one module per concept.

- ``stages``: the stage state machine (``transition_stage`` and its named wrappers) and
  the scheduled opening and closing of stages.
- ``rules``: changing a stage's rules.
- ``results``: storing previewed results and deciding ties at the cut line.
- ``advancement``: freezing results, advancing qualifiers, promoting reserves.
- ``contestants``: enrolment and withdrawal.
- ``campaign_template``: the three-stage Satisfied-100 campaign.
- ``locks``: finding and locking stage rows in the one lock order.

Every service is atomic and writes its audit event in the same transaction as its
change. Locks are always taken stage first, in ascending stage order, then contestant and
result rows, so two services never wait on each other in opposite orders. The stage's
status changes only in ``stages.transition_stage``. Callers import from the submodule
that owns a function; this package exports nothing.
"""
