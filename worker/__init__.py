"""Processing: the pipeline driver, Celery app and tasks, and the folder watcher."""
