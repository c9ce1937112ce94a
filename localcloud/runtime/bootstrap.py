"""Lambda's Python bootstrap, locally: the search path Lambda's runtime sets, then awslambdaric.

    python -S bootstrap.py '<overlay folders as JSON>' <task root> <runtime folder> <handler>

Run with -S, so nothing from this machine's site-packages is importable: the function sees its own
folder first, then the standard library, then what the runtime provides (awslambdaric, boto3),
like /var/task, /var/lang/lib and /var/runtime on Lambda. Overlay folders (packages rebuilt for
this interpreter, see runtimes.py) come before the task folder.
"""

import json
import os
import sys


def main() -> None:
    overlay, task_root, runtime_dir, handler = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
    standard_library = sys.path[1:]  # [0] is this script's folder
    sys.path[:] = [*overlay, task_root, *standard_library, runtime_dir]
    os.chdir(task_root)
    from awslambdaric.__main__ import main as awslambdaric_main  # type: ignore[import-untyped]

    awslambdaric_main([sys.argv[0], handler])


if __name__ == "__main__":
    main()
