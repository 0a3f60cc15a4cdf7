"""Inbound SMS webhook routes, included under ``/api/`` by ``campaigns.api.urls``
(the paths are a contract with the gateways)."""

from django.urls import path

from campaigns.messaging import api

urlpatterns = [
    path("sms/inbound/", api.InboundSmsView.as_view(), name="sms-inbound"),
    path("sms/inbound/twilio/", api.TwilioInboundSmsView.as_view(), name="sms-inbound-twilio"),
    path(
        "sms/inbound/aliyun/<str:token>/",
        api.AliyunInboundSmsView.as_view(),
        name="sms-inbound-aliyun",
    ),
]
