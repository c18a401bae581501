"""The static files storage of deployments: whitenoise's hashed, compressed files, with the game's
ES modules importing each other by their hashed names (so the pages need no import map)."""

from whitenoise.storage import CompressedManifestStaticFilesStorage


class ModuleManifestStaticFilesStorage(CompressedManifestStaticFilesStorage):
    # Django rewrites `import ... from "./api.js";` to `./api.<hash>.js` (Django 4.2+).
    support_js_module_import_aggregation = True
