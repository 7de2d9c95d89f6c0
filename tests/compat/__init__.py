"""Real pymesos programs, ported by changing their imports, run against a LocalCluster."""
