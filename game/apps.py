from django.apps import AppConfig


class GameConfig(AppConfig):
    name = "game"
    verbose_name = "ClickMe game"

    def ready(self):
        from clickme_site.readiness import readiness_register

        from .partner_play import partner_readiness, partner_warm

        readiness_register(name="partner", warm=partner_warm, probe=partner_readiness)
