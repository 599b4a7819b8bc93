"""RQ entry points: take ids, load state, call a service, record the outcome."""
