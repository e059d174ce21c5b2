"""What the jobs do: plain functions the job wrappers in `jobs/` call, testable alone."""
