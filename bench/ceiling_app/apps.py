from django.apps import AppConfig


class CeilingAppConfig(AppConfig):
    name = "bench.ceiling_app"
    label = "ceiling_app"
    default_auto_field = "django.db.models.BigAutoField"
