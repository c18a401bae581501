"""python manage.py register_partner --weights FILE [--arch resnet50 --class-index FILE] | --pretrained NAME."""

from django.core.management.base import BaseCommand, CommandError

from clickme_site.errors import ServiceError
from game.models import Partner
from game.partner import PartnerLoadError
from game.partner_registry import partner_register
from game.partner_validity import VALIDITY_KEY, validity_rows

PRETRAINED = ("efficientnet_lite0",)  # game/pretrained.py


class Command(BaseCommand):
    help = (
        "Register a partner network: an exported ClickMe artifact (--arch exported, the default), a "
        "torchvision classifier's state dict (--arch resnet50 ...) whose outputs --class-index maps to wnids, "
        "or a pretrained ImageNet network from an installed package (--pretrained efficientnet_lite0). "
        "Registering screens a sample of the active images against it and computes its game-validity report "
        "on those that pass; --activate refuses a partner that misses the game's targets (docs/SCIENCE.md "
        "section 1) unless --force."
    )

    def add_arguments(self, parser):
        parser.add_argument("--weights", help="the artifact or state-dict file")
        parser.add_argument("--pretrained", choices=PRETRAINED, help="an ImageNet network from an installed package")
        parser.add_argument("--arch", default="exported", help='"exported" or a torchvision model name')
        parser.add_argument("--name", help="partner name (default: the file name, or the pretrained name)")
        parser.add_argument("--class-index", help="imagenet_class_index.json or a text file of wnids, in output order")
        parser.add_argument("--input-size", type=int, default=224)
        parser.add_argument("--activate", action="store_true", help="make it the game's partner now")
        parser.add_argument("--force", action="store_true", help="activate even if its validity report refuses it")
        parser.add_argument("--images", type=int, help="active images its validity report plays (default 50)")

    def handle(
        self, *args, weights, pretrained, arch, name, class_index, input_size, activate, force, images, **options
    ):
        if bool(weights) == bool(pretrained):
            raise CommandError("give either --weights FILE or --pretrained NAME")
        if pretrained:
            from game import pretrained as pretrained_networks  # torch and timm, in this command only

            weights, arch, name = pretrained_networks.weights_path(pretrained), pretrained, name or pretrained
        name = name or weights.rsplit("/", 1)[-1]
        try:
            partner = partner_register(
                name=name,
                weights_path=weights,
                architecture=arch,
                class_index=class_index,
                input_size=input_size,
                activate=activate,
                force=force,
                n_images=images,
            )
            refused = None
        except ServiceError as error:  # registered, with its report, but refused at activation
            partner, refused = Partner.objects.get(name=name), str(error)
        except (PartnerLoadError, OSError, ValueError, KeyError) as error:
            raise CommandError(f"not registered: {error}") from error
        mapped = sum(1 for category_id, _ in partner.category_mapping if category_id)
        self.stdout.write(
            f"registered partner {partner.name} (id {partner.pk}, {len(partner.category_mapping)} outputs, "
            f"{mapped} mapped to categories){', active' if partner.is_active else ''}"
        )
        for label, text in validity_rows(partner.metrics.get(VALIDITY_KEY)):
            self.stdout.write(f"  {label:<40} {text}")
        if refused:
            raise CommandError(f"not activated: {refused}")
