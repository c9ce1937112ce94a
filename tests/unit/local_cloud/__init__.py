"""The local cloud's unit tests. A package, so that its conftest is `local_cloud.conftest` and never
shadows tests/unit's own `conftest` module, which the engine's tests import from."""
