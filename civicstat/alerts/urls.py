from __future__ import annotations

from django.urls import path

from civicstat.alerts import feeds, views
from civicstat.web import cached_by_data_version

urlpatterns = [
    path("alerts", views.alerts, name="alerts"),
    path("alerts/follow/<int:case_id>", views.follow, name="alerts-follow"),
    path("alerts/confirm/<str:token>", views.confirm, name="alerts-confirm"),
    path("alerts/unsubscribe/<str:token>", views.unsubscribe, name="alerts-unsubscribe"),
    path("alerts/manage/<str:token>", views.manage, name="alerts-manage"),
    path("alerts/feed", cached_by_data_version(feeds.WatchFeed()), name="alerts-feed"),
    path("alerts/feed.rss", cached_by_data_version(feeds.RssWatchFeed()), name="alerts-feed-rss"),
]
