"""Images imported before source_name was named under the import's root held the server's full path
(its folders are the server's business, not a researcher's): keep the file's base name."""

from django.db import migrations


def base_names(apps, schema_editor):
    Image = apps.get_model("game", "Image")
    changed = []
    for image in Image.objects.filter(source_name__startswith="/").only("pk", "source_name").iterator():
        image.source_name = image.source_name.rstrip("/").rsplit("/", 1)[-1]
        changed.append(image)
    Image.objects.bulk_update(changed, ["source_name"], batch_size=1000)


class Migration(migrations.Migration):
    dependencies = [("game", "0008_image_playability")]

    operations = [migrations.RunPython(base_names, migrations.RunPython.noop)]
