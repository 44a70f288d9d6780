"""Pure parsers over bytes and text: bbolt, WAL, x509, manifests, log lines. No I/O of their own."""
