"""The HR admin's campaigns: campaigns, stages and their rules, contestants, results, ties.

Nothing here changes a status or a result directly. Stage moves, rule changes after a
stage has opened, enrolment, withdrawals, promotions and tie decisions go through
``campaigns.services`` from the intermediate pages of this package (each shows
what will happen and asks for a reason); results and tie resolutions are read-only.

One module per model admin or page family (``campaign``, ``stage``, ``contestant``, ``results``,
``moves``, ``enrolment``) and ``base`` for what they share. Importing the package registers
the model admins; nothing is re-exported.
"""

from campaigns.admin import campaign, contestant, results, stage  # noqa: F401 -- registers the ModelAdmins
