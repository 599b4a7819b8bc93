"""Send to cloud: users become AD accounts through one idempotent RQ job per user.

sends       what a request does: claim users, store encrypted passwords, enqueue task ids
execute     what a job does: claim its task, do the directory work, record each step
finish      outcomes: the task, the user's status and reason, the send's end, the welcome email
reconcile   re-enqueue what Redis lost or a dead worker left behind
progress    counts that add up, each user's step; results and passwords files
"""

from app.services.provisioning.execute import run_task
from app.services.provisioning.progress import activity, get_send, progress, recent_sends, summary
from app.services.provisioning.reconcile import reconcile
from app.services.provisioning.sends import (
    SendResult,
    change_groups,
    link_existing,
    remove_from_cloud,
    reset_password,
    send_to_cloud,
    update_in_cloud,
)
from app.services.provisioning.verify import verify_connection
from app.services.provisioning.welcome import send_welcome

__all__ = ["SendResult", "activity", "change_groups", "get_send", "link_existing", "progress", "recent_sends",
           "reconcile", "remove_from_cloud", "reset_password", "run_task", "send_to_cloud", "send_welcome",
           "summary", "update_in_cloud", "verify_connection"]
