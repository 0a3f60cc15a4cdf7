from django.urls import path

from campaigns.views import HomeView

app_name = "campaigns"

urlpatterns = [
    path("", HomeView.as_view(), name="home"),
]
