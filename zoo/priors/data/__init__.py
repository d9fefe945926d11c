"""Package data of zoo.priors: the shipped non-parametric prior (``python -m zoo.priors.solver --write``)."""
