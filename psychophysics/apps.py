from django.apps import AppConfig


class PsychophysicsConfig(AppConfig):
    name = "psychophysics"
    verbose_name = "Psychophysics: rapid categorisation"
