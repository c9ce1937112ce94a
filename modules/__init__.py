"""cdktf constructs, one file per module; no resource is defined outside this package."""
