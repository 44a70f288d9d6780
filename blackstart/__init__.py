"""blackstart: the command line that ties checks, runbook, tui and lab together."""
