"""Your own workflows: definitions as code, and the task functions they run.

    workflows/<name>.yaml        one named definition per file (workflows/definitions.py)
    lambdas/tasks/<dir>/task.toml  one task function packaged from this repository (workflows/tasks.py)
    [external_tasks.<id>]        an existing Lambda function by ARN (environments/<env>.toml)

workflows/catalog.py puts them together for one environment: the task functions the stack creates
and the worker may invoke, and the catalog the engine reads (bundled into its code package).
Everything is validated at synthesis; an error names the file, the line and the reason.
"""

from __future__ import annotations

import sys
from pathlib import Path

# The engine's validator is the one definitions are checked with; its package lives where Lambda
# runs it from (lambdas/engine).
LAMBDAS = Path(__file__).resolve().parents[1] / "lambdas"
if str(LAMBDAS) not in sys.path:
    sys.path.append(str(LAMBDAS))
