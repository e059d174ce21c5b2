"""What the operators look at: health probes, process heartbeats, run figures, metrics.

Every figure is read from durable data (the database and the broker) at the time it is
asked for, so each web process, and each restart, gives the same answer.
"""
