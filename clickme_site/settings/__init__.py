"""Settings split as cookiecutter-django does it: base (environment-driven), test, production."""
