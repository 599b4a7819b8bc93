"""merge the discovery, send-to-cloud and integrations branches

The three features were built side by side, each on 0001; their tables do not overlap, so the merge
has nothing to do but join the branches into one head (``flask db upgrade`` then needs no ``heads``).

Revision ID: 0005
Revises: 0002, 0003, 0004
"""

revision = "0005"
down_revision = ("0002", "0003", "0004")
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
