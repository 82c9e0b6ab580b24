from django.urls import path

from dialer_site.dashboard import script_views, try_bot, views

urlpatterns = [
    path("", views.campaign_list, name="campaign-list"),
    path("new/", views.campaign_create, name="campaign-create"),
    path("<int:campaign_id>/", views.campaign_detail, name="campaign-detail"),
    path("<int:campaign_id>/edit/", views.campaign_edit, name="campaign-edit"),
    path("<int:campaign_id>/script/", script_views.campaign_script, name="campaign-script"),
    path("<int:campaign_id>/script.json", script_views.campaign_script_json, name="campaign-script-json"),
    path("<int:campaign_id>/caller-ids/<int:number_id>/reinstate/", views.caller_number_reinstate,
         name="caller-number-reinstate"),
    path("<int:campaign_id>/board.json", views.campaign_board, name="campaign-board"),
    path("<int:campaign_id>/start/", views.campaign_start, name="campaign-start"),
    path("<int:campaign_id>/pause/", views.campaign_pause, name="campaign-pause"),
    path("<int:campaign_id>/resume/", views.campaign_resume, name="campaign-resume"),
    path("<int:campaign_id>/cancel/", views.campaign_cancel, name="campaign-cancel"),
    path("<int:campaign_id>/test-call/", try_bot.call_me, name="campaign-test-call"),
    path("<int:campaign_id>/talk/", try_bot.talk, name="campaign-talk"),
]
