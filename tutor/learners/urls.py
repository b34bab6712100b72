from django.urls import path

from tutor.learners import views

urlpatterns = [
    path("learn/progress/<int:curriculum_id>/", views.learner_progress, name="learner_progress"),
    path("learn/progress/<int:curriculum_id>/graph.json", views.learner_progress_graph, name="learner_progress_graph"),
]
