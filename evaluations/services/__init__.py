"""Write functions of the live contest, one module per concern (import them by module):
``setup`` (judges, panels, rubrics, conflicts), ``scores`` (submitting and reopening),
``live`` (the host's on stage / close / reveal) and ``links`` (sign-in links)."""
