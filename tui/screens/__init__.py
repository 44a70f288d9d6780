"""Modal screens: confirmation, help, plan progress."""
