"""`python -m schemagate`: see schemagate.cli."""

import connection.dependency_check  # noqa: F401  # isort: skip  (first: one line outside the venv)

from schemagate.cli import main

raise SystemExit(main())
