"""${message}

Revision ${up_revision}, after ${down_revision | comma,n}. Never edit it once released
(CONTRIBUTING.md, "Change the schema"): write its DDL from explicit columns, not
from tables.py, and a downgrade that undoes it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
${imports if imports else ""}

revision = ${repr(up_revision)}
down_revision = ${repr(down_revision)}
branch_labels = ${repr(branch_labels)}
depends_on = ${repr(depends_on)}


def upgrade() -> None:
    ${upgrades if upgrades else "pass"}


def downgrade() -> None:
    ${downgrades if downgrades else "pass"}
