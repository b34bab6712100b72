"""Tutorgraph: the Django project and the product's apps.

Importing the Celery app here makes ``@shared_task`` bind to it in every
process (web, worker, shell).
"""

from tutor.celery import app as celery_app

__all__ = ["celery_app"]
