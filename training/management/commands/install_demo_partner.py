"""python manage.py install_demo_partner [--if-none]: the shipped demo partner made the game's partner.

`make run` uses it instead of training one: the artifact `training/artifacts/demo_partner.pt2` was
trained by `train_demo_partner` with the steps and seed its manifest (`demo_partner.json`) records, so
the same partner plays on an idle and on a busy machine, and a fresh clone is served in minutes. The
file is checked against the manifest's sha256, registered, played on the active images
(game/partner_validity.py), and activated only when it meets the game's targets there
(game/partner_validity.py promotion_refusal); otherwise nothing is activated and the command says what
to do.
"""

import hashlib
import json
import shutil
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from clickme_site.private_files import private_path
from game.models import Partner
from game.partner import PartnerLoadError
from game.partner_registry import partner_register
from game.partner_validity import VALIDITY_KEY, promotion_refusal, validity_rows
from game.services import partner_activate

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
MANIFEST = ARTIFACTS / "demo_partner.json"
# Active images screened before activation, then a round of each kind played on each that passed: with
# fewer, a partner at its zero-click target (3.1% at 64 categories) is told apart from one at twice it
# only by luck. The other images are screened by a worker once it is the game's partner.
VALIDITY_IMAGES = 256


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def shipped_artifact(manifest_path: Path = MANIFEST) -> tuple[Path, dict]:
    """(the artifact's path, its manifest), or CommandError when the file is missing or altered."""
    if not manifest_path.is_file():
        raise CommandError(f"{manifest_path} is missing")
    manifest = json.loads(manifest_path.read_text())
    path = manifest_path.parent / manifest["file"]
    if not path.is_file():
        raise CommandError(f"{path} is missing (the manifest {manifest_path.name} names it)")
    if sha256_of(path) != manifest["sha256"]:
        raise CommandError(
            f"{path} does not match its manifest's sha256: it is not the shipped demo partner. Restore it "
            f"(git checkout -- {path.name} in {path.parent}) or reproduce it: {manifest['command']}"
        )
    return path, manifest


class Command(BaseCommand):
    help = "Register the shipped demo partner and make it the game's partner when it meets the game's targets."

    def add_arguments(self, parser):
        parser.add_argument("--if-none", action="store_true", help="do nothing when the game has a partner")
        parser.add_argument("--images", type=int, default=VALIDITY_IMAGES, help="active images played to check it")
        parser.add_argument(
            "--manifest", default=str(MANIFEST), help="the artifact's manifest (default: the shipped one)"
        )

    def handle(self, *args, if_none, images, manifest, **options):
        if if_none and Partner.objects.filter(is_active=True).exists():
            self.stdout.write("the game has a partner already")
            return
        source, manifest = shipped_artifact(Path(manifest))
        target = private_path("partners", f"demo_partner-{manifest['sha256'][:12]}.pt2")
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.is_file() or sha256_of(target) != manifest["sha256"]:
            shutil.copyfile(source, target)
        self.stdout.write(f"playing the shipped demo partner on up to {images} active images (about a minute)")
        try:
            partner = partner_register(
                name=f"demo_partner-{manifest['sha256'][:12]}",
                weights_path=target,
                metrics={"shipped": {key: manifest[key] for key in ("command", "seed", "steps", "sha256")}},
                n_images=images,
            )
        except PartnerLoadError as error:
            raise CommandError(
                f"the shipped demo partner cannot play the images in play ({error}): it knows the synthetic "
                "benchmark's categories only. For photographs use IMAGES=DIR make run; for other images train "
                "one: python manage.py train_demo_partner"
            ) from error
        validity = (partner.metrics or {}).get(VALIDITY_KEY)
        for label, text in validity_rows(validity):
            self.stdout.write(f"  {label:<40} {text}")
        refusal = promotion_refusal(validity)
        if refusal:
            raise CommandError(
                f"the demo partner {partner.name} is registered but NOT the game's partner: on the active images it "
                "misses the game's targets: " + refusal + "\nTrain one on these images: "
                "python manage.py train_demo_partner (it activates itself when it meets them)."
            )
        partner_activate(partner=partner)
        self.stdout.write(f"the demo partner {partner.name} is the game's partner")
