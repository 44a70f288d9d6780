"""Read-only probes: async I/O against nodes and members, one module per probe."""
