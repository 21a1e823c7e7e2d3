"""``python -m host_app``: the same as the ``host-app`` command."""

from __future__ import annotations

import sys

from host_app.cli import main

sys.exit(main())
