"""The main screen's panels: each renders one slice of the `Report`, nothing else."""
