"""Inbound SMS webhook routes, included under ``/api/`` by ``campaigns.api.urls``
(the paths are a contract with the gateways)."""

from django.urls import path

from campaigns.messaging import api

urlpatterns = [
    path("sms/inbound/", api.InboundSmsView.as_view(), name="sms-inbound"),
    path("sms/inbound/twilio/", api.TwilioInboundSmsView.as_view(), name="sms-inbound-twilio"),
    # The callback token in an X-Callback-Token header (kept out of access logs) ...
    path(
        "sms/inbound/aliyun/", api.AliyunInboundSmsView.as_view(), name="sms-inbound-aliyun-header"
    ),
    # ... or in the URL, where Aliyun's console can only put it.
    path(
        "sms/inbound/aliyun/<str:token>/",
        api.AliyunInboundSmsView.as_view(),
        name="sms-inbound-aliyun",
    ),
]
