"""python manage.py register_partner --weights FILE [--arch resnet50 --class-index FILE]."""

from django.core.management.base import BaseCommand, CommandError

from game.partner import PartnerLoadError
from game.partner_registry import partner_register


class Command(BaseCommand):
    help = (
        "Register a partner network: an exported ClickMe artifact (--arch exported, the default) or a "
        "torchvision classifier's state dict (--arch resnet50 ...) whose outputs --class-index maps to wnids."
    )

    def add_arguments(self, parser):
        parser.add_argument("--weights", required=True, help="the artifact or state-dict file")
        parser.add_argument("--arch", default="exported", help='"exported" or a torchvision model name')
        parser.add_argument("--name", help="partner name (default: the file name)")
        parser.add_argument("--class-index", help="imagenet_class_index.json or a text file of wnids, in output order")
        parser.add_argument("--input-size", type=int, default=224)
        parser.add_argument("--activate", action="store_true", help="make it the game's partner now")

    def handle(self, *args, weights, arch, name, class_index, input_size, activate, **options):
        try:
            partner = partner_register(
                name=name or weights.rsplit("/", 1)[-1],
                weights_path=weights,
                architecture=arch,
                class_index=class_index,
                input_size=input_size,
                activate=activate,
            )
        except (PartnerLoadError, OSError, ValueError, KeyError) as error:
            raise CommandError(f"not registered: {error}") from error
        mapped = sum(1 for category_id, _ in partner.category_mapping if category_id)
        self.stdout.write(
            f"registered partner {partner.name} (id {partner.pk}, {len(partner.category_mapping)} outputs, "
            f"{mapped} mapped to categories){', active' if partner.is_active else ''}"
        )
