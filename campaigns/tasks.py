"""Celery tasks for campaigns: thin, take primitive ids, delegate to the services. (The
dialer's tasks are the calls app's: calls.tasks.)"""

from celery import shared_task

from campaigns.imports import service as imports


# --- Contact import -------------------------------------------------------------------
# acks_late + reject_on_worker_lost (settings) put the message back when a worker is
# killed mid-file; run_import then resumes after the last committed batch. The service
# records any error on the import itself, so there is nothing to retry here.
@shared_task(ignore_result=True)
def run_contact_import(contact_import_id: int) -> None:
    imports.run_import(contact_import_id)
