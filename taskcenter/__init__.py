"""taskcenter: the one place to define, run, watch and repair background work."""
