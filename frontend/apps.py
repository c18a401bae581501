from django.apps import AppConfig


class FrontendConfig(AppConfig):
    name = "frontend"
    verbose_name = "Frontend"

    def ready(self) -> None:
        from django.contrib import admin

        # The admin's index links to the staff dashboard (in its header and as a module).
        admin.site.index_template = "admin/clickme_index.html"
