"""Where the cluster model comes from: blackstart.toml, etcdctl flags, discovery on a master."""
