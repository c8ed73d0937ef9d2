"""`python -m schemagate`: see schemagate.cli."""

from schemagate.cli import main

raise SystemExit(main())
