"""The `orchestra` command line: start, watch and inspect workflows of a deployment (orchestra.cli)."""
