"""The worker process entry point: python worker.py (or `enlist worker`)."""

from app.jobs.runner import run

if __name__ == "__main__":
    run()
