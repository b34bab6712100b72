from django.urls import path

from tutor.srl import views

urlpatterns = [
    path("learn/srl/", views.srl_home, name="srl_home"),
    path("learn/srl/start/<int:curriculum_id>/", views.study_start, name="srl_start"),
    path("learn/srl/sessions/<int:study_id>/", views.study_page, name="srl_study"),
    path("learn/srl/sessions/<int:study_id>/finish/", views.study_finish, name="srl_finish"),
    path("learn/srl/sessions/<int:study_id>/reflect/", views.reflection_post, name="srl_reflect"),
    path("learn/srl/sessions/<int:study_id>/checkin/", views.checkin_post, name="srl_checkin"),
    path("learn/srl/leaderboard/<int:class_id>/", views.leaderboard_opt, name="srl_leaderboard_opt"),
    path("learn/srl/panel/<int:session_id>.json", views.panel_json, name="srl_panel"),
    path("teach/classes/<int:class_id>/srl/", views.class_srl, name="srl_class"),
]
