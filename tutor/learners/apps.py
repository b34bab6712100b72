from django.apps import AppConfig


class LearnersConfig(AppConfig):
    """Learner models: IRT calibration, ability and concept mastery (issue 5 grows this app)."""

    name = "tutor.learners"
    label = "learners"
