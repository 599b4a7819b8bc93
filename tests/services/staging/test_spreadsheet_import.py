"""Uploads: the spooled copy of a file whose web process was killed mid-request does not stay on disk."""

import os
import signal
import subprocess
import sys

from app.services.staging.spreadsheet_import import remove_abandoned_uploads


def test_upload_copies_left_by_dead_web_processes_are_removed_and_a_live_processs_copy_stays(tmp_path):
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                              text=True, check=True)
    killed = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    killed.send_signal(signal.SIGKILL)
    os.waitid(os.P_PID, killed.pid, os.WEXITED | os.WNOWAIT)  # a zombie: killed, not yet reaped
    try:
        gone = [tmp_path / f"enlist-upload-{finished.stdout.strip()}-k3j2.csv",
                tmp_path / f"enlist-upload-{killed.pid}-x7q1.xlsx"]
        in_use = tmp_path / f"enlist-upload-{os.getpid()}-a9b8.csv"
        unrelated = tmp_path / "users.csv"
        for path in (*gone, in_use, unrelated):
            path.write_text("First name,Last name\nPat,Smith\n")

        assert remove_abandoned_uploads(str(tmp_path)) == 2
        assert not any(path.exists() for path in gone) and in_use.exists() and unrelated.exists()
    finally:
        killed.wait()
