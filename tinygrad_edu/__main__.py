"""``python -m tinygrad_edu``: the ``tinygrad-edu`` command (see :mod:`tinygrad_edu.cli`)."""

from .cli import main

raise SystemExit(main())
