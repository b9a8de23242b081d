"""zongheng: compile one access policy into device configs and prove it with z3."""

__version__ = "0.1.0"
